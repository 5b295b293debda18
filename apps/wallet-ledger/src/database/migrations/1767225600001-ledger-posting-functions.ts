import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ledger's write paths as SQL functions: each write is one round trip and one database
 * transaction that claims the idempotency key, locks the accounts in a fixed order (by id), checks
 * limits, updates balances, appends entries and the outbox row, and returns the result as JSON.
 * post_batch runs many such writes in one transaction (group commit; see PostingBatcher).
 * Functions are plpgsql so their statements keep cached plans (a SQL-language function that is not
 * inlined is planned on every call), and each posting runs as few statements as it can: executor
 * start-up and trigger calls per statement are where the time goes, not any one query.
 * The service validates input before calling them; these functions re-check everything that
 * depends on stored state. int8 values leave as text so no JSON number ever rounds an amount.
 */
export class LedgerPostingFunctions1767225600001 implements MigrationInterface {
  name = 'LedgerPostingFunctions1767225600001';

  async up(db: QueryRunner): Promise<void> {
    for (const sql of [
      CLAIM_KEY,
      REPLAYED_RESULT,
      ACCOUNT_JSON,
      ENTRY_JSON,
      TRANSACTION_JSON,
      APPLY_ENTRIES,
      DEFINE_ASSET,
      OPEN_ACCOUNT,
      POST_TRANSACTION,
      RESOLVE_PENDING,
      REVERSE_TRANSACTION,
      POST_BATCH,
    ]) {
      await db.query(sql);
    }
  }

  async down(db: QueryRunner): Promise<void> {
    for (const fn of [
      'post_batch(jsonb)',
      'reverse_transaction(jsonb)',
      'resolve_pending(jsonb)',
      'post_transaction(jsonb)',
      'open_account(jsonb)',
      'define_asset(text, text, smallint)',
      'apply_entries(text, uuid, jsonb, text)',
      'transaction_json(uuid, jsonb)',
      'entry_json(ledger.entries, text)',
      'account_json(uuid)',
      'replayed_result(text, text, text, text)',
      'claim_key(text, text, text, text, uuid)',
    ]) {
      await db.query(`DROP FUNCTION ledger.${fn}`);
    }
  }
}

/** Claims (tenant, key) for this request; false when it was claimed before (or concurrently, then committed). */
const CLAIM_KEY = `
CREATE FUNCTION ledger.claim_key(p_tenant text, p_key text, p_operation text, p_hash text, p_result uuid)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger.idempotency_keys (tenant_id, key, operation, request_hash, result_id)
  VALUES (p_tenant, p_key, p_operation, p_hash, p_result)
  ON CONFLICT (tenant_id, key) DO NOTHING;
  RETURN FOUND;
END $$`;

/** The stored result id of a claimed key, or IDEMPOTENCY_CONFLICT when the request differs. */
const REPLAYED_RESULT = `
CREATE FUNCTION ledger.replayed_result(p_tenant text, p_key text, p_operation text, p_hash text)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE k ledger.idempotency_keys;
BEGIN
  SELECT * INTO k FROM ledger.idempotency_keys WHERE tenant_id = p_tenant AND key = p_key;
  IF k.operation <> p_operation OR k.request_hash <> p_hash THEN
    PERFORM ledger.fail('IDEMPOTENCY_CONFLICT',
      format('idempotency_key: "%s" was already used for a different request (%s); use a new key for a new request',
             p_key, k.operation), 'idempotency_key');
  END IF;
  RETURN k.result_id;
END $$`;

export const ACCOUNT_JSON = `
CREATE FUNCTION ledger.account_json(p_account uuid) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE result jsonb;
BEGIN
  SELECT jsonb_build_object(
    'account_id', a.id, 'tenant_id', a.tenant_id, 'asset_code', a.asset_code, 'asset_scale', s.scale,
    'type', a.type, 'normal_side', a.normal_side, 'overdraft_limit', a.overdraft_limit::text,
    'external_ref', coalesce(a.external_ref, ''), 'metadata', a.metadata, 'created_at', a.created_at,
    'debits_posted', a.debits_posted::text, 'credits_posted', a.credits_posted::text,
    'debits_pending', a.debits_pending::text, 'credits_pending', a.credits_pending::text,
    'version', a.version::text)
  INTO result
  FROM ledger.accounts a JOIN ledger.assets s ON s.tenant_id = a.tenant_id AND s.code = a.asset_code
  WHERE a.id = p_account;
  RETURN result;
END $$`;

