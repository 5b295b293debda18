import 'reflect-metadata';
import { ConfigError, envSchemas, loadConfig } from '@saldo/config';
import { runMigrationsUnderLock } from '@saldo/postgres';
import { userInfo } from 'node:os';
import { z } from 'zod';
import { Accounts } from './auth/accounts';
import { AuditLog } from './auth/audit-log';
import { MIN_PASSWORD_CHARS } from './auth/passwords';
import { isRole, type Role } from './auth/roles';
import { CONSOLE_MIGRATION_LOCK, createConsoleDataSource } from './database/console-data-source';

const USAGE = `usage: console <command>

commands:
  migrate                              apply pending migrations of the console schema (advisory lock)
  create-admin --email E --tenant T    create the first admin (or reset that user's password) for
               [--tenant T2 ...]       each tenant given; the password is read from stdin (one
                                       line, at least ${MIN_PASSWORD_CHARS} characters) or CONSOLE_ADMIN_PASSWORD
  create-user --email E --role R       the same for a viewer, operator or admin of the tenants given
              --tenant T [...]
`;

const cliConfigSchema = z.object({
  DATABASE_URL: envSchemas.url('postgres://postgres@127.0.0.1:5432/saldo', ['postgres', 'postgresql']),
});

const options = (flags: string[], name: string) =>
  flags.flatMap((flag, i) => (flag === name && flags[i + 1] !== undefined ? [flags[i + 1] as string] : []));

async function readPassword(): Promise<string> {
  const fromEnv = process.env['CONSOLE_ADMIN_PASSWORD'];
  if (fromEnv) return fromEnv;
  if (process.stdin.isTTY) process.stderr.write('password (input is shown; prefer a pipe): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split('\n')[0]!.replace(/\r$/, '');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...flags] = argv;
  if (!command || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (!['migrate', 'create-admin', 'create-user'].includes(command)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const { DATABASE_URL } = loadConfig(cliConfigSchema);
  let role: Role = 'admin';
  const email = options(flags, '--email')[0];
  const tenants = options(flags, '--tenant');
  if (command !== 'migrate') {
    if (command === 'create-user') {
      const given = options(flags, '--role')[0];
      if (!isRole(given)) {
        process.stderr.write('console: --role is viewer, operator or admin\n');
        return 2;
      }
      role = given;
    }
    if (!email || tenants.length === 0) {
      process.stderr.write(USAGE);
      return 2;
    }
  }
  const db = await createConsoleDataSource(DATABASE_URL, 2).initialize();
  try {
    if (command === 'migrate') {
      const applied = await runMigrationsUnderLock(db, CONSOLE_MIGRATION_LOCK);
      process.stdout.write(
        applied.length
          ? `console: applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}\n`
          : 'console: database is up to date\n',
      );
      return 0;
    }
    const password = await readPassword();
    const accounts = new Accounts(db, 60);
    const user = await accounts.upsertUser({
      email: email!,
      password,
      tenants: tenants.map((tenantId) => ({ tenantId, role })),
    });
    const audit = new AuditLog(db);
    for (const tenantId of tenants)
      await audit.record(
        { userId: null, email: `cli:${process.env['USER'] ?? userInfo().username}` },
        {
          tenantId,
          action: user.created ? 'user.create' : 'user.update',
          target: email!.toLowerCase(),
          outcome: 'ok',
          detail: { role },
        },
      );
    process.stdout.write(
      `console: ${user.created ? 'created' : 'updated'} ${role} ${email!.toLowerCase()} for ${tenants.join(', ')}\n`,
    );
    return 0;
  } finally {
    await db.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `console: ${error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
