import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which tenants are being migrated from a legacy wallet system (apps/migrator sets the row). While a
 * tenant's row is `migrating`, the aggregator refuses writes to its wallets with FAILED_PRECONDITION
 * naming the migration (reads work): the legacy system still serves them and the migrator mirrors
 * its changes. `cut_over` and `rolled_back` open the wallets for writes again.
 */
export class TenantMigrations1767700000050 implements MigrationInterface {
  name = 'TenantMigrations1767700000050';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE aggregator.tenant_migrations (
        tenant_id    text PRIMARY KEY REFERENCES aggregator.tenants (id),
        migration_id text NOT NULL CHECK (length(migration_id) BETWEEN 1 AND 128),
        state        text NOT NULL CHECK (state IN ('migrating', 'cut_over', 'rolled_back')),
        updated_at   timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE aggregator.tenant_migrations`);
  }
}
