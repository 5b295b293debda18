import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ledger's tables and the constraints that guard them. Reviewed SQL; never edit once
 * committed: add a new migration instead.
 *
 * Guards (the database refuses an invalid state whatever the code does):
 * - amounts positive, running totals never negative, a wallet never below −overdraft_limit;
 * - entries append-only (no UPDATE, DELETE or TRUNCATE);
 * - each transaction balanced per asset and phase, checked at commit;
 * - each entry continues its account's chain of running totals, and each account's totals equal its
 *   newest entry's at commit: balances are always the sum of the entries;
 * - a hold is resolved (posted or voided) once and a transaction reversed once (unique indexes);
 * - transactions change only along pending→posted|voided and posted→reversed.
 */
export class LedgerSchema1767225600000 implements MigrationInterface {
  name = 'LedgerSchema1767225600000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE SCHEMA IF NOT EXISTS ledger`);

    await db.query(`
      CREATE TABLE ledger.assets (
        tenant_id  text NOT NULL,
        code       text NOT NULL CHECK (code ~ '^[A-Z][A-Z0-9_]{1,15}$'),
        scale      smallint NOT NULL CHECK (scale BETWEEN 0 AND 18),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (tenant_id, code)
      )`);

    await db.query(`
      CREATE TABLE ledger.accounts (
        id              uuid PRIMARY KEY,
        tenant_id       text NOT NULL,
        asset_code      text NOT NULL,
        type            text NOT NULL CHECK (type IN ('wallet', 'cash_clearing', 'revenue', 'cost_of_revenue',
                                                      'payables', 'promotions', 'opening_balances')),
        normal_side     text NOT NULL GENERATED ALWAYS AS (
                          CASE WHEN type IN ('wallet', 'revenue', 'payables') THEN 'credit' ELSE 'debit' END) STORED,
        limit_enforced  boolean NOT NULL GENERATED ALWAYS AS (type = 'wallet') STORED,
        overdraft_limit bigint NOT NULL DEFAULT 0 CHECK (overdraft_limit >= 0),
        debits_posted   bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
        credits_posted  bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
        debits_pending  bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
        credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
        version         bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
        external_ref    text,
        metadata        jsonb NOT NULL DEFAULT '{}',
        created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
        UNIQUE (tenant_id, id),
        FOREIGN KEY (tenant_id, asset_code) REFERENCES ledger.assets (tenant_id, code),
        CONSTRAINT accounts_within_limit CHECK (
          NOT limit_enforced
          OR (normal_side = 'credit' AND credits_posted - debits_posted - debits_pending >= -overdraft_limit)
          OR (normal_side = 'debit' AND debits_posted - credits_posted - credits_pending >= -overdraft_limit))
      ) WITH (fillfactor = 70)`); // free room on each page keeps balance updates HOT (no index churn)
    await db.query(`
      CREATE UNIQUE INDEX accounts_one_system_account_per_asset
        ON ledger.accounts (tenant_id, asset_code, type) WHERE type <> 'wallet'`);

    await db.query(`
      CREATE TABLE ledger.transactions (
        id              uuid PRIMARY KEY,
        tenant_id       text NOT NULL,
        kind            text NOT NULL CHECK (kind IN ('posted', 'pending', 'post_pending', 'void_pending', 'reversal')),
        status          text NOT NULL CHECK (status IN ('pending', 'posted', 'voided', 'reversed')),
        action          text NOT NULL DEFAULT '',
        idempotency_key text NOT NULL,
        asset_code      text,
        pending_id      uuid REFERENCES ledger.transactions (id),
        reverses_id     uuid REFERENCES ledger.transactions (id),
        resolved_by     uuid REFERENCES ledger.transactions (id),
        reversed_by     uuid REFERENCES ledger.transactions (id),
        expires_at      timestamptz,
        refs            jsonb NOT NULL DEFAULT '{}',
        metadata        jsonb NOT NULL DEFAULT '{}',
        created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
        UNIQUE (tenant_id, id),
        CHECK ((kind IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL)),
        CHECK ((kind = 'reversal') = (reverses_id IS NOT NULL)),
        CHECK (expires_at IS NULL OR kind = 'pending'),
        CHECK (status <> 'pending' OR kind = 'pending'),
        CHECK (status <> 'voided' OR kind = 'pending'),
        CHECK ((resolved_by IS NOT NULL) = (kind = 'pending' AND status IN ('posted', 'voided'))),
        CHECK ((reversed_by IS NOT NULL) = (status = 'reversed'))
      )`);
    await db.query(`CREATE UNIQUE INDEX transactions_hold_resolved_once ON ledger.transactions (pending_id)
                      WHERE pending_id IS NOT NULL`);
    await db.query(`CREATE UNIQUE INDEX transactions_reversed_once ON ledger.transactions (reverses_id)
                      WHERE reverses_id IS NOT NULL`);
    await db.query(`CREATE INDEX transactions_expiring_holds ON ledger.transactions (expires_at)
                      WHERE status = 'pending' AND expires_at IS NOT NULL`);