/** One entry as JSON, with the account's running totals after it: the single definition of its shape. */
const ENTRY_JSON = `
CREATE FUNCTION ledger.entry_json(e ledger.entries, p_normal_side text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'entry_id', e.id::text, 'transaction_id', e.transaction_id, 'account_id', e.account_id,
    'asset_code', e.asset_code, 'side', e.side, 'phase', e.phase, 'amount', e.amount::text,
    'normal_side', p_normal_side, 'account_version', e.account_version::text,
    'debits_posted', e.debits_posted::text, 'credits_posted', e.credits_posted::text,
    'debits_pending', e.debits_pending::text, 'credits_pending', e.credits_pending::text,
    'created_at', e.created_at)
$$`;

/**
 * A transaction as JSON. A write passes the entries it has just appended (apply_entries returns
 * them) so they are not read back; replays and reads leave p_entries out.
 */
const TRANSACTION_JSON = `
CREATE FUNCTION ledger.transaction_json(p_transaction uuid, p_entries jsonb DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE result jsonb;
BEGIN
  SELECT jsonb_build_object(
    'transaction_id', t.id, 'tenant_id', t.tenant_id, 'kind', t.kind, 'status', t.status, 'action', t.action,
    'idempotency_key', t.idempotency_key, 'asset_code', coalesce(t.asset_code, ''),
    'pending_transaction_id', t.pending_id, 'resolved_by_transaction_id', t.resolved_by,
    'reverses_transaction_id', t.reverses_id, 'reversed_by_transaction_id', t.reversed_by,
    'expires_at', t.expires_at, 'created_at', t.created_at, 'references', t.refs, 'metadata', t.metadata,
    'entries', coalesce(p_entries, (
      SELECT coalesce(jsonb_agg(ledger.entry_json(e, a.normal_side) ORDER BY e.id), '[]'::jsonb)
      FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
      WHERE e.transaction_id = t.id)))
  INTO result
  FROM ledger.transactions t WHERE t.id = p_transaction;
  RETURN result;
END $$`;

/**
 * Applies entries [{account_id, side, phase, amount}] of transaction p_transaction: locks the
 * accounts by id (the fixed order that rules out deadlocks), checks tenant, asset and balance per
 * asset and phase, enforces wallet limits, moves each account's totals and version once, and
 * appends the entries with their running totals; returns them as JSON (see transaction_json).
 */
