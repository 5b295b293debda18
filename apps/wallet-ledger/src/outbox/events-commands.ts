import { Firestore } from '@google-cloud/firestore';
import { loadConfig } from '@saldo/config';
import { createLogger } from '@saldo/logging';
import { Pool } from 'pg';
import { ledgerConfigSchema } from '../config';
import { FirestoreMirror } from '../mirror/firestore-mirror';
import { rebuildMirror } from '../mirror/mirror-rebuild';
import { startLedgerEventsRuntime } from './ledger-events-runtime';

const eventsConfigSchema = ledgerConfigSchema.omit({ LEDGER_SERVICE_TOKEN: true });

export const EVENTS_USAGE = `  mirror-rebuild [--name NAME] [--restart] [--page-size N]
            re-mirror every wallet from PostgreSQL to Firestore (idempotent; resumes the run NAME,
            default "default", after its last checkpoint; --restart begins again)
  events-worker
            run only the outbox relay and the Firestore mirror (and /metrics, /healthz, /readyz),
            until SIGTERM or SIGINT
`;

function flagValue(flags: readonly string[], name: string): string | undefined {
  const index = flags.indexOf(name);
  return index >= 0 ? flags[index + 1] : undefined;
}

function positive(flags: readonly string[], name: string, fallback: number, max: number): number {
  const raw = flagValue(flags, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new Error(`${name}: expected a whole number from 1 to ${max}, got '${raw}'`);
  return value;
}

export async function mirrorRebuildCommand(flags: readonly string[]): Promise<number> {
  const config = loadConfig(eventsConfigSchema);
  const name = flagValue(flags, '--name') ?? 'default';
  const pool = new Pool({
    connectionString: config.DATABASE_URL,
    max: 12,
    application_name: 'saldo-wallet-ledger-mirror-rebuild',
  });
  const firestore = new Firestore({ projectId: config.GOOGLE_CLOUD_PROJECT });
  const started = Date.now();
  try {
    const progress = await rebuildMirror({
      pool,
      mirror: new FirestoreMirror(firestore, config.LEDGER_MIRROR_TRANSACTIONS_KEPT),
      name,
      restart: flags.includes('--restart'),
      // A page is one snapshot read and one batch of Firestore writes.
      pageSize: positive(flags, '--page-size', 200, 1_000),
      onPage: (p) =>
        process.stdout.write(
          `mirror-rebuild ${p.name}: ${p.written} written, ${p.skipped} already current${p.finished ? ', done' : ''}\n`,
        ),
    });
    process.stdout.write(
      `mirror-rebuild ${name}: ${progress.resumedAfter ? `resumed after ${progress.resumedAfter}, ` : ''}` +
        `${progress.written} wallets written, ${progress.skipped} already current, in ${Date.now() - started} ms\n`,
    );
    return 0;
  } finally {
    await firestore.terminate();
    await pool.end();
  }
}

export async function eventsWorkerCommand(): Promise<number> {
  const config = loadConfig(eventsConfigSchema);
  const logger = createLogger('wallet-ledger-events', config.LOG_LEVEL);
  const runtime = await startLedgerEventsRuntime(config, logger);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await runtime.stop();
  return 0;
}