    await db.query(`
      CREATE TABLE ledger.entries (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id       text NOT NULL,
        transaction_id  uuid NOT NULL,
        account_id      uuid NOT NULL,
        asset_code      text NOT NULL,
        side            text NOT NULL CHECK (side IN ('debit', 'credit')),
        phase           text NOT NULL CHECK (phase IN ('posted', 'pending', 'release')),
        amount          bigint NOT NULL CHECK (amount > 0),
        -- The account right after this entry: its version and running totals.
        account_version bigint NOT NULL CHECK (account_version > 0),
        debits_posted   bigint NOT NULL CHECK (debits_posted >= 0),
        credits_posted  bigint NOT NULL CHECK (credits_posted >= 0),
        debits_pending  bigint NOT NULL CHECK (debits_pending >= 0),
        credits_pending bigint NOT NULL CHECK (credits_pending >= 0),
        created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
        FOREIGN KEY (tenant_id, transaction_id) REFERENCES ledger.transactions (tenant_id, id),
        FOREIGN KEY (tenant_id, account_id) REFERENCES ledger.accounts (tenant_id, id)
      )`);
    await db.query(`CREATE INDEX entries_by_account ON ledger.entries (account_id, id)`);
    await db.query(`CREATE INDEX entries_by_account_time ON ledger.entries (account_id, created_at)`);
    await db.query(`CREATE INDEX entries_by_transaction ON ledger.entries (transaction_id)`);

    await db.query(`
      CREATE TABLE ledger.idempotency_keys (
        tenant_id    text NOT NULL,
        key          text NOT NULL,
        operation    text NOT NULL,
        request_hash text NOT NULL,
        result_id    uuid NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (tenant_id, key)
      )`);

    // Written in the same transaction as the change it announces; drained by the relay.
    await db.query(`
      CREATE TABLE ledger.outbox (
        id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id      text NOT NULL,
        event_type     text NOT NULL CHECK (event_type IN ('account.opened', 'transaction.posted',
                         'transaction.pending', 'transaction.posted_from_pending', 'transaction.voided',
                         'transaction.reversed')),
        transaction_id uuid REFERENCES ledger.transactions (id),
        account_id     uuid REFERENCES ledger.accounts (id),
        created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
        CHECK ((transaction_id IS NULL) <> (account_id IS NULL))
      )`);

