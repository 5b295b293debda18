import { createDataSource } from '@saldo/postgres';
import type { DataSource } from 'typeorm';
import { MigratorSchema1768100000000 } from './migrations/1768100000000-migrator-schema';

/** Every migration of the migrator's own schema, in order. Append only. */
export const MIGRATOR_MIGRATIONS = [MigratorSchema1768100000000];

export const MIGRATOR_MIGRATION_LOCK = 'saldo:migrator:migrations';

export function createMigratorDataSource(url: string, poolSize: number): DataSource {
  return createDataSource({
    url,
    poolSize,
    applicationName: 'saldo-migrator',
    migrations: MIGRATOR_MIGRATIONS,
    migrationsTableName: 'migrator_migrations',
    statementTimeoutMs: 120_000,
    lockTimeoutMs: 10_000,
  });
}