const APPLY_ENTRIES = `
CREATE FUNCTION ledger.apply_entries(p_tenant text, p_transaction uuid, p_entries jsonb, p_asset text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  acc record;
  ids uuid[] := '{}'; assets text[] := '{}';
  dp bigint[] := '{}'; cp bigint[] := '{}'; dq bigint[] := '{}'; cq bigint[] := '{}'; versions bigint[] := '{}';
  enforced boolean[] := '{}'; credit_normal boolean[] := '{}'; overdraft bigint[] := '{}';
  e record;
  i int;
  unbalanced text;
  e_account uuid[] := '{}'; e_asset text[] := '{}'; e_side text[] := '{}'; e_phase text[] := '{}';
  e_amount bigint[] := '{}'; e_version bigint[] := '{}';
  e_dp bigint[] := '{}'; e_cp bigint[] := '{}'; e_dq bigint[] := '{}'; e_cq bigint[] := '{}';
  available bigint;
  v_appended jsonb;
BEGIN
  FOR acc IN
    SELECT a.id, a.asset_code, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, a.version,
           a.limit_enforced, a.normal_side, a.overdraft_limit
    FROM ledger.accounts a
    WHERE a.tenant_id = p_tenant AND a.id IN (SELECT (x->>'account_id')::uuid FROM jsonb_array_elements(p_entries) x)
    ORDER BY a.id FOR UPDATE
  LOOP
    IF p_asset IS NOT NULL AND acc.asset_code <> p_asset THEN
      PERFORM ledger.fail('ASSET_MISMATCH',
        format('account %s holds %s, but this transaction is in %s', acc.id, acc.asset_code, p_asset), 'legs');
    END IF;
    ids := ids || acc.id; assets := assets || acc.asset_code;
    dp := dp || acc.debits_posted; cp := cp || acc.credits_posted;
    dq := dq || acc.debits_pending; cq := cq || acc.credits_pending;
    versions := versions || (acc.version + 1);
    enforced := enforced || acc.limit_enforced; credit_normal := credit_normal || (acc.normal_side = 'credit');
    overdraft := overdraft || acc.overdraft_limit;
  END LOOP;

  -- Running totals per entry, in the order given.
  FOR e IN SELECT (x->>'account_id')::uuid AS account_id, x->>'side' AS side, x->>'phase' AS phase,
                  (x->>'amount')::bigint AS amount
           FROM jsonb_array_elements(p_entries) WITH ORDINALITY AS t(x, n) ORDER BY n
  LOOP
    i := array_position(ids, e.account_id);
    IF i IS NULL THEN
      PERFORM ledger.fail('ACCOUNT_NOT_FOUND', format('account %s does not exist', e.account_id), 'legs',
                          jsonb_build_object('account_id', e.account_id));
    END IF;
    IF e.phase = 'posted' THEN
      IF e.side = 'debit' THEN dp[i] := dp[i] + e.amount; ELSE cp[i] := cp[i] + e.amount; END IF;
    ELSIF e.phase = 'pending' THEN
      IF e.side = 'debit' THEN dq[i] := dq[i] + e.amount; ELSE cq[i] := cq[i] + e.amount; END IF;
    ELSE
      IF e.side = 'debit' THEN dq[i] := dq[i] - e.amount; ELSE cq[i] := cq[i] - e.amount; END IF;
    END IF;
    e_account := e_account || e.account_id; e_asset := e_asset || assets[i]; e_side := e_side || e.side;
    e_phase := e_phase || e.phase; e_amount := e_amount || e.amount; e_version := e_version || versions[i];
    e_dp := e_dp || dp[i]; e_cp := e_cp || cp[i]; e_dq := e_dq || dq[i]; e_cq := e_cq || cq[i];
  END LOOP;

  SELECT format('%s (%s)', u.asset, u.phase) INTO unbalanced
  FROM unnest(e_asset, e_phase, e_side, e_amount) AS u(asset, phase, side, amount)
  GROUP BY u.asset, u.phase HAVING sum(CASE u.side WHEN 'debit' THEN u.amount ELSE -u.amount END) <> 0 LIMIT 1;
  IF unbalanced IS NOT NULL THEN
    PERFORM ledger.fail('UNBALANCED_TRANSACTION', format('legs: debits must equal credits in %s', unbalanced), 'legs');
  END IF;

  -- Refuse before writing, with a readable error; the accounts_within_limit CHECK backs this up.
  FOR i IN 1 .. cardinality(ids) LOOP
    IF enforced[i] THEN
      available := CASE WHEN credit_normal[i] THEN cp[i] - dp[i] - dq[i] ELSE dp[i] - cp[i] - cq[i] END;
      IF available < -overdraft[i] THEN
        PERFORM ledger.fail('INSUFFICIENT_FUNDS',
          format('insufficient funds: account %s would be %s short (overdraft limit %s)', ids[i],
                 -overdraft[i] - available, overdraft[i]),
          'amount', jsonb_build_object('account_id', ids[i], 'shortfall', (-overdraft[i] - available)::text));
      END IF;
    END IF;
  END LOOP;
  UPDATE ledger.accounts a
     SET debits_posted = u.dp, credits_posted = u.cp, debits_pending = u.dq, credits_pending = u.cq, version = u.v
    FROM unnest(ids, dp, cp, dq, cq, versions) AS u(id, dp, cp, dq, cq, v)
   WHERE a.id = u.id;

  WITH appended AS (
    INSERT INTO ledger.entries (tenant_id, transaction_id, account_id, asset_code, side, phase, amount, account_version,
                                debits_posted, credits_posted, debits_pending, credits_pending)
    SELECT p_tenant, p_transaction, u.account_id, u.asset_code, u.side, u.phase, u.amount, u.version,
           u.dp, u.cp, u.dq, u.cq
      FROM unnest(e_account, e_asset, e_side, e_phase, e_amount, e_version, e_dp, e_cp, e_dq, e_cq)
           WITH ORDINALITY AS u(account_id, asset_code, side, phase, amount, version, dp, cp, dq, cq, n)
     ORDER BY u.n
    RETURNING entries)
  SELECT jsonb_agg(ledger.entry_json(a.entries, CASE WHEN k.credit THEN 'credit' ELSE 'debit' END)
                   ORDER BY (a.entries).id)
    INTO v_appended
    FROM appended a JOIN unnest(ids, credit_normal) AS k(id, credit) ON k.id = (a.entries).account_id;
  RETURN v_appended;
END $$`;

