import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * erp-sync's own schema. Reviewed SQL; never edit once committed (add a new migration instead).
 *
 * - processed_events: every ledger event id consumed (dedupe across redeliveries and restarts).
 * - accounted_transactions: one row per ledger transaction recorded for the ERP (a transfer arrives
 *   once per wallet; only the first delivery adds lines).
 * - journals / journal_lines: the accounting records, append-only lines; a journal's content is the
 *   net of its lines, so a summary entry grows while its period is open and is upserted again.
 * - sync_records: per (connector, record key) the sync state machine
 *   pending → in_flight → synced (external id) | failed (retry at next_attempt_at) | dead (reason);
 *   `revision` rises with every change of the record's content, `synced_revision` is what the
 *   vendor holds, so a change during a write is never lost.
 * - external_writes: an append-only audit of every write sent to a vendor.
 */
export class ErpSyncSchema1767312000000 implements MigrationInterface {
  name = 'ErpSyncSchema1767312000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE SCHEMA IF NOT EXISTS erp_sync`);
    await db.query(`
      CREATE TABLE erp_sync.processed_events (
        event_id       text PRIMARY KEY,
        tenant_id      text NOT NULL,
        transaction_id text,
        outcome        text NOT NULL CHECK (outcome IN ('recorded', 'no_accounting', 'unmappable')),
        processed_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE erp_sync.sync_records (
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        connector        text NOT NULL CHECK (connector IN ('netsuite', 'zendesk', 'activecampaign', 'mapping')),
        record_key       text NOT NULL,
        tenant_id        text NOT NULL,
        kind             text NOT NULL CHECK (kind IN ('journal_entry', 'crm_balance', 'ledger_event')),
        priority         smallint NOT NULL CHECK (priority >= 0),
        state            text NOT NULL CHECK (state IN ('pending', 'in_flight', 'synced', 'failed', 'dead')),
        revision         bigint NOT NULL DEFAULT 1 CHECK (revision >= 1),
        synced_revision  bigint NOT NULL DEFAULT 0 CHECK (synced_revision >= 0),
        payload          jsonb NOT NULL DEFAULT '{}',
        source_version   bigint,
        external_id      text,
        attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        throttled        integer NOT NULL DEFAULT 0 CHECK (throttled >= 0),
        next_attempt_at  timestamptz NOT NULL DEFAULT now(),
        lease_expires_at timestamptz,
        last_error       text,
        dead_reason      text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        synced_at        timestamptz,
        UNIQUE (connector, record_key),
        CHECK (synced_revision <= revision),
        CHECK ((state = 'dead') = (dead_reason IS NOT NULL)),
        CHECK (state <> 'synced' OR external_id IS NOT NULL),
        CHECK ((state = 'in_flight') = (lease_expires_at IS NOT NULL))
      )`);
    await db.query(`
      CREATE INDEX sync_records_due ON erp_sync.sync_records (connector, priority, next_attempt_at, id)
        WHERE state IN ('pending', 'failed', 'in_flight')`);
    await db.query(
      `CREATE INDEX sync_records_dead ON erp_sync.sync_records (updated_at) WHERE state = 'dead'`,
    );
    await db.query(`
      CREATE TABLE erp_sync.journals (
        external_id    text PRIMARY KEY CHECK (external_id ~ '^[A-Za-z0-9_-]{1,255}$'),
        tenant_id      text NOT NULL,
        kind           text NOT NULL CHECK (kind IN ('usage_summary', 'single')),
        asset_code     text NOT NULL,
        asset_scale    integer NOT NULL CHECK (asset_scale BETWEEN 0 AND 18),
        currency_id    text NOT NULL,
        subsidiary     text NOT NULL,
        department     text,
        tran_date      date NOT NULL,
        memo           text NOT NULL,
        product_code   text,
        period_start   timestamptz,
        sync_record_id bigint NOT NULL REFERENCES erp_sync.sync_records (id),
        created_at     timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX journals_by_tenant_day ON erp_sync.journals (tenant_id, tran_date)`);
    await db.query(`
      CREATE TABLE erp_sync.journal_lines (
        id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        external_id    text NOT NULL REFERENCES erp_sync.journals (external_id),
        tenant_id      text NOT NULL,
        transaction_id text NOT NULL,
        role           text NOT NULL CHECK (role IN ('cash_clearing', 'customer_prepayment', 'revenue', 'cost_of_revenue',
                                                     'payables', 'promotions', 'opening_balances')),
        account        text NOT NULL,
        customer       text,
        item           text,
        debit_minor    bigint NOT NULL CHECK (debit_minor >= 0),
        credit_minor   bigint NOT NULL CHECK (credit_minor >= 0),
        created_at     timestamptz NOT NULL DEFAULT now(),
        CHECK ((debit_minor > 0) <> (credit_minor > 0))
      )`);
    await db.query(`CREATE INDEX journal_lines_by_journal ON erp_sync.journal_lines (external_id)`);
    await db.query(`
      CREATE TABLE erp_sync.accounted_transactions (
        tenant_id      text NOT NULL,
        transaction_id text NOT NULL,
        external_id    text NOT NULL REFERENCES erp_sync.journals (external_id) DEFERRABLE INITIALLY DEFERRED,
        event_id       text NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, transaction_id)
      )`);
    await db.query(`
      CREATE TABLE erp_sync.external_writes (
        id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        connector      text NOT NULL,
        sync_record_id bigint,
        method         text NOT NULL,
        path           text NOT NULL,
        request_body   jsonb,
        response_code  integer,
        external_id    text,
        error          text,
        duration_ms    integer NOT NULL CHECK (duration_ms >= 0),
        at             timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX external_writes_by_record ON erp_sync.external_writes (sync_record_id)`);
    // Lines and the audit log are facts: never updated or deleted.
    await db.query(`
      CREATE FUNCTION erp_sync.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'erp_sync.%: rows are append-only', TG_TABLE_NAME;
      END $$`);
    for (const table of ['journal_lines', 'external_writes']) {
      await db.query(`CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON erp_sync.${table}
                        FOR EACH ROW EXECUTE FUNCTION erp_sync.refuse_change()`);
      await db.query(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON erp_sync.${table}
                        FOR EACH STATEMENT EXECUTE FUNCTION erp_sync.refuse_change()`);
    }
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP SCHEMA erp_sync CASCADE`);
  }
}