    await this.createGuards(db);
  }

  private async createGuards(db: QueryRunner): Promise<void> {
    // Domain failures raised by SQL carry SQLSTATE SL001, the code as message, a readable detail
    // and JSON hints (field, facts); the service maps them to LedgerError.
    await db.query(`
      CREATE FUNCTION ledger.fail(p_code text, p_message text, p_field text DEFAULT NULL, p_facts jsonb DEFAULT NULL)
      RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = p_code, DETAIL = p_message,
          HINT = jsonb_strip_nulls(jsonb_build_object('field', p_field, 'facts', p_facts))::text;
      END $$`);

    await db.query(`
      CREATE FUNCTION ledger.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% on ledger.% is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'SL002';
      END $$`);
    for (const table of ['entries', 'idempotency_keys']) {
      await db.query(`CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ledger.${table}
                        FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change()`);
      await db.query(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ledger.${table}
                        FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()`);
    }

    // Each entry must continue its account's chain: previous running totals plus its own amount.
    await db.query(`
      CREATE FUNCTION ledger.check_entry_chain() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        prev record;
        dp bigint := 0; cp bigint := 0; dq bigint := 0; cq bigint := 0; v bigint := 0;
      BEGIN
        SELECT e.debits_posted, e.credits_posted, e.debits_pending, e.credits_pending, e.account_version, e.transaction_id
          INTO prev FROM ledger.entries e WHERE e.account_id = NEW.account_id ORDER BY e.id DESC LIMIT 1;
        IF FOUND THEN
          dp := prev.debits_posted; cp := prev.credits_posted; dq := prev.debits_pending; cq := prev.credits_pending;
          v := prev.account_version;
        END IF;
        IF NEW.phase = 'posted' THEN
          IF NEW.side = 'debit' THEN dp := dp + NEW.amount; ELSE cp := cp + NEW.amount; END IF;
        ELSIF NEW.phase = 'pending' THEN
          IF NEW.side = 'debit' THEN dq := dq + NEW.amount; ELSE cq := cq + NEW.amount; END IF;
        ELSE
          IF NEW.side = 'debit' THEN dq := dq - NEW.amount; ELSE cq := cq - NEW.amount; END IF;
        END IF;
        IF (NEW.debits_posted, NEW.credits_posted, NEW.debits_pending, NEW.credits_pending)
           IS DISTINCT FROM (dp, cp, dq, cq)
           OR NEW.account_version <> (CASE WHEN prev.transaction_id = NEW.transaction_id THEN v ELSE v + 1 END) THEN
          RAISE EXCEPTION 'entry for account % breaks its chain of running totals', NEW.account_id
            USING ERRCODE = 'SL003';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER entries_continue_chain BEFORE INSERT ON ledger.entries
                      FOR EACH ROW EXECUTE FUNCTION ledger.check_entry_chain()`);

    // At commit: every transaction has two or more entries and balances per asset and phase.
    await db.query(`
      CREATE FUNCTION ledger.check_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
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
      END $$`);
    await db.query(`CREATE CONSTRAINT TRIGGER entries_balanced AFTER INSERT ON ledger.entries
                      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger.check_transaction_balanced()`);

    // At commit: an account's totals and version are exactly its newest entry's.
    await db.query(`
      CREATE FUNCTION ledger.check_account_matches_entries() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        v_mismatch boolean;
      BEGIN
        SELECT (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, a.version)
               IS DISTINCT FROM (coalesce(e.debits_posted, 0), coalesce(e.credits_posted, 0), coalesce(e.debits_pending, 0),
                                 coalesce(e.credits_pending, 0), coalesce(e.account_version, 0))
          INTO v_mismatch
          FROM ledger.accounts a
          LEFT JOIN LATERAL (SELECT x.debits_posted, x.credits_posted, x.debits_pending, x.credits_pending, x.account_version
                               FROM ledger.entries x WHERE x.account_id = a.id ORDER BY x.id DESC LIMIT 1) e ON true
         WHERE a.id = NEW.id;
        IF v_mismatch THEN
          RAISE EXCEPTION 'account % balances do not match its entries', NEW.id USING ERRCODE = 'SL003';
        END IF;
        RETURN NULL;
      END $$`);
    await db.query(`CREATE CONSTRAINT TRIGGER accounts_match_entries AFTER UPDATE ON ledger.accounts
                      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger.check_account_matches_entries()`);

    // Identity of an account never changes; accounts are never deleted.
    await db.query(`
      CREATE FUNCTION ledger.guard_account_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' OR (NEW.id, NEW.tenant_id, NEW.asset_code, NEW.type, NEW.created_at)
             IS DISTINCT FROM (OLD.id, OLD.tenant_id, OLD.asset_code, OLD.type, OLD.created_at) THEN
          RAISE EXCEPTION 'accounts keep their identity and are never deleted' USING ERRCODE = 'SL002';
        END IF;
        RETURN NEW;
      END $$`);
    // Column-scoped: it fires when an identity column is named in an UPDATE, not on balance changes.
    await db.query(`CREATE TRIGGER accounts_keep_identity
                      BEFORE UPDATE OF id, tenant_id, asset_code, type, created_at OR DELETE ON ledger.accounts
                      FOR EACH ROW EXECUTE FUNCTION ledger.guard_account_update()`);

    // Transactions only move pending → posted | voided (once resolved) and posted → reversed.
    await db.query(`
      CREATE FUNCTION ledger.guard_transaction_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE'
           OR (NEW.id, NEW.tenant_id, NEW.kind, NEW.action, NEW.idempotency_key, NEW.asset_code, NEW.pending_id,
               NEW.reverses_id, NEW.expires_at, NEW.refs, NEW.metadata, NEW.created_at)
              IS DISTINCT FROM
              (OLD.id, OLD.tenant_id, OLD.kind, OLD.action, OLD.idempotency_key, OLD.asset_code, OLD.pending_id,
               OLD.reverses_id, OLD.expires_at, OLD.refs, OLD.metadata, OLD.created_at)
           OR NOT ((OLD.status = 'pending' AND NEW.status IN ('posted', 'voided') AND OLD.resolved_by IS NULL)
                   OR (OLD.status = 'posted' AND NEW.status = 'reversed' AND OLD.reversed_by IS NULL)) THEN
          RAISE EXCEPTION 'transaction % cannot change from % to %', OLD.id, OLD.status,
            CASE WHEN TG_OP = 'DELETE' THEN 'deleted' ELSE NEW.status END USING ERRCODE = 'SL002';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER transactions_guard_transitions BEFORE UPDATE OR DELETE ON ledger.transactions
                      FOR EACH ROW EXECUTE FUNCTION ledger.guard_transaction_update()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP SCHEMA ledger CASCADE`);
  }
}
