import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A document the ERP rejected but the ledger could not reverse may end written off by an operator. */
export class ErpDocumentWriteOff1767571200000 implements MigrationInterface {
  name = 'ErpDocumentWriteOff1767571200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE erp_sync.erp_documents DROP CONSTRAINT erp_documents_state_check,
        ADD CONSTRAINT erp_documents_state_check
          CHECK (state IN ('watching', 'confirmed', 'rejected', 'rejected_unrecoverable', 'written_off'))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE erp_sync.erp_documents DROP CONSTRAINT erp_documents_state_check,
        ADD CONSTRAINT erp_documents_state_check
          CHECK (state IN ('watching', 'confirmed', 'rejected', 'rejected_unrecoverable'))`);
  }
}
