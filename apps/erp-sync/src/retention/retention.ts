import type { Logger } from '@saldo/logging';
import type { DataSource, QueryRunner } from 'typeorm';
import type { ErpSyncConfig } from '../config';

/** One purge at a time across every instance and the operator's CLI. */
export const RETENTION_LOCK = 'saldo:erp-sync:retention';

/** Floors the configuration also enforces; asserted here so no caller can go below them. */
export const MIN_PROCESSED_EVENTS_DAYS = 8; // Pub/Sub redelivers for up to 7 days
export const MIN_AUDIT_DAYS = 30; // the external_writes trigger refuses younger deletes too
const MAX_BATCH_ROWS = 50_000;

export type RetentionTable = 'processed_events' | 'external_writes';

export interface RetentionPolicy {
  processedEventsDays: number;
  auditDays: number;
  /** Rows per DELETE statement; each statement is its own short transaction. */
  batchRows: number;
  /** Statements per table per run: a large backlog is worked off over several runs. */
  maxBatches: number;
}

export interface RetentionResult {
  /** False when another run held the lock: this one deleted nothing. */
  ran: boolean;
  deleted: Record<RetentionTable, number>;
  /** False when a table still had expired rows after maxBatches statements (or the run was stopped). */
  complete: boolean;
}

export function retentionPolicyOf(
  config: Pick<
    ErpSyncConfig,
    | 'ERP_SYNC_PROCESSED_EVENTS_RETENTION_DAYS'
    | 'ERP_SYNC_AUDIT_RETENTION_DAYS'
    | 'ERP_SYNC_RETENTION_BATCH'
    | 'ERP_SYNC_RETENTION_MAX_BATCHES'
  >,
): RetentionPolicy {
  return {
    processedEventsDays: config.ERP_SYNC_PROCESSED_EVENTS_RETENTION_DAYS,
    auditDays: config.ERP_SYNC_AUDIT_RETENTION_DAYS,
    batchRows: config.ERP_SYNC_RETENTION_BATCH,
    maxBatches: config.ERP_SYNC_RETENTION_MAX_BATCHES,
  };
}

/**
 * What each table keeps besides its young rows. Only rows that are done with are deleted: the
 * audit of a sync record that is not synced (pending, in flight, failed, dead) stays for whoever
 * investigates it, and so does the dedupe row of an unmappable event an operator has yet to replay.
 * Nothing else (sync_records, journals, journal_lines, accounted_transactions, erp_documents) is
 * ever touched.
 */
const PURGE_SQL: Record<RetentionTable, { days: (p: RetentionPolicy) => number; sql: string }> = {
  processed_events: {
    days: (p) => p.processedEventsDays,
    sql: `
      DELETE FROM erp_sync.processed_events
       WHERE event_id IN (
         SELECT e.event_id FROM erp_sync.processed_events e
          WHERE e.processed_at < $1::timestamptz
            AND NOT (e.outcome = 'unmappable' AND EXISTS (
                  SELECT 1 FROM erp_sync.sync_records r
                   WHERE r.connector = 'mapping' AND r.record_key = coalesce(e.transaction_id, e.event_id)
                     AND r.state <> 'synced'))
          ORDER BY e.processed_at
          LIMIT $2)`,
  },
  external_writes: {
    days: (p) => p.auditDays,
    sql: `
      DELETE FROM erp_sync.external_writes
       WHERE id IN (
         SELECT w.id FROM erp_sync.external_writes w
          WHERE w.at < $1::timestamptz
            AND NOT EXISTS (SELECT 1 FROM erp_sync.sync_records r
                             WHERE r.id = w.sync_record_id AND r.state <> 'synced')
          ORDER BY w.at
          LIMIT $2)`,
  },
};

