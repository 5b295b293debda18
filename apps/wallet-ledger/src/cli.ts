import 'reflect-metadata';
import { ConfigError, envSchemas, loadConfig } from '@saldo/config';
import { runMigrationsUnderLock } from '@saldo/postgres';
import { z } from 'zod';
import { createLedgerDataSource, LEDGER_MIGRATION_LOCK } from './database/ledger-data-source';
import { EVENTS_USAGE, eventsWorkerCommand, mirrorRebuildCommand } from './outbox/events-commands';
import { verifyLedger } from './verify/ledger-verifier';

const USAGE = `usage: wallet-ledger <command>

commands:
  migrate   apply pending database migrations (under an advisory lock; safe to run concurrently)
  verify    recompute every balance from the entries and check every ledger invariant
            (read-only, consistent snapshot); exits 1 when anything is violated. --json for scripts.
${EVENTS_USAGE}`;

const cliConfigSchema = z.object({
  DATABASE_URL: envSchemas.url('postgres://postgres@127.0.0.1:5432/saldo', ['postgres', 'postgresql']),
});

async function main(argv: string[]): Promise<number> {
  const [command, ...flags] = argv;
  if (!command || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'mirror-rebuild') return mirrorRebuildCommand(flags);
  if (command === 'events-worker') return eventsWorkerCommand();
  const config = loadConfig(cliConfigSchema);
  const db = await createLedgerDataSource(config.DATABASE_URL, 2).initialize();
  try {
    switch (command) {
      case 'migrate': {
        const applied = await runMigrationsUnderLock(db, LEDGER_MIGRATION_LOCK);
        process.stdout.write(
          applied.length
            ? `wallet-ledger: applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}\n`
            : 'wallet-ledger: database is up to date\n',
        );
        return 0;
      }
      case 'verify':
        return await verify(db, flags.includes('--json'));
      default:
        process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } finally {
    await db.destroy();
  }
}

async function verify(db: Parameters<typeof verifyLedger>[0], json: boolean): Promise<number> {
  const started = Date.now();
  const report = await verifyLedger(db, (check) => {
    if (json) return;
    const mark = check.violations.length ? 'FAIL' : 'ok  ';
    process.stdout.write(
      `${mark} ${check.name.padEnd(28)} ${String(check.checked).padStart(9)} checked  ${check.description}\n`,
    );
    for (const violation of check.violations) process.stdout.write(`       - ${violation}\n`);
  });
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const failed = report.checks.filter((check) => check.violations.length > 0).length;
    process.stdout.write(
      report.ok
        ? `ledger verified: ${report.checks.length} checks passed in ${Date.now() - started} ms\n`
        : `ledger verification FAILED: ${failed} of ${report.checks.length} checks found violations\n`,
    );
  }
  return report.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      error instanceof ConfigError
        ? `${error.message}\n`
        : `wallet-ledger: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
