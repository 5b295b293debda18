import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A document top-up the ERP rejected but the ledger could not reverse (the money was spent) can be
 * written off by the tenant: state `written_off`. The shadow amount itself now lives in the ledger
 * (ledger.shadow_credits), so GetWallet no longer sums this table and its index goes.
 */
export class ErpDocumentWriteOff1767484800000 implements MigrationInterface {
  name = 'ErpDocumentWriteOff1767484800000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE aggregator.shadow_topups DROP CONSTRAINT shadow_topups_state_check,
        ADD CONSTRAINT shadow_topups_state_check
          CHECK (state IN ('pending_confirmation', 'confirmed', 'rejected', 'rejected_unrecoverable', 'written_off'))`);
    await db.query(`DROP INDEX aggregator.shadow_topups_open`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE INDEX shadow_topups_open ON aggregator.shadow_topups (tenant_id, account_id)
        WHERE state IN ('pending_confirmation', 'rejected_unrecoverable')`);
    await db.query(`
      ALTER TABLE aggregator.shadow_topups DROP CONSTRAINT shadow_topups_state_check,
        ADD CONSTRAINT shadow_topups_state_check
          CHECK (state IN ('pending_confirmation', 'confirmed', 'rejected', 'rejected_unrecoverable'))`);
  }
}
