import { createDataSource } from '@saldo/postgres';
import type { DataSource } from 'typeorm';
import { ConsoleSchema1767900000000 } from './migrations/1767900000000-console-schema';

/** Every migration of the Console (timestamps 17679000000NN), in order. Append only. */
export const CONSOLE_MIGRATIONS = [ConsoleSchema1767900000000];

export const CONSOLE_MIGRATION_LOCK = 'saldo:console:migrations';

export function createConsoleDataSource(url: string, poolSize: number): DataSource {
  return createDataSource({
    url,
    poolSize,
    applicationName: 'saldo-console',
    migrations: CONSOLE_MIGRATIONS,
    migrationsTableName: 'console_migrations',
    statementTimeoutMs: 15_000,
  });
}
