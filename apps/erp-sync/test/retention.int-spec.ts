// The retention purge against the real PostgreSQL: old rows go in bounded batches, young rows and
// everything not yet done with stay, one run at a time (advisory lock), bad windows are refused.
import { createTestDatabase, type TestDatabase } from '@saldo/test-support';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { createErpSyncDataSource } from '../src/database/erp-sync-data-source';
import { RETENTION_LOCK, runRetention, type RetentionPolicy } from '../src/retention/retention';
import { cli, ROOT, rows } from './sync-harness';

jest.setTimeout(120_000);

const policy: RetentionPolicy = { processedEventsDays: 30, auditDays: 400, batchRows: 5, maxBatches: 1_000 };

let database: TestDatabase;
let db: DataSource;
let env: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase('erp_sync_retention');
  db = await createErpSyncDataSource(database.url, 4).initialize();
  env = { DATABASE_URL: database.url, LOG_LEVEL: 'silent' };
});

afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await rows<{ n: string }>(db, `SELECT count(*)::text AS n FROM ${sql}`, params);
  return Number(row!.n);
}

/** A sync record in `state`; returns its id. */
async function syncRecord(key: string, state: 'synced' | 'pending' | 'dead' | 'failed'): Promise<string> {
  const [row] = await rows<{ id: string }>(
    db,
    `INSERT INTO erp_sync.sync_records (connector, record_key, tenant_id, kind, priority, state, external_id, dead_reason,
                                        created_at, updated_at)
     VALUES ($1, $2, 'ret', $3, 0, $4, $5, $6, now() - interval '900 days', now() - interval '900 days')
     RETURNING id`,
    [
      key.startsWith('mapping:') ? 'mapping' : 'netsuite',
      key.replace(/^mapping:/, ''),
      key.startsWith('mapping:') ? 'ledger_event' : 'journal_entry',
      state,
      state === 'synced' ? `ext-${key.replace(/\W/g, '')}` : null,
      state === 'dead' ? 'gave up' : null,
    ],
  );
  return row!.id;
}

async function processedEvents(
  prefix: string,
  n: number,
  ageDays: number,
  outcome = 'recorded',
  tx?: string,
) {
  await db.query(
    `INSERT INTO erp_sync.processed_events (event_id, tenant_id, transaction_id, outcome, processed_at)
     SELECT $1 || '-' || i, 'ret', $4, $3, now() - $2::int * interval '1 day' FROM generate_series(1, $5::int) i`,
    [prefix, ageDays, outcome, tx ?? null, n],
  );
}

async function externalWrites(recordId: string | null, n: number, ageDays: number) {
  await db.query(
    `INSERT INTO erp_sync.external_writes (connector, sync_record_id, method, path, duration_ms, at)
     SELECT 'netsuite', $1::bigint, 'PUT', '/journalEntry/' || i, 12, now() - $2::int * interval '1 day'
       FROM generate_series(1, $3::int) i`,
    [recordId, ageDays, n],
  );
}

