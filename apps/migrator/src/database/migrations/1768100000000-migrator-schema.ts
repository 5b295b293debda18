import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The migrator's own state (schema `migrator`, its own migrations table). Reviewed SQL; never edit
 * once committed. Money is never here: the ledger holds it, and the ledger's idempotency keys
 * (`mig:<migration>:…`) are what make every posting happen once. These tables hold where each step
 * is (so a kill -9 resumes), which legacy wallet became which Saldo wallet, and what could not map.
 */
export class MigratorSchema1768100000000 implements MigrationInterface {
  name = 'MigratorSchema1768100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE SCHEMA IF NOT EXISTS migrator`);
    await db.query(`
      CREATE TABLE migrator.migrations (
        id              text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
        tenant_id       text NOT NULL,
        source          text NOT NULL,
        state           text NOT NULL CHECK (state IN ('importing', 'imported', 'frozen', 'cut_over', 'rolled_back')),
        -- The legacy change the import snapshot is at; catch-up starts after it.
        import_cursor   bigint NOT NULL CHECK (import_cursor >= 0),
        -- Resume points of the import's two passes (standalone wallets, then members and clients).
        import_phase    text NOT NULL DEFAULT 'standalone' CHECK (import_phase IN ('standalone', 'children', 'done')),
        import_after    text,
        -- The newest legacy change applied to the ledger, and the newest seen in the source (lag).
        applied_cursor  bigint NOT NULL CHECK (applied_cursor >= import_cursor),
        source_cursor   bigint NOT NULL DEFAULT 0,
        source_cursor_at timestamptz,
        applied_at      timestamptz,
        wallets_planned bigint NOT NULL DEFAULT 0,
        wallets_imported bigint NOT NULL DEFAULT 0,
        changes_applied bigint NOT NULL DEFAULT 0,
        changes_skipped bigint NOT NULL DEFAULT 0,
        last_verify     jsonb,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        finished_at     timestamptz
      )`);
    // One open migration per tenant at a time.
    await db.query(`CREATE UNIQUE INDEX migrations_one_open_per_tenant ON migrator.migrations (tenant_id)
                      WHERE state NOT IN ('cut_over', 'rolled_back')`);
    await db.query(`
      CREATE TABLE migrator.wallet_map (
        migration_id   text NOT NULL REFERENCES migrator.migrations (id),
        legacy_id      text NOT NULL,
        wallet_id      uuid NOT NULL,
        account_id     uuid,
        model          text NOT NULL,
        currency       text NOT NULL,
        opening_minor  bigint NOT NULL,
        PRIMARY KEY (migration_id, legacy_id)
      )`);
    await db.query(`
      CREATE TABLE migrator.unmapped (
        migration_id text NOT NULL REFERENCES migrator.migrations (id),
        legacy_id    text NOT NULL,
        reason       text NOT NULL,
        PRIMARY KEY (migration_id, legacy_id)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP SCHEMA migrator CASCADE`);
  }
}