/** Declares an asset and its system accounts; idempotent on (tenant, code). */
const DEFINE_ASSET = `
CREATE FUNCTION ledger.define_asset(p_tenant text, p_code text, p_scale smallint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE s ledger.assets;
BEGIN
  INSERT INTO ledger.assets (tenant_id, code, scale) VALUES (p_tenant, p_code, p_scale)
  ON CONFLICT (tenant_id, code) DO NOTHING;
  SELECT * INTO s FROM ledger.assets WHERE tenant_id = p_tenant AND code = p_code;
  IF s.scale <> p_scale THEN
    PERFORM ledger.fail('ASSET_CONFLICT',
      format('asset %s already exists with scale %s; its scale cannot change', p_code, s.scale), 'scale');
  END IF;
  INSERT INTO ledger.accounts (id, tenant_id, asset_code, type)
  SELECT gen_random_uuid(), p_tenant, p_code, t
  FROM unnest(ARRAY['cash_clearing', 'revenue', 'cost_of_revenue', 'payables', 'promotions', 'opening_balances']) t
  ON CONFLICT (tenant_id, asset_code, type) WHERE type <> 'wallet' DO NOTHING;
  RETURN jsonb_build_object('tenant_id', s.tenant_id, 'code', s.code, 'scale', s.scale, 'created_at', s.created_at);
END $$`;

const OPEN_ACCOUNT = `
CREATE FUNCTION ledger.open_account(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_tenant text := p->>'tenant_id';
  v_id uuid := gen_random_uuid();
BEGIN
  IF NOT ledger.claim_key(v_tenant, p->>'idempotency_key', 'open_account', p->>'request_hash', v_id) THEN
    RETURN ledger.account_json(ledger.replayed_result(v_tenant, p->>'idempotency_key', 'open_account',
                                                      p->>'request_hash')) || '{"replayed": true}';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM ledger.assets WHERE tenant_id = v_tenant AND code = p->>'asset_code') THEN
    PERFORM ledger.fail('ASSET_NOT_FOUND', format('asset_code: %s is not defined for this tenant', p->>'asset_code'),
                        'asset_code');
  END IF;
  INSERT INTO ledger.accounts (id, tenant_id, asset_code, type, overdraft_limit, external_ref, metadata)
  VALUES (v_id, v_tenant, p->>'asset_code', 'wallet', (p->>'overdraft_limit')::bigint, nullif(p->>'external_ref', ''),
          coalesce(p->'metadata', '{}'));
  INSERT INTO ledger.outbox (tenant_id, event_type, account_id) VALUES (v_tenant, 'account.opened', v_id);
  RETURN ledger.account_json(v_id);
END $$`;

/**
 * Posts (or holds, when p.pending) a transaction. Legs name an account by id or a system account
 * by type; system accounts resolve within the tenant and p.asset_code.
 */