describe('retention purge', () => {
  it('deletes expired dedupe and audit rows in batches, keeps young rows, unfinished work and journal lines', async () => {
    const synced = await syncRecord('journal-synced', 'synced');
    const pending = await syncRecord('journal-pending', 'pending');
    const dead = await syncRecord('journal-dead', 'dead');
    await syncRecord('mapping:tx-still-dead', 'dead');
    await syncRecord('mapping:tx-replayed', 'synced');
    await db.query(
      `INSERT INTO erp_sync.journals (external_id, tenant_id, kind, asset_code, asset_scale, currency_id, subsidiary,
                                      tran_date, memo, sync_record_id, created_at)
       VALUES ('ret-journal', 'ret', 'single', 'IDR', 2, '5', '1', '2023-01-01', 'old', $1, now() - interval '900 days')`,
      [synced],
    );
    await db.query(
      `INSERT INTO erp_sync.journal_lines (external_id, tenant_id, transaction_id, role, account, debit_minor, credit_minor, created_at)
       VALUES ('ret-journal', 'ret', 'tx-1', 'cash_clearing', '100', 5, 0, now() - interval '900 days'),
              ('ret-journal', 'ret', 'tx-1', 'customer_prepayment', '200', 0, 5, now() - interval '900 days')`,
    );

    await processedEvents('old', 23, 31); // expired: gone
    await processedEvents('recent', 4, 29); // within 30 days: kept
    await processedEvents('unmapped-dead', 1, 90, 'unmappable', 'tx-still-dead'); // awaits replay: kept
    await processedEvents('unmapped-replayed', 1, 90, 'unmappable', 'tx-replayed'); // done: gone
    await externalWrites(synced, 12, 401); // expired and synced: gone
    await externalWrites(null, 2, 500); // expired, no record (e.g. a token request): gone
    await externalWrites(synced, 3, 399); // within 400 days: kept
    await externalWrites(pending, 2, 700); // record not final: kept
    await externalWrites(dead, 2, 700); // dead, awaiting an operator: kept

    const result = await runRetention(db, policy);

    expect(result).toEqual({
      ran: true,
      deleted: { processed_events: 24, external_writes: 14 },
      complete: true,
    });
    expect(await count(`erp_sync.processed_events WHERE tenant_id = 'ret'`)).toBe(5);
    expect(await count(`erp_sync.processed_events WHERE event_id LIKE 'old-%'`)).toBe(0);
    expect(await count(`erp_sync.processed_events WHERE event_id LIKE 'unmapped-dead-%'`)).toBe(1);
    expect(await count(`erp_sync.external_writes WHERE sync_record_id = $1`, [synced])).toBe(3);
    expect(await count(`erp_sync.external_writes WHERE sync_record_id IN ($1, $2)`, [pending, dead])).toBe(4);
    expect(await count(`erp_sync.external_writes WHERE sync_record_id IS NULL`)).toBe(0);
    expect(await count(`erp_sync.journal_lines WHERE external_id = 'ret-journal'`)).toBe(2);
    expect(await count(`erp_sync.sync_records WHERE tenant_id = 'ret'`)).toBe(5);
    expect(await count(`erp_sync.journals WHERE external_id = 'ret-journal'`)).toBe(1);

    // A second run finds nothing more to do.
    expect((await runRetention(db, policy)).deleted).toEqual({ processed_events: 0, external_writes: 0 });
  });

  it('stops after maxBatches statements and reports that expired rows remain', async () => {
    await processedEvents('backlog', 12, 60);
    const first = await runRetention(db, { ...policy, batchRows: 5, maxBatches: 2 });
    expect(first).toMatchObject({ ran: true, complete: false });
    expect(first.deleted.processed_events).toBe(10);
    const second = await runRetention(db, { ...policy, batchRows: 5, maxBatches: 2 });
    expect(second).toMatchObject({ ran: true, complete: true, deleted: { processed_events: 2 } });
  });

  it('runs one purge at a time: a held advisory lock makes a run (worker or CLI) delete nothing', async () => {
    await processedEvents('locked', 7, 45);
    const holder = db.createQueryRunner();
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(hashtext($1))', [RETENTION_LOCK]);
      expect(await runRetention(db, policy)).toMatchObject({
        ran: false,
        deleted: { processed_events: 0, external_writes: 0 },
      });
      const refused = cli(['retention', 'run'], env);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain('another run holds the lock');
      expect(await count(`erp_sync.processed_events WHERE event_id LIKE 'locked-%'`)).toBe(7);
    } finally {
      await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [RETENTION_LOCK]);
      await holder.release();
    }
    const done = cli(['retention', 'run'], env);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/^processed_events\t7 deleted \(older than 30 days\)$/m);
    expect(done.stdout).toMatch(/^external_writes\t0 deleted \(older than 400 days\)$/m);
  });

  it('two concurrent runs: exactly one works, the other finds the lock taken', async () => {
    await processedEvents('race', 300, 45);
    const slow = { ...policy, batchRows: 1 }; // 300 statements: the runs surely overlap
    const results = await Promise.all([runRetention(db, slow), runRetention(db, slow)]);
    expect(results.map((r) => r.ran).sort()).toEqual([false, true]);
    expect(results.reduce((s, r) => s + r.deleted.processed_events, 0)).toBe(300);
  });

  it('keeps the audit log append-only outside the purge: no UPDATE, no DELETE of young rows, none without the purge flag', async () => {
    await externalWrites(null, 1, 10);
    await externalWrites(null, 1, 500);
    await expect(
      db.query(`DELETE FROM erp_sync.external_writes WHERE at < now() - interval '450 days'`),
    ).rejects.toThrow(/append-only/);
    await expect(db.query(`UPDATE erp_sync.external_writes SET error = 'x'`)).rejects.toThrow(/append-only/);
    const q = db.createQueryRunner();
    await q.connect();
    try {
      await q.startTransaction();
      await q.query(`SELECT set_config('erp_sync.retention_purge', 'on', true)`);
      await expect(
        q.query(`DELETE FROM erp_sync.external_writes WHERE at > now() - interval '20 days'`),
      ).rejects.toThrow(/append-only/);
      await q.rollbackTransaction();
    } finally {
      await q.release();
    }
    await expect(runRetention(db, { ...policy, auditDays: 29 })).rejects.toThrow(/at least 30 days/);
    await expect(runRetention(db, { ...policy, processedEventsDays: 7 })).rejects.toThrow(/at least 8 days/);
  });

  it('refuses retention windows below their floors, naming the variable (CLI and worker)', () => {
    const tooShort = cli(['retention', 'run'], { ...env, ERP_SYNC_PROCESSED_EVENTS_RETENTION_DAYS: '7' });
    expect(tooShort.code).toBe(1);
    expect(tooShort.stderr).toContain('ERP_SYNC_PROCESSED_EVENTS_RETENTION_DAYS: must be at least 8 days');
    const auditShort = cli(['retention', 'run'], { ...env, ERP_SYNC_AUDIT_RETENTION_DAYS: '29' });
    expect(auditShort.code).toBe(1);
    expect(auditShort.stderr).toContain('ERP_SYNC_AUDIT_RETENTION_DAYS: must be at least 30 days');
    const worker = spawnSync(process.execPath, [path.join(ROOT, 'dist/out-tsc/apps/erp-sync/src/main.js')], {
      env: {
        ...process.env,
        ...env,
        ERP_SYNC_PROCESSED_EVENTS_RETENTION_DAYS: '3',
        ERP_SYNC_AUDIT_RETENTION_DAYS: 'soon',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(worker.status).toBe(1);
    expect(worker.stderr).toContain('erp-sync cannot start');
    expect(worker.stderr).toContain('ERP_SYNC_PROCESSED_EVENTS_RETENTION_DAYS: must be at least 8 days');
    expect(worker.stderr).toContain('ERP_SYNC_AUDIT_RETENTION_DAYS: expected a whole number of days');
  });
});
