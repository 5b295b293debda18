import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigError } from '@saldo/config';
import {
  createMetricsRegistry,
  startObservabilityServer,
  type ObservabilityServer,
} from '@saldo/observability';
import { runMigrationsUnderLock } from '@saldo/postgres';
import { loadMigratorConfig, type MigratorConfig } from './config';
import { createMigratorDataSource, MIGRATOR_MIGRATION_LOCK } from './database/migrator-data-source';
import { LedgerGateway } from './ledger/ledger-gateway';
import { catchUp } from './run/catch-up';
import { DEFAULT_RUN_OPTIONS, MigrationRefused, type MigrationContext, type RunOptions } from './run/context';
import { cutover, rollback } from './run/cutover';
import { runImport } from './run/import';
import { MigrationMetrics } from './run/metrics';
import { MigrationStore, type MigrationRow } from './run/migration-store';
import { plan } from './run/plan';
import { verify } from './run/verify';
import { LegacySimulator } from './simulator/simulator';
import { MappingError } from './source/mapping';
import { describeSourceSpec, loadMapping, openSource } from './source/open-source';
import { formatReport } from './run/format';

const USAGE = `usage: migrator <command> [options]      (also: npx saldo migrate <command> …)

Moves a tenant's wallets from a legacy wallet system into Saldo while the legacy system keeps
serving: plan, import, catch up, verify, cut over (or roll back). See docs/migration.md.

commands:
  migrate                         apply pending migrations of the migrator's schema (advisory lock)
  plan     --tenant T --source S  what an import would do: wallets per model and currency, totals,
                                  unmappable records with reasons, a time estimate; writes nothing
  import   --tenant T --source S  open the tenant's migration (or resume it) and import every wallet
           [--migration ID]       with its balance at the import cursor; resumable after kill -9
  catch-up --tenant T --source S  replay legacy changes after the cursor, in order; --follow keeps
           [--follow]             going (until SIGINT/SIGTERM) with /metrics on --metrics-port
  verify   --tenant T --source S  catch up, then compare every wallet at the same cursor, and totals
  cutover  --tenant T --source S  freeze the legacy writes, final catch-up and verify, then open the
           [--source-frozen]      wallets in Saldo (--source-frozen: you froze it by its own means)
  rollback --tenant T --source S  before cutover: reverse every posting of the migration (one
                                  operation, nothing deleted) and open the wallets again
  status   --tenant T | --migration ID      where a migration is: state, counts, lag, last verify
  simulator seed --database URL --wallets N [--unmappable N]   the legacy simulator's schema and data
  simulator run --database URL [--rate N] [--duration S]       keep taking writes (until stopped)
  simulator freeze on|off --database URL                       the legacy write freeze by hand

options:
  --source S          ${describeSourceSpec()}
  --mapping M         a mapping JSON file (docs/migration.md), or "simulator" (default)
  --rate N            wallets (import) or changes (catch-up) per second at most; 0 = unthrottled
  --concurrency N     ledger calls in flight (default ${DEFAULT_RUN_OPTIONS.concurrency})
  --page-size N       legacy records per page (default ${DEFAULT_RUN_OPTIONS.pageSize})
  --metrics-port P    serve /metrics /healthz while the step runs (0: a free port)
  --json              one JSON document on stdout; progress stays on stderr
  --quiet             no progress lines

environment: DATABASE_URL (Saldo's database), MIGRATOR_LEDGER_TARGET (the wallet-ledger, default
127.0.0.1:50052), LEDGER_SERVICE_TOKEN.
exit codes: 0 done, 1 refused or differences found, 2 a mistake on the command line.
`;