export const POST_TRANSACTION = `
CREATE FUNCTION ledger.post_transaction(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_appended jsonb;
  v_tenant text := p->>'tenant_id';
  v_asset text := nullif(p->>'asset_code', '');
  v_tx uuid := gen_random_uuid();
  v_kind text := CASE WHEN (p->>'pending')::boolean THEN 'pending' ELSE 'posted' END;
  v_timeout int := coalesce((p->>'timeout_seconds')::int, 0);
  v_entries jsonb;
  v_missing text;
BEGIN
  INSERT INTO ledger.idempotency_keys (tenant_id, key, operation, request_hash, result_id)
  VALUES (v_tenant, p->>'idempotency_key', 'post_transaction', p->>'request_hash', v_tx)
  ON CONFLICT (tenant_id, key) DO NOTHING;
  IF NOT FOUND THEN
    RETURN ledger.transaction_json(ledger.replayed_result(v_tenant, p->>'idempotency_key', 'post_transaction',
                                                          p->>'request_hash')) || '{"replayed": true}';
  END IF;

  SELECT jsonb_agg(jsonb_build_object('account_id', coalesce(l->>'account_id', s.id::text), 'side', l->>'side',
                                      'phase', CASE v_kind WHEN 'pending' THEN 'pending' ELSE 'posted' END,
                                      'amount', l->>'amount') ORDER BY n),
         min(l->>'system_account') FILTER (WHERE l ? 'system_account' AND s.id IS NULL)
    INTO v_entries, v_missing
  FROM jsonb_array_elements(p->'legs') WITH ORDINALITY AS t(l, n)
  LEFT JOIN ledger.accounts s ON l ? 'system_account' AND s.tenant_id = v_tenant AND s.asset_code = v_asset
                             AND s.type = l->>'system_account'
                             AND s.type <> 'wallet'; -- lets the planner use accounts_one_system_account_per_asset
  IF v_missing IS NOT NULL THEN
    PERFORM ledger.fail('ASSET_NOT_FOUND', format('asset_code: %s is not defined for this tenant', v_asset), 'asset_code');
  END IF;

  INSERT INTO ledger.transactions (id, tenant_id, kind, status, action, idempotency_key, asset_code, expires_at, refs, metadata)
  VALUES (v_tx, v_tenant, v_kind, v_kind, coalesce(p->>'action', ''), p->>'idempotency_key', v_asset,
          CASE WHEN v_kind = 'pending' AND v_timeout > 0 THEN clock_timestamp() + make_interval(secs => v_timeout) END,
          coalesce(p->'references', '{}'), coalesce(p->'metadata', '{}'));
  v_appended := ledger.apply_entries(v_tenant, v_tx, v_entries, v_asset);
  INSERT INTO ledger.outbox (tenant_id, event_type, transaction_id)
  VALUES (v_tenant, CASE v_kind WHEN 'pending' THEN 'transaction.pending' ELSE 'transaction.posted' END, v_tx);
  RETURN ledger.transaction_json(v_tx, v_appended);
END $$`;

/**
 * Posts (p.operation = 'post_pending', optional p.amount) or voids ('void_pending') a hold, once.
 * Both release everything the hold's entries held; a post then moves the posted amount.
 * A void is allowed after expiry (that is how the sweeper releases expired holds); a post is not.
 */
