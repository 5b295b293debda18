import 'reflect-metadata';
import { ConfigError, envSchemas, loadConfig } from '@saldo/config';
import { isLedgerError } from '@saldo/ledger-domain';
import { runMigrationsUnderLock } from '@saldo/postgres';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { parseExpiry, parseScopes, type ApiKeyScope } from './auth/scopes';
import { ApiKeyStore } from './auth/api-key.store';
import { KeyCipher } from './auth/key-crypto';
import { AGGREGATOR_MIGRATION_LOCK, createAggregatorDataSource } from './database/aggregator-data-source';

const USAGE = `usage: transaction-aggregator <command>

commands:
  migrate                       apply pending migrations of the aggregator schema (under an advisory lock)
  api-keys create --tenant <id> [--scope S]... [--expires 30d|<RFC 3339>]
                                create an API key for a tenant (scopes: wallets:read, wallets:write,
                                erp:resolve; default wallets:read + wallets:write); the key is printed once, only its hash
                                and an encrypted copy (for Pub/Sub signatures) are stored
  api-keys revoke <key id>      revoke a key at once (gRPC calls and Pub/Sub signatures with it fail)
  api-keys list [--tenant <id>] list keys (id, tenant, hint, created, revoked); never the keys
`;

const baseSchema = z.object({
  DATABASE_URL: envSchemas.url('postgres://postgres@127.0.0.1:5432/saldo', ['postgres', 'postgresql']),
});
const keysSchema = baseSchema.extend({ SALDO_KEY_ENCRYPTION_KEY: envSchemas.secret(32) });

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'migrate') {
    return withDb(loadConfig(baseSchema).DATABASE_URL, async (db) => {
      const applied = await runMigrationsUnderLock(db, AGGREGATOR_MIGRATION_LOCK);
      process.stdout.write(
        applied.length
          ? `transaction-aggregator: applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}\n`
          : 'transaction-aggregator: database is up to date\n',
      );
      return 0;
    });
  }
  if (command === 'api-keys') return apiKeys(rest);
  process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
  return 2;
}

async function apiKeys([sub, ...args]: string[]): Promise<number> {
  const config = loadConfig(keysSchema);
  const tenant = flag(args, '--tenant');
  return withDb(config.DATABASE_URL, async (db) => {
    const store = new ApiKeyStore(db, new KeyCipher(config.SALDO_KEY_ENCRYPTION_KEY));
    switch (sub) {
      case 'create': {
        if (!tenant) return usageError('api-keys create needs --tenant <id>');
        const scopeArgs = flags(args, '--scope');
        const expires = flag(args, '--expires');
        let options: { scopes?: ApiKeyScope[]; expiresAt?: Date };
        try {
          options = {
            ...(scopeArgs.length > 0 ? { scopes: parseScopes(scopeArgs.join(','), '--scope') } : {}),
            ...(expires ? { expiresAt: parseExpiry(expires, new Date(), '--expires') } : {}),
          };
        } catch (error) {
          return usageError((error as Error).message);
        }
        const created = await store.create(tenant, options);
        process.stdout.write(
          `key id: ${created.id}\ntenant: ${created.tenant}\nkey:    ${created.key}\nscopes: ${created.scopes.join(' ')}\n` +
            (created.expiresAt ? `expires: ${created.expiresAt.toISOString()}\n` : ''),
        );
        process.stderr.write('Store the key now: it is not shown again.\n');
        return 0;
      }
      case 'revoke': {
        const id = args.find((arg) => !arg.startsWith('--'));
        if (!id || !/^[0-9a-f-]{36}$/i.test(id)) return usageError('api-keys revoke needs a key id (a UUID)');
        if (!(await store.revoke(id))) {
          process.stderr.write(`no active key with id ${id}\n`);
          return 1;
        }
        process.stdout.write(`revoked ${id}\n`);
        return 0;
      }
      case 'list': {
        for (const key of await store.list(tenant)) {
          process.stdout.write(
            `${key.id}  ${key.tenant_id.padEnd(20)} ${key.key_hint.padEnd(9)} ${key.source.padEnd(4)} ${new Date(key.created_at).toISOString()}  ${key.revoked_at ? `revoked ${new Date(key.revoked_at).toISOString()}` : 'active'}  ${key.scopes.join(' ')}${key.expires_at ? `  expires ${new Date(key.expires_at).toISOString()}` : ''}\n`,
          );
        }
        return 0;
      }
      default:
        return usageError(`unknown api-keys command "${sub ?? ''}"`);
    }
  });
}

/** Every value of a repeatable flag (`--scope a --scope b`). */
function flags(args: string[], name: string): string[] {
  return args.flatMap((arg, at) => (arg === name && args[at + 1] ? [args[at + 1] as string] : []));
}

function flag(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

function usageError(message: string): number {
  process.stderr.write(`${message}\n\n${USAGE}`);
  return 2;
}

async function withDb(url: string, work: (db: DataSource) => Promise<number>): Promise<number> {
  const db = await createAggregatorDataSource(url, 2).initialize();
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message =
      error instanceof ConfigError || isLedgerError(error)
        ? error.message
        : error instanceof Error
          ? error.message
          : String(error);
    process.stderr.write(`transaction-aggregator: ${message}\n`);
    process.exit(1);
  },
);
