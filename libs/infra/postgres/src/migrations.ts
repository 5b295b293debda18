import type { DataSource, Migration } from 'typeorm';

/**
 * Runs pending migrations while holding a PostgreSQL advisory lock, so several instances (or a
 * Job and a developer) starting at once apply each migration exactly once; the others wait, then
 * find nothing to do. Each migration runs in its own transaction.
 */
export async function runMigrationsUnderLock(dataSource: DataSource, lockName: string): Promise<Migration[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    // Wait for another migrator as long as it takes (the pool may set a short lock_timeout).
    await runner.query('SET lock_timeout = 0');
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [lockName]);
    try {
      return await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [lockName]);
    }
  } finally {
    await runner.release();
  }
}
