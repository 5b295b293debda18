import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Top-ups that come from an ERP document (invoice or sales order). The money is posted in the
 * ledger at once (a normal TOP_UP, usable); this table says which of it is still shadow, i.e. not
 * yet confirmed by the ERP. One top-up per document and tenant. See docs/erp-sync.md.
 */
export class ShadowTopUps1767398400000 implements MigrationInterface {
  name = 'ShadowTopUps1767398400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE aggregator.shadow_topups (
        tenant_id         text NOT NULL REFERENCES aggregator.tenants (id),
        document_id       text NOT NULL CHECK (document_id ~ '^[A-Za-z0-9_.:/-]{1,64}$'),
        document_type     text NOT NULL CHECK (document_type IN ('invoice', 'sales_order')),
        wallet_id         uuid NOT NULL,
        account_id        uuid NOT NULL,
        transaction_id    uuid NOT NULL,
        amount_minor      bigint NOT NULL CHECK (amount_minor > 0),
        state             text NOT NULL DEFAULT 'pending_confirmation'
                          CHECK (state IN ('pending_confirmation', 'confirmed', 'rejected', 'rejected_unrecoverable')),
        reason            text NOT NULL DEFAULT '' CHECK (length(reason) <= 512),
        reversal_id       uuid,
        created_at        timestamptz NOT NULL DEFAULT now(),
        resolved_at       timestamptz,
        PRIMARY KEY (tenant_id, document_id),
        UNIQUE (tenant_id, transaction_id),
        FOREIGN KEY (tenant_id, wallet_id) REFERENCES aggregator.wallets (tenant_id, id),
        CHECK ((state = 'rejected') = (reversal_id IS NOT NULL)),
        CHECK ((state = 'pending_confirmation') = (resolved_at IS NULL))
      )`);
    // What GetWallet sums: the unconfirmed document top-ups of one ledger account.
    await db.query(`
      CREATE INDEX shadow_topups_open ON aggregator.shadow_topups (tenant_id, account_id)
        WHERE state IN ('pending_confirmation', 'rejected_unrecoverable')`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE aggregator.shadow_topups`);
  }
}
