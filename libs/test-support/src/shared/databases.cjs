'use strict';
// PostgreSQL databases for a test run. One implementation, used by tools/scripts/test.mjs (the run's
// template and shared databases) and by @saldo/test-support (a private clone for one spec).
// Plain CommonJS for the same reason as emulators.cjs.
//
// Naming: every database of run <id> is `saldo_test_<id>` or starts with `saldo_test_<id>_`, so
// teardown drops them all by prefix. The run's base database carries a comment naming its owner
// process; a later run drops the databases of runs whose owner died without cleaning up.
const os = require('node:os');

const NAME_PREFIX = 'saldo_test_';
const NAME_MAX_CHARS = 63; // PostgreSQL truncates identifiers to 63 bytes
const CLONE_BUSY_RETRY_MS = 15_000; // a template briefly in use (e.g. just migrated) refuses clones
const OWNER_COMMENT_PREFIX = 'saldo-test owner=';

/** Admin connection to the `postgres` database, from PGHOST/PGPORT/PGUSER/PGPASSWORD or defaults. */
function adminConfigFromEnv(env = process.env) {
  return {
    host: env.PGHOST || '127.0.0.1',
    port: Number(env.PGPORT || 5432),
    user: env.PGUSER || 'postgres',
    password: env.PGPASSWORD || undefined,
    database: 'postgres',
  };
}

/** The admin connection (database `postgres`) on the server of a database URL. */
function adminConfigFromUrl(url) {
  const parsed = new URL(url);
  parsed.pathname = '/postgres';
  return { connectionString: parsed.toString() };
}

function databaseUrl(config, name) {
  const auth = config.password
    ? `${encodeURIComponent(config.user)}:${encodeURIComponent(config.password)}`
    : encodeURIComponent(config.user);
  return `postgres://${auth}@${config.host}:${config.port}/${name}`;
}

/** Replaces the database of a URL with another. */
function withDatabase(url, name) {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

function redactUrl(url) {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

function assertTestName(name) {
  if (!/^[a-z0-9_]+$/.test(name) || !name.startsWith(NAME_PREFIX) || name.length > NAME_MAX_CHARS) {
    throw new Error(
      `Refusing database name "${name}": expected ${NAME_PREFIX}[a-z0-9_]*, at most ${NAME_MAX_CHARS} chars`,
    );
  }
  return `"${name}"`; // safe to quote as is after the check above
}

async function withClient(config, fn) {
  // Loaded on first use: test.mjs imports this module before it may have to run `npm install`.
  const { Client } = require('pg');
  const client = new Client({ ...config, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function createDatabase(client, name, { template } = {}) {
  const sql = `CREATE DATABASE ${assertTestName(name)}${template ? ` TEMPLATE ${assertTestName(template)}` : ''}`;
  const deadline = Date.now() + CLONE_BUSY_RETRY_MS;
  for (;;) {
    try {
      await client.query(sql);
      return;
    } catch (error) {
      // 55006 object_in_use: "source database is being accessed by other users".
      if (error.code !== '55006' || Date.now() >= deadline) {
        throw new Error(
          `${sql} failed: ${error.message}${template ? ' (a template must have no connections)' : ''}`,
        );
      }
      await sleep(200);
    }
  }
}

/** Makes a migrated database a template nobody can connect to, so clones never find it busy. */
async function markTemplate(client, name) {
  await client.query(`ALTER DATABASE ${assertTestName(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
}

async function dropDatabase(client, name) {
  const quoted = assertTestName(name);
  const exists = await client.query('SELECT datistemplate FROM pg_database WHERE datname = $1', [name]);
  if (exists.rowCount === 0) return false;
  if (exists.rows[0].datistemplate) await client.query(`ALTER DATABASE ${quoted} WITH IS_TEMPLATE false`);
  await client.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [name],
  );
  await client.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
  return true;
}

/** Names of `base` and every database named `base_...`. */
async function listWithPrefix(client, base) {
  assertTestName(base);
  const like = `${base.replace(/_/g, '\\_')}\\_%`;
  const result = await client.query(
    'SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2 ORDER BY datname',
    [base, like],
  );
  return result.rows.map((row) => row.datname);
}

/** Drops `base` and every `base_...` database; returns the names dropped. */
async function dropWithPrefix(client, base) {
  const names = await listWithPrefix(client, base);
  // Clones first: the template goes last so nothing is cloned from a half-dropped run.
  names.sort((a, b) => Number(a.endsWith('_tpl')) - Number(b.endsWith('_tpl')));
  for (const name of names) await dropDatabase(client, name);
  return names;
}

function ownerTag(pid = process.pid) {
  return `${OWNER_COMMENT_PREFIX}${os.hostname()}:${pid}`;
}

const KEPT_TAG = 'saldo-test kept (SALDO_TEST_KEEP=1): drop by hand';

async function tagOwner(client, name, tag) {
  await client.query(`COMMENT ON DATABASE ${assertTestName(name)} IS '${tag.replace(/'/g, "''")}'`);
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Drops the databases of earlier runs on this host whose owner process is gone (killed before its
 * teardown). Runs kept with SALDO_TEST_KEEP=1 are tagged "kept" and left alone.
 */
async function reapOrphanedRuns(client) {
  const result = await client.query(
    `SELECT datname, shobj_description(oid, 'pg_database') AS note FROM pg_database WHERE datname LIKE 'saldo\\_test\\_%'`,
  );
  const reaped = [];
  for (const { datname, note } of result.rows) {
    const match = note && note.match(/^saldo-test owner=(.+):(\d+)$/);
    if (!match || match[1] !== os.hostname() || pidAlive(Number(match[2]))) continue;
    reaped.push(...(await dropWithPrefix(client, datname.replace(/_tpl$/, ''))));
  }
  return reaped;
}

module.exports = {
  NAME_PREFIX,
  NAME_MAX_CHARS,
  KEPT_TAG,
  adminConfigFromEnv,
  adminConfigFromUrl,
  databaseUrl,
  withDatabase,
  redactUrl,
  withClient,
  createDatabase,
  markTemplate,
  dropDatabase,
  dropWithPrefix,
  ownerTag,
  tagOwner,
  reapOrphanedRuns,
};
