// A private PostgreSQL database for one spec, cloned from the run's migrated template.
// The SQL and naming rules live in ./shared/databases.cjs, shared with `npm test`.
import { randomBytes } from 'node:crypto';
import {
  NAME_MAX_CHARS,
  adminConfigFromUrl,
  createDatabase,
  dropDatabase,
  withClient,
  withDatabase,
} from './shared/databases.cjs';

export interface TestDatabase {
  /** Connection URL of the new database. */
  url: string;
  name: string;
  /** Terminates its connections and drops it. Safe to call twice. */
  drop(): Promise<void>;
}

const RANDOM_SUFFIX_CHARS = 6;

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: integration tests need the run's migrated template database. ` +
        'Run them with `npm test` (e.g. `npm test -- libs/test-support`), which creates it.',
    );
  }
  return value;
}

function databaseName(template: string, label: string): string {
  const base = template.replace(/_tpl$/, '');
  const suffix = randomBytes(8).toString('hex').slice(0, RANDOM_SUFFIX_CHARS);
  const room = NAME_MAX_CHARS - base.length - suffix.length - 2;
  const cleanLabel =
    label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, Math.max(0, room)) || 'db';
  return `${base}_${cleanLabel}_${suffix}`;
}

/**
 * Creates `<run database>_<label>_<random>` as a clone of SALDO_TEST_TEMPLATE_DB (migrated, with no
 * data of other specs). `npm test` drops it at the end of the run even if `drop()` is never called.
 */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const template = requireEnv('SALDO_TEST_TEMPLATE_DB');
  const sharedUrl = requireEnv('SALDO_TEST_DATABASE_URL');
  const admin = adminConfigFromUrl(sharedUrl);
  const name = databaseName(template, label);
  await withClient(admin, (client) => createDatabase(client, name, { template }));
  let dropped: Promise<void> | undefined;
  return {
    url: withDatabase(sharedUrl, name),
    name,
    drop: () => (dropped ??= withClient(admin, async (client) => void (await dropDatabase(client, name)))),
  };
}
