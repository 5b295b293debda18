import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ACCOUNT_JSON, POST_TRANSACTION } from './1767225600001-ledger-posting-functions';

/**
 * Shadow credits: money credited to a wallet from an ERP document (an invoice or sales order)
 * that the ERP has not confirmed yet. The money is posted and usable at once; this table only says
 * which of it is still shadow, so every reader (GetBalance, the Firestore mirror) shows confirmed
 * and shadow balance apart from one source. Reviewed SQL; never edit once committed.
 *
 * - A credit is recorded by post_transaction, in the posting's own database transaction, when
 *   the command names `shadow_document_id` (one posted transaction, exactly one wallet credited).
 * - It is settled once: confirmed by confirm_shadow_credit, or reversed by a trigger when its
 *   transaction is reversed (a rejected document; a confirmed one can still be reversed later).
 * - A confirmation moves no money, so the account's version does not change; it raises
 *   mirror_state.pending_shadow_revision instead, which the mirror worker treats like a new version.
 */
export class ShadowCredits1767225600003 implements MigrationInterface {
  name = 'ShadowCredits1767225600003';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE ledger.shadow_credits (
        transaction_id uuid PRIMARY KEY,
        tenant_id      text NOT NULL,
        account_id     uuid NOT NULL,
        document_id    text NOT NULL CHECK (length(document_id) BETWEEN 1 AND 128),
        amount         bigint NOT NULL CHECK (amount > 0),
        state          text NOT NULL DEFAULT 'shadow' CHECK (state IN ('shadow', 'confirmed', 'reversed')),
        reason         text NOT NULL DEFAULT '' CHECK (length(reason) <= 256),
        -- The posting's time, so balances as of a past time see the credit exactly when they see its money.
        created_at     timestamptz NOT NULL,
        -- When it stopped being shadow (confirmed, or reversed while still shadow).
        settled_at     timestamptz,
        FOREIGN KEY (tenant_id, transaction_id) REFERENCES ledger.transactions (tenant_id, id),
        FOREIGN KEY (tenant_id, account_id) REFERENCES ledger.accounts (tenant_id, id),
        UNIQUE (tenant_id, document_id),
        CHECK ((state = 'shadow') = (settled_at IS NULL))
      )`);
    // What every balance read sums: the open shadow credits of one account.
    await db.query(`CREATE INDEX shadow_credits_open ON ledger.shadow_credits (account_id) INCLUDE (amount)
                      WHERE state = 'shadow'`);

    // Settled once, forward only (shadow → confirmed | reversed, confirmed → reversed); never deleted.
    await db.query(`
      CREATE FUNCTION ledger.guard_shadow_credit_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'shadow credit % cannot be deleted', OLD.transaction_id USING ERRCODE = 'SL002';
        END IF;
        IF (NEW.transaction_id, NEW.tenant_id, NEW.account_id, NEW.document_id, NEW.amount, NEW.created_at)
             IS DISTINCT FROM (OLD.transaction_id, OLD.tenant_id, OLD.account_id, OLD.document_id, OLD.amount, OLD.created_at)
           OR NOT ((OLD.state = 'shadow' AND NEW.state IN ('confirmed', 'reversed'))
                   OR (OLD.state = 'confirmed' AND NEW.state = 'reversed' AND NEW.settled_at = OLD.settled_at)) THEN
          RAISE EXCEPTION 'shadow credit % may only be settled once (% -> %)', OLD.transaction_id, OLD.state, NEW.state
            USING ERRCODE = 'SL002';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER shadow_credits_guard BEFORE UPDATE OR DELETE ON ledger.shadow_credits
                      FOR EACH ROW EXECUTE FUNCTION ledger.guard_shadow_credit_change()`);
    await db.query(`CREATE TRIGGER shadow_credits_no_truncate BEFORE TRUNCATE ON ledger.shadow_credits
                      FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()`);

    // A reversed transaction's shadow credit is settled as reversed, in the reversal's transaction.
    await db.query(`
      CREATE FUNCTION ledger.settle_reversed_shadow_credit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE ledger.shadow_credits
           SET state = 'reversed', settled_at = coalesce(settled_at, clock_timestamp())
         WHERE transaction_id = NEW.id AND state <> 'reversed';
        RETURN NULL;
      END $$`);
    await db.query(`CREATE TRIGGER transactions_settle_reversed_shadow_credit AFTER UPDATE OF status ON ledger.transactions
                      FOR EACH ROW WHEN (NEW.status = 'reversed' AND OLD.status <> 'reversed')
                      EXECUTE FUNCTION ledger.settle_reversed_shadow_credit()`);

    await db.query(`
      ALTER TABLE ledger.mirror_state
        -- Raised by each confirmation (which leaves the version alone); mirrored like a version.
        ADD COLUMN pending_shadow_revision  bigint NOT NULL DEFAULT 0 CHECK (pending_shadow_revision >= 0),
        ADD COLUMN mirrored_shadow_revision bigint NOT NULL DEFAULT 0 CHECK (mirrored_shadow_revision >= 0)`);
    await db.query(`DROP INDEX ledger.mirror_state_due`);
    await db.query(`CREATE INDEX mirror_state_due ON ledger.mirror_state (next_attempt_at)
                      WHERE pending_version > mirrored_version OR pending_shadow_revision > mirrored_shadow_revision`);

    for (const sql of [
      SHADOW_CREDIT_JSON,
      RECORD_SHADOW_CREDIT,
      CONFIRM_SHADOW_CREDIT,
      ACCOUNT_JSON_WITH_SHADOW,
      POST_TRANSACTION_WITH_SHADOW,
    ]) {
      await db.query(sql);
    }
  }

  async down(db: QueryRunner): Promise<void> {
    // The previous definitions, as migration 0001 created them.
    await db.query(POST_TRANSACTION.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION'));
    await db.query(ACCOUNT_JSON.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION'));
    await db.query(`DROP FUNCTION ledger.confirm_shadow_credit(text, uuid, text)`);
    await db.query(`DROP FUNCTION ledger.record_shadow_credit(text, uuid, text, text)`);
    await db.query(`DROP FUNCTION ledger.shadow_credit_json(ledger.shadow_credits)`);
    await db.query(`DROP INDEX ledger.mirror_state_due`);
    await db.query(`CREATE INDEX mirror_state_due ON ledger.mirror_state (next_attempt_at)
                      WHERE pending_version > mirrored_version`);
    await db.query(`ALTER TABLE ledger.mirror_state DROP COLUMN mirrored_shadow_revision,
                      DROP COLUMN pending_shadow_revision`);
    await db.query(`DROP TRIGGER transactions_settle_reversed_shadow_credit ON ledger.transactions`);
    await db.query(`DROP FUNCTION ledger.settle_reversed_shadow_credit()`);
    await db.query(`DROP TABLE ledger.shadow_credits`);
    await db.query(`DROP FUNCTION ledger.guard_shadow_credit_change()`);
  }
}

const SHADOW_CREDIT_JSON = `
CREATE FUNCTION ledger.shadow_credit_json(c ledger.shadow_credits) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'transaction_id', c.transaction_id, 'tenant_id', c.tenant_id, 'account_id', c.account_id,
    'document_id', c.document_id, 'amount', c.amount::text, 'state', c.state, 'reason', c.reason,
    'created_at', c.created_at, 'settled_at', c.settled_at)
