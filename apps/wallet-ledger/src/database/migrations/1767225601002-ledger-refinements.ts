import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * - reverse_transaction explains each refusal precisely: a captured hold points to its capture
 *   (the transaction to reverse), a voided hold has nothing to reverse, an open hold is voided.
 * - The balance check at commit runs one query instead of two per entry.
 */
export class LedgerRefinements1767225601002 implements MigrationInterface {
  name = 'LedgerRefinements1767225601002';

  async up(db: QueryRunner): Promise<void> {
    await db.query(REVERSE_TRANSACTION);
    await db.query(CHECK_TRANSACTION_BALANCED);
  }

  async down(): Promise<void> {
    // Same behaviour as before, apart from messages; nothing to undo.
  }
}

const REVERSE_TRANSACTION = `
CREATE OR REPLACE FUNCTION ledger.reverse_transaction(p jsonb) RETURNS jsonb LANGUAGE plpgsql
SET lock_timeout = '5s' AS $$
DECLARE
  v_tenant text := p->>'tenant_id';
  v_tx uuid := gen_random_uuid();
  v_original ledger.transactions;
  v_entries jsonb;
BEGIN
  IF NOT ledger.claim_key(v_tenant, p->>'idempotency_key', 'reverse_transaction', p->>'request_hash', v_tx) THEN
    RETURN ledger.transaction_json(ledger.replayed_result(v_tenant, p->>'idempotency_key', 'reverse_transaction',
                                                          p->>'request_hash')) || '{"replayed": true}';
  END IF;

  SELECT * INTO v_original FROM ledger.transactions
   WHERE tenant_id = v_tenant AND id = (p->>'transaction_id')::uuid FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM ledger.fail('TRANSACTION_NOT_FOUND', format('transaction_id: transaction %s does not exist',
                                                        p->>'transaction_id'), 'transaction_id');
  END IF;
  IF v_original.kind = 'pending' AND v_original.status = 'posted' THEN
    PERFORM ledger.fail('NOT_REVERSIBLE', format('hold %s was captured by transaction %s: reverse that capture instead',
                                                 v_original.id, v_original.resolved_by), 'transaction_id',
                        jsonb_build_object('capture', v_original.resolved_by));
  END IF;
  IF v_original.kind = 'pending' AND v_original.status = 'voided' THEN
    PERFORM ledger.fail('NOT_REVERSIBLE', format('hold %s was already voided: nothing to reverse', v_original.id),
                        'transaction_id');
  END IF;
  IF v_original.kind = 'pending' THEN
    PERFORM ledger.fail('NOT_REVERSIBLE', format('transaction %s is a hold: void it instead', v_original.id),
                        'transaction_id');
  END IF;
  IF v_original.kind = 'void_pending' THEN
    PERFORM ledger.fail('NOT_REVERSIBLE', format('transaction %s released a hold; a release cannot be reversed',
                                                 v_original.id), 'transaction_id');
  END IF;
  IF v_original.kind = 'reversal' THEN
    PERFORM ledger.fail('NOT_REVERSIBLE', format('transaction %s is itself a reversal', v_original.id), 'transaction_id');
  END IF;
  IF v_original.status = 'reversed' THEN
    PERFORM ledger.fail('NOT_REVERSIBLE', format('transaction %s was already reversed by %s', v_original.id,
                                                 v_original.reversed_by), 'transaction_id',
                        jsonb_build_object('reversed_by', v_original.reversed_by));
  END IF;

  SELECT jsonb_agg(jsonb_build_object('account_id', e.account_id,
                                      'side', CASE e.side WHEN 'debit' THEN 'credit' ELSE 'debit' END,
                                      'phase', 'posted', 'amount', e.amount) ORDER BY e.id)
    INTO v_entries
  FROM ledger.entries e WHERE e.transaction_id = v_original.id AND e.phase = 'posted';

  INSERT INTO ledger.transactions (id, tenant_id, kind, status, action, idempotency_key, asset_code, reverses_id, refs, metadata)
  VALUES (v_tx, v_tenant, 'reversal', 'posted', v_original.action, p->>'idempotency_key', v_original.asset_code,
          v_original.id, v_original.refs, coalesce(p->'metadata', '{}'));
  PERFORM ledger.apply_entries(v_tenant, v_tx, v_entries, NULL);
  UPDATE ledger.transactions SET status = 'reversed', reversed_by = v_tx WHERE id = v_original.id;
  INSERT INTO ledger.outbox (tenant_id, event_type, transaction_id) VALUES (v_tenant, 'transaction.reversed', v_tx);
  RETURN ledger.transaction_json(v_tx);
END $$`;

const CHECK_TRANSACTION_BALANCED = `
CREATE OR REPLACE FUNCTION ledger.check_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_entries bigint;
  v_unbalanced boolean;
BEGIN
  SELECT coalesce(sum(n), 0), coalesce(bool_or(net <> 0), false) INTO v_entries, v_unbalanced
    FROM (SELECT count(*) AS n, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) AS net
            FROM ledger.entries WHERE transaction_id = NEW.transaction_id
           GROUP BY asset_code, phase) g;
  IF v_entries < 2 OR v_unbalanced THEN
    RAISE EXCEPTION 'transaction % is not balanced per asset', NEW.transaction_id USING ERRCODE = 'SL003';
  END IF;
  RETURN NULL;
END $$`;
