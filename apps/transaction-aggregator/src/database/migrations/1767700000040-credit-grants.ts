import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Wallets opened with credit grants (docs/grants.md): every credit enters as a grant and every
 * debit draws from grants. Fixed at opening; a member spends its organisation's grants.
 */
export class CreditGrants1767700000040 implements MigrationInterface {
  name = 'CreditGrants1767700000040';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE aggregator.wallets ADD COLUMN credit_grants boolean NOT NULL DEFAULT false,
                      ADD CONSTRAINT wallets_member_without_grants CHECK (NOT credit_grants OR role <> 'member')`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE aggregator.wallets DROP COLUMN credit_grants`);
  }
}
