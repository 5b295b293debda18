import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Wallet lifecycle (issue 12): a status per wallet (active, frozen: no debits, closed: no writes,
 * final), the tenant's external reference, lookups by owner and reference, and an append-only
 * audit trail of every settings or status change (who asked with which idempotency key, what
 * changed, why).
 */
export class WalletLifecycle1767700000030 implements MigrationInterface {
  name = 'WalletLifecycle1767700000030';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE aggregator.wallets
        ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'closed')),
        ADD COLUMN external_reference text CHECK (length(external_reference) BETWEEN 1 AND 128),
        ADD COLUMN status_changed_at timestamptz`);
    await db.query(`CREATE INDEX wallets_by_owner ON aggregator.wallets (tenant_id, owner_id, id)`);
    await db.query(
      `CREATE INDEX wallets_by_reference ON aggregator.wallets (tenant_id, external_reference, id) WHERE external_reference IS NOT NULL`,
    );
    await db.query(`
      CREATE TABLE aggregator.wallet_changes (
        tenant_id       text NOT NULL REFERENCES aggregator.tenants (id),
        idempotency_key text NOT NULL,
        wallet_id       uuid NOT NULL,
        action          text NOT NULL CHECK (action IN ('UpdateWallet', 'FreezeWallet', 'UnfreezeWallet', 'CloseWallet')),
        before          jsonb NOT NULL,
        after           jsonb NOT NULL,
        reason          text NOT NULL DEFAULT '',
        created_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, idempotency_key),
        FOREIGN KEY (tenant_id, wallet_id) REFERENCES aggregator.wallets (tenant_id, id)
      )`);
    await db.query(
      `CREATE INDEX wallet_changes_by_wallet ON aggregator.wallet_changes (tenant_id, wallet_id, created_at)`,
    );
    // Audit rows are facts: never changed, never removed.
    await db.query(`
      CREATE FUNCTION aggregator.wallet_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'aggregator.wallet_changes is append-only' USING ERRCODE = '55000';
      END $$`);
    await db.query(`
      CREATE TRIGGER wallet_changes_append_only BEFORE UPDATE OR DELETE ON aggregator.wallet_changes
        FOR EACH ROW EXECUTE FUNCTION aggregator.wallet_changes_append_only()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE aggregator.wallet_changes`);
    await db.query(`DROP FUNCTION aggregator.wallet_changes_append_only()`);
    await db.query(`DROP INDEX aggregator.wallets_by_reference`);
    await db.query(`DROP INDEX aggregator.wallets_by_owner`);
    await db.query(
      `ALTER TABLE aggregator.wallets DROP COLUMN status_changed_at, DROP COLUMN external_reference, DROP COLUMN status`,
    );
  }
}
