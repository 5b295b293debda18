// erp-sync in-process on a private database and the vendor stand-ins: the real store, mapping,
// connectors, limiters and worker; events are stored the way the Pub/Sub consumer stores them.
import { createLogger } from '@saldo/logging';
import { createTestDatabase, type TestDatabase } from '@saldo/test-support';
import { startStandins, type RunningStandins, type StartStandinsOptions } from '@saldo/vendor-standins';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { loadErpSyncConfig, type ErpSyncConfig } from '../src/config';
import { toIncoming } from '../src/consumer/ledger-events.consumer';
import { createErpSyncDataSource } from '../src/database/erp-sync-data-source';
import type { TenantsConfig } from '../src/mapping/tenant-config';
import { createConnectors, createWorker, crmConnectorsOf, type Connectors } from '../src/runtime';
import { SyncStore } from '../src/store/sync-store';
import type { SyncWorker } from '../src/sync/sync-worker';

export const ROOT = path.resolve(__dirname, '../../..');
export const ERP_SYNC_CLI = 'dist/out-tsc/apps/erp-sync/src/cli.js';

export interface SyncHarness {
  database: TestDatabase;
  db: DataSource;
  standins: RunningStandins;
  config: ErpSyncConfig;
  env: Record<string, string>;
  store: SyncStore;
  connectors: Connectors;
  worker: SyncWorker;
  tenants: TenantsConfig;
  ingest(events: ReadonlyArray<Record<string, unknown>>): Promise<{ fresh: number; duplicates: number }>;
  stop(): Promise<void>;
}

export async function startSyncHarness(
  label: string,
  tenants: TenantsConfig,
  env: Record<string, string>,
  standinOptions: StartStandinsOptions = {},
): Promise<SyncHarness> {
  const database = await createTestDatabase(label);
  const standins = await startStandins(standinOptions);
  const fullEnv: Record<string, string> = {
    DATABASE_URL: database.url,
    ERP_SYNC_TENANTS_JSON: JSON.stringify(tenants),
    ERP_SYNC_SUMMARY_DELAY_MS: '1',
    ERP_SYNC_BALANCE_DELAY_MS: '1',
    ERP_SYNC_POLL_INTERVAL_MS: '50',
    ERP_SYNC_RETRY_BASE_MS: '50',
    ERP_SYNC_RETRY_MAX_MS: '500',
    ERP_SYNC_BULK_POLL_MS: '100',
    LOG_LEVEL: 'silent',
    ...standins.env,
    ...env,
  };
  const config = loadErpSyncConfig(fullEnv);
  const db = await createErpSyncDataSource(database.url, 8).initialize();
  const store = new SyncStore(db);
  const connectors = createConnectors(config, store);
  const worker = createWorker(config, store, connectors, tenants, createLogger('erp-sync-test', 'silent'));
  const crm = crmConnectorsOf(connectors);
  const timing = {
    journalDelayMs: config.ERP_SYNC_SUMMARY_DELAY_MS,
    balanceDelayMs: config.ERP_SYNC_BALANCE_DELAY_MS,
  };
  return {
    database,
    db,
    standins,
    config,
    env: fullEnv,
    store,
    connectors,
    worker,
    tenants,
    ingest: async (events) => {
      let fresh = 0;
      let duplicates = 0;
      for (let i = 0; i < events.length; i += 500) {
        const batch = events.slice(i, i + 500).map((e) => toIncoming(JSON.stringify(e), tenants, crm));
        const result = await store.ingest(batch, timing);
        fresh += result.fresh;
        duplicates += result.duplicates;
      }
      return { fresh, duplicates };
    },
    stop: async () => {
      await worker.stop();
      await db.destroy();
      await standins.stop();
      await database.drop();
    },
  };
}

export function cli(
  args: string[],
  env: Record<string, string>,
): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [path.join(ROOT, ERP_SYNC_CLI), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export async function rows<T = Record<string, unknown>>(
  db: DataSource,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return db.query(sql, params);
}

/** The CLI without blocking this process (needed when it talks to the in-process stand-ins). */
export function cliAsync(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, ERP_SYNC_CLI), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
