import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention (retention/retention.ts) of the two tables that grow with every event and every write.
 *
 * - Indexes on the age columns, so each bounded DELETE finds its oldest rows without a scan. Built
 *   CONCURRENTLY (outside a transaction: `transaction = false`) because processed_events is large
 *   on a live system and a plain CREATE INDEX would block ingestion while it builds. Each
 *   statement is idempotent, so a run that failed half-way can simply run again.
 * - external_writes stays append-only, except that a DELETE is allowed inside a transaction that
 *   set `erp_sync.retention_purge = on` and only of rows older than 30 days (the lowest
 *   ERP_SYNC_AUDIT_RETENTION_DAYS accepts): a bug or a stray statement still cannot cut recent
 *   audit. UPDATE and TRUNCATE stay refused; journal_lines keep their original triggers untouched.
 */
export class ErpSyncRetention1767484800000 implements MigrationInterface {
  name = 'ErpSyncRetention1767484800000';
  transaction = false;

  async up(db: QueryRunner): Promise<void> {
    for (const [index, definition] of [
      ['processed_events_by_age', 'erp_sync.processed_events (processed_at)'],
      ['external_writes_by_age', 'erp_sync.external_writes (at)'],
    ] as const) {
      // An interrupted CONCURRENTLY build leaves an invalid index behind: drop it and build again.
      await db.query(`
        DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                      JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = 'erp_sync' AND c.relname = '${index}' AND NOT i.indisvalid) THEN
            EXECUTE 'DROP INDEX erp_sync.${index}';
          END IF;
        END $$`);
      await db.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${index} ON ${definition}`);
    }
    await db.query(`
      CREATE OR REPLACE FUNCTION erp_sync.refuse_delete_unless_expired() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF current_setting('erp_sync.retention_purge', true) = 'on' AND OLD.at < now() - interval '30 days' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'erp_sync.%: rows are append-only (only the retention purge deletes, rows older than 30 days)', TG_TABLE_NAME;
      END $$`);
    // The trigger swap in one transaction: never a moment without protection.
    await inTransaction(db, [
      'DROP TRIGGER IF EXISTS external_writes_append_only ON erp_sync.external_writes',
      'DROP TRIGGER IF EXISTS external_writes_no_update ON erp_sync.external_writes',
      'DROP TRIGGER IF EXISTS external_writes_delete_expired_only ON erp_sync.external_writes',
      `CREATE TRIGGER external_writes_no_update BEFORE UPDATE ON erp_sync.external_writes
         FOR EACH ROW EXECUTE FUNCTION erp_sync.refuse_change()`,
      `CREATE TRIGGER external_writes_delete_expired_only BEFORE DELETE ON erp_sync.external_writes
         FOR EACH ROW EXECUTE FUNCTION erp_sync.refuse_delete_unless_expired()`,
    ]);
  }

  async down(db: QueryRunner): Promise<void> {
    await inTransaction(db, [
      'DROP TRIGGER IF EXISTS external_writes_delete_expired_only ON erp_sync.external_writes',
      'DROP TRIGGER IF EXISTS external_writes_no_update ON erp_sync.external_writes',
      `CREATE TRIGGER external_writes_append_only BEFORE UPDATE OR DELETE ON erp_sync.external_writes
         FOR EACH ROW EXECUTE FUNCTION erp_sync.refuse_change()`,
      'DROP FUNCTION erp_sync.refuse_delete_unless_expired()',
    ]);
    await db.query(`DROP INDEX CONCURRENTLY IF EXISTS erp_sync.external_writes_by_age`);
    await db.query(`DROP INDEX CONCURRENTLY IF EXISTS erp_sync.processed_events_by_age`);
  }
}

async function inTransaction(db: QueryRunner, statements: readonly string[]): Promise<void> {
  await db.startTransaction();
  try {
    for (const sql of statements) await db.query(sql);
    await db.commitTransaction();
  } catch (error) {
    if (db.isTransactionActive) await db.rollbackTransaction();
    throw error;
  }
}
