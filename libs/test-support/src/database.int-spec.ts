import { Client } from 'pg';
import { createTestDatabase } from './index';

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('createTestDatabase', () => {
  it('clones the run template into a private database and drops it', async () => {
    const shared = process.env['SALDO_TEST_DATABASE_URL'] ?? '';
    const runBase = (process.env['SALDO_TEST_TEMPLATE_DB'] ?? '').replace(/_tpl$/, '');
    const database = await createTestDatabase('Test Support: clone!');
    try {
      expect(database.name).toMatch(/^saldo_test_[a-z0-9]+_test_support_clone_[0-9a-f]{6}$/);
      expect(database.name.startsWith(`${runBase}_`)).toBe(true);
      const [row] = await query<{ db: string }>(database.url, 'SELECT current_database() AS db');
      expect(row?.db).toBe(database.name);
      // Same migrated schema as the shared database: both are clones of the run's template.
      const tables =
        "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1";
      expect(await query(database.url, tables)).toEqual(await query(shared, tables));
    } finally {
      await database.drop();
      await database.drop(); // idempotent
    }
    const left = await query(shared, 'SELECT 1 FROM pg_database WHERE datname = $1', [database.name]);
    expect(left).toHaveLength(0);
  });

  it('refuses to run outside `npm test`', async () => {
    const template = process.env['SALDO_TEST_TEMPLATE_DB'];
    delete process.env['SALDO_TEST_TEMPLATE_DB'];
    try {
      await expect(createTestDatabase('x')).rejects.toThrow(/SALDO_TEST_TEMPLATE_DB is not set.*npm test/);
    } finally {
      process.env['SALDO_TEST_TEMPLATE_DB'] = template;
    }
  });
});