$$`;

/** Called by post_transaction after its entries: the one wallet the transaction credits gets the shadow credit. */
const RECORD_SHADOW_CREDIT = `
CREATE FUNCTION ledger.record_shadow_credit(p_tenant text, p_transaction uuid, p_document text, p_kind text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  earlier ledger.shadow_credits;
  v_count int;
  v_entry bigint;
BEGIN
  IF p_kind <> 'posted' THEN
    PERFORM ledger.fail('INVALID_ARGUMENT',
      'shadow_document_id: only a posted transaction can carry a shadow credit, not a hold', 'shadow_document_id');
  END IF;
  SELECT * INTO earlier FROM ledger.shadow_credits WHERE tenant_id = p_tenant AND document_id = p_document;
  IF FOUND THEN
    PERFORM ledger.fail('SHADOW_CREDIT_CONFLICT',
      format('shadow_document_id: document %s was already credited by transaction %s', p_document,
             earlier.transaction_id),
      'shadow_document_id', jsonb_build_object('transaction_id', earlier.transaction_id));
  END IF;
  SELECT count(*), min(e.id) INTO v_count, v_entry
    FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
   WHERE e.transaction_id = p_transaction AND e.side = 'credit' AND a.type = 'wallet';
  IF v_count <> 1 THEN
    PERFORM ledger.fail('INVALID_ARGUMENT',
      format('shadow_document_id: a shadow credit must credit exactly one wallet; this transaction credits %s',
             v_count), 'shadow_document_id');
  END IF;
  INSERT INTO ledger.shadow_credits (transaction_id, tenant_id, account_id, document_id, amount, created_at)
  SELECT p_transaction, p_tenant, e.account_id, p_document, e.amount, e.created_at
    FROM ledger.entries e WHERE e.id = v_entry;
END $$`;

/**
 * Confirms a shadow credit: it stops being shadow. Idempotent (a confirmed credit is returned as it
 * is, with replayed = true); a reversed one cannot be confirmed. Locks the transaction row first,
 * the same order reverse_transaction takes, so a confirmation and a reversal of one credit queue
 * instead of deadlocking.
 */
const CONFIRM_SHADOW_CREDIT = `
CREATE FUNCTION ledger.confirm_shadow_credit(p_tenant text, p_transaction uuid, p_reason text)
RETURNS jsonb LANGUAGE plpgsql
SET lock_timeout = '5s' AS $$
DECLARE c ledger.shadow_credits;
BEGIN
  PERFORM 1 FROM ledger.transactions WHERE tenant_id = p_tenant AND id = p_transaction FOR UPDATE;
  UPDATE ledger.shadow_credits SET state = 'confirmed', settled_at = clock_timestamp(), reason = p_reason
   WHERE tenant_id = p_tenant AND transaction_id = p_transaction AND state = 'shadow'
  RETURNING * INTO c;
  IF FOUND THEN
    UPDATE ledger.mirror_state
       SET pending_shadow_revision = pending_shadow_revision + 1,
           pending_since = coalesce(pending_since, clock_timestamp())
     WHERE account_id = c.account_id;
    RETURN ledger.shadow_credit_json(c) || '{"replayed": false}';
  END IF;
  SELECT * INTO c FROM ledger.shadow_credits WHERE tenant_id = p_tenant AND transaction_id = p_transaction;
  IF NOT FOUND THEN
    PERFORM ledger.fail('TRANSACTION_NOT_FOUND',
      format('transaction_id: transaction %s carries no shadow credit', p_transaction), 'transaction_id');
  END IF;
  IF c.state = 'reversed' THEN
    PERFORM ledger.fail('SHADOW_CREDIT_CONFLICT',
      format('transaction %s was reversed; its shadow credit can no longer be confirmed', p_transaction),
      'transaction_id');
  END IF;
  RETURN ledger.shadow_credit_json(c) || '{"replayed": true}';
END $$`;

/**
 * A function of migration 0001 with one addition, so the change is exactly what this migration
 * shows: the definition becomes CREATE OR REPLACE and `addition` follows `anchor` (which must occur
 * once; 0001 never changes, so a mismatch is a mistake here, caught by the first migrate).
 */
function amended(definition: string, anchor: string, addition: string): string {
  const at = definition.indexOf(anchor);
  if (at < 0 || definition.indexOf(anchor, at + 1) >= 0)
    throw new Error(`migration 0003: "${anchor.trim()}" must occur once in the function it amends`);
  const end = at + anchor.length;
  return `${definition.slice(0, end)}${addition}${definition.slice(end)}`.replace(
    'CREATE FUNCTION',
    'CREATE OR REPLACE FUNCTION',
  );
}

/** account_json plus 'shadow_credits': the sum of the account's open shadow credits. */
const ACCOUNT_JSON_WITH_SHADOW = amended(
  ACCOUNT_JSON,
  `'version', a.version::text`,
  `,
    'shadow_credits', (SELECT coalesce(sum(c.amount), 0)::text FROM ledger.shadow_credits c
                        WHERE c.account_id = a.id AND c.state = 'shadow')`,
);

/** post_transaction plus the shadow credit, right after the entries, when the command names one. */
const POST_TRANSACTION_WITH_SHADOW = amended(
  POST_TRANSACTION,
  `v_appended := ledger.apply_entries(v_tenant, v_tx, v_entries, v_asset);`,
  `
  IF coalesce(p->>'shadow_document_id', '') <> '' THEN
    PERFORM ledger.record_shadow_credit(v_tenant, v_tx, p->>'shadow_document_id', v_kind);
  END IF;`,
);