function assertPolicy(p: RetentionPolicy): void {
  if (!Number.isInteger(p.processedEventsDays) || p.processedEventsDays < MIN_PROCESSED_EVENTS_DAYS)
    throw new Error(`processed events retention must be at least ${MIN_PROCESSED_EVENTS_DAYS} days`);
  if (!Number.isInteger(p.auditDays) || p.auditDays < MIN_AUDIT_DAYS)
    throw new Error(`audit retention must be at least ${MIN_AUDIT_DAYS} days`);
  if (!Number.isInteger(p.batchRows) || p.batchRows < 1 || p.batchRows > MAX_BATCH_ROWS)
    throw new Error(`retention batch must be 1..${MAX_BATCH_ROWS} rows`);
  if (!Number.isInteger(p.maxBatches) || p.maxBatches < 1) throw new Error('maxBatches must be at least 1');
}

/**
 * Deletes expired rows of processed_events and external_writes in bounded batches, each DELETE
 * in its own transaction with a lock timeout, so no lock is held for long and ingestion goes on.
 * Runs only while holding a session advisory lock; when another run holds it, returns ran=false.
 */
export async function runRetention(
  db: DataSource,
  policy: RetentionPolicy,
  shouldStop: () => boolean = () => false,
): Promise<RetentionResult> {
  assertPolicy(policy);
  const deleted: Record<RetentionTable, number> = { processed_events: 0, external_writes: 0 };
  const q = db.createQueryRunner();
  await q.connect();
  try {
    const [lock]: Array<{ locked: boolean }> = await q.query(
      'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
      [RETENTION_LOCK],
    );
    if (!lock?.locked) return { ran: false, deleted, complete: false };
    try {
      let complete = true;
      for (const table of Object.keys(PURGE_SQL) as RetentionTable[]) {
        const done = await purgeTable(q, table, policy, shouldStop, (n) => (deleted[table] += n));
        complete &&= done;
      }
      return { ran: true, deleted, complete };
    } finally {
      await q.query('SELECT pg_advisory_unlock(hashtext($1))', [RETENTION_LOCK]);
    }
  } finally {
    await q.release();
  }
}

/** True when no expired row is left (a batch came back short). */
async function purgeTable(
  q: QueryRunner,
  table: RetentionTable,
  policy: RetentionPolicy,
  shouldStop: () => boolean,
  count: (n: number) => void,
): Promise<boolean> {
  const { days, sql } = PURGE_SQL[table];
  // One cutoff for the whole run, as text so no precision is lost on the way through JS.
  const [{ cutoff }]: Array<{ cutoff: string }> = await q.query(
    `SELECT (now() - $1::int * interval '1 day')::text AS cutoff`,
    [days(policy)],
  );
  for (let batch = 0; batch < policy.maxBatches; batch += 1) {
    if (shouldStop()) return false;
    await q.startTransaction('READ COMMITTED');
    try {
      await q.query(`SET LOCAL lock_timeout = '5s'`);
      await q.query(`SET LOCAL statement_timeout = '120s'`);
      // The external_writes trigger lets only this transaction delete, and only rows over 30 days.
      await q.query(`SELECT set_config('erp_sync.retention_purge', 'on', true)`);
      const result = await q.query(sql, [cutoff, policy.batchRows], true);
      await q.commitTransaction();
      const n = result.affected ?? 0;
      count(n);
      if (n < policy.batchRows) return true;
    } catch (error) {
      if (q.isTransactionActive) await q.rollbackTransaction().catch(() => undefined);
      throw error;
    }
  }
  return false;
}

/** The worker's periodic purge: first soon after start, then every intervalMs; stop() waits for a run. */
export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private current: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: DataSource,
    private readonly policy: RetentionPolicy,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly onResult: (result: RetentionResult) => void = () => undefined,
  ) {
    assertPolicy(policy);
    if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new Error('intervalMs must be positive');
  }

  start(): void {
    this.running = true;
    this.schedule(Math.min(this.intervalMs, 60_000));
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.current;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.current = this.runOnce().finally(() => {
        if (this.running) this.schedule(this.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async runOnce(): Promise<void> {
    const started = Date.now();
    try {
      const result = await runRetention(this.db, this.policy, () => !this.running);
      this.onResult(result);
      if (!result.ran) this.logger.debug('retention: another instance holds the lock, skipped');
      else
        this.logger.info(
          { deleted: result.deleted, complete: result.complete, durationMs: Date.now() - started },
          'retention purge done',
        );
    } catch (error) {
      this.logger.error({ err: error }, 'retention purge failed');
    }
  }
}