const RESOLVE_PENDING = `
CREATE FUNCTION ledger.resolve_pending(p jsonb) RETURNS jsonb LANGUAGE plpgsql
SET lock_timeout = '5s' AS $$
DECLARE
  v_appended jsonb;
  v_tenant text := p->>'tenant_id';
  v_operation text := p->>'operation';
  v_tx uuid := gen_random_uuid();
  v_hold ledger.transactions;
  v_amount bigint := nullif(p->>'amount', '')::bigint;
  v_held bigint;
  v_count int;
  v_entries jsonb;
BEGIN
  IF NOT ledger.claim_key(v_tenant, p->>'idempotency_key', v_operation, p->>'request_hash', v_tx) THEN
    RETURN ledger.transaction_json(ledger.replayed_result(v_tenant, p->>'idempotency_key', v_operation,
                                                          p->>'request_hash')) || '{"replayed": true}';
  END IF;

  SELECT * INTO v_hold FROM ledger.transactions
   WHERE tenant_id = v_tenant AND id = (p->>'pending_transaction_id')::uuid FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM ledger.fail('TRANSACTION_NOT_FOUND',
      format('pending_transaction_id: transaction %s does not exist', p->>'pending_transaction_id'), 'pending_transaction_id');
  END IF;
  IF v_hold.kind <> 'pending' THEN
    PERFORM ledger.fail('HOLD_NOT_PENDING', format('transaction %s is not a hold (it is %s)', v_hold.id, v_hold.kind),
                        'pending_transaction_id');
  END IF;
  IF v_hold.status <> 'pending' THEN
    PERFORM ledger.fail('HOLD_NOT_PENDING',
      format('hold %s was already %s by transaction %s', v_hold.id, v_hold.status, v_hold.resolved_by),
      'pending_transaction_id', jsonb_build_object('status', v_hold.status, 'resolved_by', v_hold.resolved_by));
  END IF;
  IF v_operation = 'post_pending' AND v_hold.expires_at IS NOT NULL AND v_hold.expires_at <= clock_timestamp() THEN
    PERFORM ledger.fail('HOLD_EXPIRED', format('hold %s expired at %s and can no longer be posted', v_hold.id,
                                               v_hold.expires_at), 'pending_transaction_id');
  END IF;

  SELECT count(*), max(amount) INTO v_count, v_held FROM ledger.entries WHERE transaction_id = v_hold.id;
  IF v_amount IS NOT NULL AND v_count <> 2 THEN
    PERFORM ledger.fail('INVALID_ARGUMENT', 'amount: a partial amount can only post a hold with two legs', 'amount');
  END IF;
  IF v_amount > v_held THEN
    PERFORM ledger.fail('AMOUNT_EXCEEDS_HOLD', format('amount: %s is more than the %s the hold holds', v_amount, v_held),
                        'amount', jsonb_build_object('held', v_held::text));
  END IF;

  -- Release every held entry; for a post, then move the (possibly partial) amount as posted.
  SELECT jsonb_agg(x ORDER BY ord, id) INTO v_entries FROM (
    SELECT 1 AS ord, e.id, jsonb_build_object('account_id', e.account_id, 'side', e.side, 'phase', 'release',
                                              'amount', e.amount) AS x
      FROM ledger.entries e WHERE e.transaction_id = v_hold.id
    UNION ALL
    SELECT 2, e.id, jsonb_build_object('account_id', e.account_id, 'side', e.side, 'phase', 'posted',
                                       'amount', coalesce(v_amount, e.amount))
      FROM ledger.entries e WHERE e.transaction_id = v_hold.id AND v_operation = 'post_pending') parts;

  INSERT INTO ledger.transactions (id, tenant_id, kind, status, action, idempotency_key, asset_code, pending_id, refs, metadata)
  VALUES (v_tx, v_tenant, v_operation, 'posted', v_hold.action, p->>'idempotency_key', v_hold.asset_code, v_hold.id,
          v_hold.refs, coalesce(p->'metadata', '{}'));
  v_appended := ledger.apply_entries(v_tenant, v_tx, v_entries, NULL);
  UPDATE ledger.transactions SET status = CASE v_operation WHEN 'post_pending' THEN 'posted' ELSE 'voided' END,
                                 resolved_by = v_tx
   WHERE id = v_hold.id;
  INSERT INTO ledger.outbox (tenant_id, event_type, transaction_id)
  VALUES (v_tenant, CASE v_operation WHEN 'post_pending' THEN 'transaction.posted_from_pending'
                                     ELSE 'transaction.voided' END, v_tx);
  RETURN ledger.transaction_json(v_tx, v_appended);
END $$`;

