import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * erp_documents: the ERP documents (invoices, sales orders) behind shadow top-ups that erp-sync
 * watches until the ERP gives its verdict. Filled from the ledger events of such top-ups; polled by
 * SuiteQL (and at once on a verified webhook); the verdict goes to the aggregator
 * (ResolveErpDocument), which owns the shadow state and reverses a rejected top-up.
 */
export class ErpDocuments1767398400000 implements MigrationInterface {
  name = 'ErpDocuments1767398400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE erp_sync.erp_documents (
        tenant_id      text NOT NULL,
        document_id    text NOT NULL,
        document_type  text NOT NULL CHECK (document_type IN ('invoice', 'sales_order')),
        transaction_id uuid NOT NULL,
        state          text NOT NULL DEFAULT 'watching'
                       CHECK (state IN ('watching', 'confirmed', 'rejected', 'rejected_unrecoverable')),
        erp_status     text,
        polls          integer NOT NULL DEFAULT 0,
        next_poll_at   timestamptz NOT NULL DEFAULT now(),
        last_error     text,
        created_at     timestamptz NOT NULL DEFAULT now(),
        resolved_at    timestamptz,
        PRIMARY KEY (tenant_id, document_id)
      )`);
    await db.query(
      `CREATE INDEX erp_documents_due ON erp_sync.erp_documents (next_poll_at) WHERE state = 'watching'`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE erp_sync.erp_documents`);
  }
}
