import { DataSource, type MigrationInterface } from 'typeorm';

export interface DataSourceOptions {
  readonly url: string;
  /** Shows in pg_stat_activity, e.g. "saldo-wallet-ledger". */
  readonly applicationName: string;
  readonly poolSize: number;
  readonly migrations?: ReadonlyArray<new () => MigrationInterface>;
  readonly migrationsTableName?: string;
  /** Upper bound for any single statement, so a stuck query cannot hold a connection forever. */
  readonly statementTimeoutMs?: number;
  /** Upper bound for waiting on a lock (lock_timeout); unset: wait as long as the statement may. */
  readonly lockTimeoutMs?: number;
}

/**
 * A TypeORM DataSource on the pg driver. Schema sync is off everywhere: the schema changes only
 * through reviewed migrations (see runMigrationsUnderLock).
 */
export function createDataSource(options: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    applicationName: options.applicationName,
    synchronize: false,
    migrationsRun: false,
    migrations: options.migrations ? [...options.migrations] : [],
    migrationsTableName: options.migrationsTableName ?? 'migrations',
    entities: [],
    // Failed queries are not logged here: callers map them to domain errors and log what matters.
    logging: ['warn', 'migration'],
    extra: {
      max: options.poolSize,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: options.statementTimeoutMs ?? 30_000,
      ...(options.lockTimeoutMs ? { options: `-c lock_timeout=${options.lockTimeoutMs}` } : {}),
    },
  });
}