const OPTIONS = {
  tenant: { type: 'string' },
  source: { type: 'string' },
  mapping: { type: 'string' },
  migration: { type: 'string' },
  rate: { type: 'string' },
  concurrency: { type: 'string' },
  'page-size': { type: 'string' },
  'metrics-port': { type: 'string' },
  follow: { type: 'boolean' },
  'source-frozen': { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  database: { type: 'string' },
  wallets: { type: 'string' },
  unmappable: { type: 'string' },
  duration: { type: 'string' },
  help: { type: 'boolean' },
} as const;

class UsageError extends Error {}

type Flags = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function intFlag(flags: Flags, name: keyof Flags, fallback: number, min: number, max: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}`);
  return n;
}

function required(flags: Flags, name: 'tenant' | 'source' | 'database'): string {
  const value = flags[name];
  if (!value) throw new UsageError(`--${name} is required`);
  return value;
}

function runOptions(flags: Flags): RunOptions {
  return {
    pageSize: intFlag(flags, 'page-size', DEFAULT_RUN_OPTIONS.pageSize, 1, 10_000),
    concurrency: intFlag(flags, 'concurrency', DEFAULT_RUN_OPTIONS.concurrency, 1, 256),
    ratePerSecond: intFlag(flags, 'rate', 0, 0, 1_000_000),
    quiet: Boolean(flags.quiet),
  };
}

const json = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);

function print(flags: Flags, kind: string, value: unknown): void {
  process.stdout.write(flags.json ? `${json(value)}\n` : formatReport(kind, value));
}

async function withContext<T>(
  flags: Flags,
  config: MigratorConfig,
  work: (ctx: MigrationContext) => Promise<T>,
): Promise<T> {
  const mapping = loadMapping(flags.mapping);
  const source = openSource(required(flags, 'source'), mapping);
  const store = new MigrationStore(config.DATABASE_URL, 4);
  if (!config.LEDGER_SERVICE_TOKEN)
    throw new ConfigError(['LEDGER_SERVICE_TOKEN: is required for this command (it is not set)']);
  const ledger = new LedgerGateway(
    config.MIGRATOR_LEDGER_TARGET,
    config.LEDGER_SERVICE_TOKEN,
    config.MIGRATOR_LEDGER_DEADLINE_MS,
  );
  let server: ObservabilityServer | undefined;
  let metrics: MigrationMetrics | undefined;
  if (flags['metrics-port'] !== undefined) {
    const registry = createMetricsRegistry('migrator');
    metrics = new MigrationMetrics(registry);
    server = await startObservabilityServer({
      host: '127.0.0.1',
      port: intFlag(flags, 'metrics-port', 0, 0, 65_535),
      registry,
      readiness: [],
    });
    process.stderr.write(`migrator: /metrics on ${server.url}/metrics\n`);
  }
  try {
    await source.connect();
    return await work({ store, ledger, source, mapping, options: runOptions(flags), metrics });
  } finally {
    await server?.close();
    await source.close();
    ledger.close();
    await store.close();
  }
}

async function migrationOf(ctx: MigrationContext, flags: Flags): Promise<MigrationRow> {
  const row = flags.migration
    ? await ctx.store.find({ id: flags.migration })
    : await ctx.store.find({ tenant: required(flags, 'tenant') });
  if (!row) throw new MigrationRefused(`no migration for ${flags.migration ?? `tenant ${flags.tenant}`}`);
  return row;
}

function abortOnSignals(): AbortController {
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());
  return controller;
}

async function main(argv: string[]): Promise<number> {
  const { values: flags, positionals } = parse(argv);
  const [command, sub, arg] = positionals;
  if (!command || flags.help || command === 'help') {
    process.stdout.write(USAGE);
    return command || flags.help ? 0 : 2;
  }
  if (command === 'simulator') return simulator(flags, sub, arg);
  const config = loadMigratorConfig();
  switch (command) {
    case 'migrate': {
      const db = await createMigratorDataSource(config.DATABASE_URL, 2).initialize();
      try {
        const applied = await runMigrationsUnderLock(db, MIGRATOR_MIGRATION_LOCK);
        process.stdout.write(
          applied.length
            ? `migrator: applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}\n`
            : 'migrator: database is up to date\n',
        );
        return 0;
      } finally {
        await db.destroy();
      }
    }
    case 'plan': {
      const mapping = loadMapping(flags.mapping);
      const source = openSource(required(flags, 'source'), mapping);
      await source.connect();
      try {
        print(flags, 'plan', await plan(required(flags, 'tenant'), source, mapping, runOptions(flags)));
        return 0;
      } finally {
        await source.close();
      }
    }
    case 'import':
      return withContext(flags, config, async (ctx) => {
        const controller = abortOnSignals();
        print(
          flags,
          'import',
          await runImport(ctx, required(flags, 'tenant'), flags.migration, controller.signal),
        );
        return 0;
      });
    case 'catch-up':
      return withContext(flags, config, async (ctx) => {
        const row = await migrationOf(ctx, flags);
        const controller = abortOnSignals();
        print(
          flags,
          'catch-up',
          await catchUp(ctx, row.id, { follow: flags.follow, signal: controller.signal }),
        );
        return 0;
      });
    case 'verify':
      return withContext(flags, config, async (ctx) => {
        const report = await verify(ctx, (await migrationOf(ctx, flags)).id);
        print(flags, 'verify', report);
        return report.ok ? 0 : 1;
      });
    case 'cutover':
      return withContext(flags, config, async (ctx) => {
        print(
          flags,
          'cutover',
          await cutover(ctx, (await migrationOf(ctx, flags)).id, { sourceFrozen: flags['source-frozen'] }),
        );
        return 0;
      });
    case 'rollback':
      return withContext(flags, config, async (ctx) => {
        print(flags, 'rollback', await rollback(ctx, (await migrationOf(ctx, flags)).id));
        return 0;
      });
    case 'status':
      return status(flags, config);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function status(flags: Flags, config: MigratorConfig): Promise<number> {
  const store = new MigrationStore(config.DATABASE_URL, 2);
  try {
    const row = flags.migration
      ? await store.find({ id: flags.migration })
      : await store.find({ tenant: required(flags, 'tenant') });
    if (!row) throw new MigrationRefused(`no migration for ${flags.migration ?? `tenant ${flags.tenant}`}`);
    const counts = await store.counts(row.id);
    const lagChanges = Math.max(0, Number(BigInt(row.source_cursor) - BigInt(row.applied_cursor)));
    print(flags, 'status', {
      migrationId: row.id,
      tenant: row.tenant_id,
      state: row.state,
      source: row.source,
      importCursor: row.import_cursor,
      importPhase: row.import_phase,
      wallets: { planned: Number(row.wallets_planned), ...counts },
      appliedCursor: row.applied_cursor,
      sourceCursor: row.source_cursor,
      lagChanges,
      changes: { applied: Number(row.changes_applied), skipped: Number(row.changes_skipped) },
      unmappable: await store.unmappedList(row.id, 20),
      lastVerify: row.last_verify,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      finishedAt: row.finished_at,
    });
    return 0;
  } finally {
    await store.close();
  }
}

async function simulator(flags: Flags, sub: string | undefined, arg: string | undefined): Promise<number> {
  const sim = new LegacySimulator(required(flags, 'database'));
  try {
    switch (sub) {
      case 'seed': {
        const wallets = intFlag(flags, 'wallets', 1_000, 1, 50_000_000);
        await sim.seed(wallets, intFlag(flags, 'unmappable', 0, 0, 1_000_000));
        print(flags, 'simulator', await sim.totals());
        return 0;
      }
      case 'run': {
        const controller = abortOnSignals();
        const duration = intFlag(flags, 'duration', 0, 0, 86_400);
        if (duration) setTimeout(() => controller.abort(), duration * 1000).unref();
        const stats = await sim.run({
          ratePerSecond: intFlag(flags, 'rate', 50, 1, 100_000),
          signal: controller.signal,
        });
        print(flags, 'simulator', stats);
        return 0;
      }
      case 'freeze':
        if (arg !== 'on' && arg !== 'off') throw new UsageError('simulator freeze on|off');
        await sim.setFreeze(arg === 'on');
        print(flags, 'simulator', { writeFreeze: arg === 'on' });
        return 0;
      default:
        throw new UsageError('simulator seed | run | freeze');
    }
  } finally {
    await sim.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`migrator: ${error.message}\n(see migrator --help)\n`);
      process.exitCode = 2;
    } else if (
      error instanceof MigrationRefused ||
      error instanceof MappingError ||
      error instanceof ConfigError
    ) {
      process.stderr.write(`migrator: ${error.message}\n`);
      if (error instanceof MigrationRefused && error.report !== undefined)
        process.stdout.write(`${json(error.report)}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(
        `migrator: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
