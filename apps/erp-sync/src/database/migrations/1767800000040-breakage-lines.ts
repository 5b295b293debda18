import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Journal lines may book breakage: prepaid credit that expired unused (docs/grants.md). */
export class BreakageLines1767800000040 implements MigrationInterface {
  name = 'BreakageLines1767800000040';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE erp_sync.journal_lines DROP CONSTRAINT journal_lines_role_check,
        ADD CONSTRAINT journal_lines_role_check CHECK (role IN ('cash_clearing', 'customer_prepayment', 'revenue',
          'cost_of_revenue', 'payables', 'promotions', 'opening_balances', 'breakage'))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE erp_sync.journal_lines DROP CONSTRAINT journal_lines_role_check,
        ADD CONSTRAINT journal_lines_role_check CHECK (role IN ('cash_clearing', 'customer_prepayment', 'revenue',
          'cost_of_revenue', 'payables', 'promotions', 'opening_balances'))`);
  }
}
