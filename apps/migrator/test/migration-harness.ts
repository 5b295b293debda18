// Test harness of the migrator: a legacy simulator database, Saldo's database, the real ledger
// process, and the migrator's steps in process (the built CLI is driven by the e2e spec).
import {
  createTestDatabase,
  SERVICE_TOKEN,
  startLedger,
  type ServiceProcess,
  type TestDatabase,
} from '@saldo/test-support';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { LedgerGateway } from '../src/ledger/ledger-gateway';
import { DEFAULT_RUN_OPTIONS, type MigrationContext, type RunOptions } from '../src/run/context';
import { MigrationStore } from '../src/run/migration-store';
import { LegacySimulator } from '../src/simulator/simulator';
import { SIMULATOR_MAPPING } from '../src/simulator/simulator-schema';
import type { LegacySource } from '../src/source/legacy-source';
import { PostgresSource } from '../src/source/postgres-source';

const run = promisify(execFile);
export const ROOT = path.resolve(__dirname, '../../..');
export const MIGRATOR_CLI = path.join(ROOT, 'dist/out-tsc/apps/migrator/src/cli.js');
export const LEDGER_CLI = path.join(ROOT, 'dist/out-tsc/apps/wallet-ledger/src/cli.js');

export interface Harness {
  saldo: TestDatabase;
  legacy: TestDatabase;
  simulator: LegacySimulator;
  ledger: ServiceProcess;
  ledgerTarget: string;
  context(options?: Partial<RunOptions>, source?: LegacySource): Promise<MigrationContext>;
  stop(): Promise<void>;
}

export async function startHarness(label: string, wallets: number, unmappable = 0): Promise<Harness> {
  const saldo = await createTestDatabase(`${label}_saldo`);
  // The legacy system's own database (a clone of the template carries Saldo's schemas too; the
  // simulator only ever touches its own `legacy` schema).
  const legacy = await createTestDatabase(`${label}_legacy`);
  const simulator = new LegacySimulator(legacy.url);
  await simulator.seed(wallets, unmappable);
  const ledger = await startLedger(saldo.url, { startTimeoutMs: 120_000 });
  const opened: Array<{ close(): unknown }> = [];
  return {
    saldo,
    legacy,
    simulator,
    ledger: ledger.process,
    ledgerTarget: ledger.target,
    async context(options = {}, source?: LegacySource) {
      const store = new MigrationStore(saldo.url, 4);
      const gateway = new LedgerGateway(ledger.target, SERVICE_TOKEN);
      const legacySource = source ?? new PostgresSource(legacy.url, SIMULATOR_MAPPING);
      await legacySource.connect();
      opened.push(
        { close: () => store.close() },
        { close: () => gateway.close() },
        { close: () => legacySource.close() },
      );
      return {
        store,
        ledger: gateway,
        source: legacySource,
        mapping: SIMULATOR_MAPPING,
        options: { ...DEFAULT_RUN_OPTIONS, quiet: true, ...options },
      };
    },
    async stop() {
      for (const o of opened.reverse()) await o.close();
      await simulator.close();
      await ledger.process.stop();
      await saldo.drop();
      await legacy.drop();
    },
  };
}

/** `ledger verify` on a database: every ledger invariant (exit 0) or the violations. */
export async function ledgerVerify(url: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [LEDGER_CLI, 'verify'], {
      env: { ...process.env, DATABASE_URL: url },
    });
    return { code: 0, output: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: `${e.stdout}${e.stderr}` };
  }
}