/** Reverses a posted transaction with a new one that mirrors its posted entries; once. */
const REVERSE_TRANSACTION = `
CREATE FUNCTION ledger.reverse_transaction(p jsonb) RETURNS jsonb LANGUAGE plpgsql
SET lock_timeout = '5s' AS $$
DECLARE
  v_appended jsonb;
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
  v_appended := ledger.apply_entries(v_tenant, v_tx, v_entries, NULL);
  UPDATE ledger.transactions SET status = 'reversed', reversed_by = v_tx WHERE id = v_original.id;
  INSERT INTO ledger.outbox (tenant_id, event_type, transaction_id) VALUES (v_tenant, 'transaction.reversed', v_tx);
  RETURN ledger.transaction_json(v_tx, v_appended);
END $$`;

/**
 * Posts many commands in one database transaction (group commit), each in its own
 * subtransaction, so one refused command never affects the others. Locks are taken up front in
 * one fixed order — the holds named by the commands, then every account they touch, each by id —
 * so batches running side by side can queue on each other but cannot deadlock.
 * Commands: {op: post_transaction | resolve_pending | reverse_transaction, tenant_id, ...} as the
 * single-command functions take them. Result: one {ok: <transaction>} or {error: {code, message,
 * detail, hint}} per command, in order.
 */
const POST_BATCH = `
CREATE FUNCTION ledger.post_batch(p jsonb) RETURNS jsonb LANGUAGE plpgsql
SET lock_timeout = '5s' AS $$
DECLARE
  cmd jsonb;
  result jsonb;
  results jsonb[] := '{}';
  v_state text; v_message text; v_detail text; v_hint text;
BEGIN
  -- One command locks in its own order (key, hold, accounts by id); only batches need the up-front locks.
  IF jsonb_array_length(p) > 1 THEN
  PERFORM 1 FROM ledger.transactions t
   WHERE (t.tenant_id, t.id) IN (
     SELECT c->>'tenant_id', (coalesce(c->>'pending_transaction_id', c->>'transaction_id'))::uuid
       FROM jsonb_array_elements(p) c WHERE c->>'op' IN ('resolve_pending', 'reverse_transaction'))
   ORDER BY t.id FOR UPDATE;

  PERFORM 1 FROM ledger.accounts a
   WHERE (a.tenant_id, a.id) IN (
     SELECT c->>'tenant_id', (l->>'account_id')::uuid
       FROM jsonb_array_elements(p) c, jsonb_array_elements(c->'legs') l
      WHERE c->>'op' = 'post_transaction' AND l ? 'account_id'
     UNION
     SELECT s.tenant_id, s.id
       FROM jsonb_array_elements(p) c, jsonb_array_elements(c->'legs') l, ledger.accounts s
      WHERE c->>'op' = 'post_transaction' AND l ? 'system_account' AND s.tenant_id = c->>'tenant_id'
        AND s.asset_code = c->>'asset_code' AND s.type = l->>'system_account'
     UNION
     SELECT e.tenant_id, e.account_id
       FROM jsonb_array_elements(p) c, ledger.entries e
      WHERE c->>'op' IN ('resolve_pending', 'reverse_transaction') AND e.tenant_id = c->>'tenant_id'
        AND e.transaction_id = (coalesce(c->>'pending_transaction_id', c->>'transaction_id'))::uuid)
   ORDER BY a.id FOR UPDATE;
  END IF;

  FOR cmd IN SELECT value FROM jsonb_array_elements(p) LOOP
    BEGIN
      result := CASE cmd->>'op'
        WHEN 'post_transaction' THEN ledger.post_transaction(cmd)
        WHEN 'resolve_pending' THEN ledger.resolve_pending(cmd)
        WHEN 'reverse_transaction' THEN ledger.reverse_transaction(cmd)
      END;
      IF result IS NULL THEN
        RAISE EXCEPTION 'unknown batch operation %', cmd->>'op' USING ERRCODE = 'SL004';
      END IF;
      results := results || jsonb_build_object('ok', result);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                              v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
      results := results || jsonb_build_object('error', jsonb_build_object(
        'code', v_state, 'message', v_message, 'detail', nullif(v_detail, ''), 'hint', nullif(v_hint, '')));
    END;
  END LOOP;
  RETURN to_jsonb(results);
END $$`;
