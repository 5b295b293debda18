// The aggregator's in-process caches (API keys, wallet rows) across two instances on one database:
// a revocation or a wallet change made anywhere takes effect at once on both, also when a
// notification was missed because an instance's listener connection was down.
import { status } from '@grpc/grpc-js';
import {
  Api,
  apiKey,
  cli,
  sql,
  startAggregator,
  startStack,
  tenantId,
  waitFor,
  type ServiceProcess,
  type Stack,
} from '@saldo/test-support';
import { randomUUID } from 'node:crypto';
import { Client as PgClient } from 'pg';

jest.setTimeout(90_000);

const TENANT = tenantId('agg-cache');
const KEY = apiKey();

let stack: Stack;
let second: { process: ServiceProcess; target: string };
let one: Api;
let two: Api;

beforeAll(async () => {
  stack = await startStack('agg_cache', { SALDO_API_KEYS: `${TENANT}=${KEY}` });
  second = await startAggregator(stack.env);
  one = new Api(stack.aggregatorTarget, KEY);
  two = new Api(second.target, KEY);
}, 180_000);

afterAll(async () => {
  one?.close();
  two?.close();
  await second?.process.stop();
  await stack?.stop();
});

/** A key of its own tenant from the operator CLI, already cached by both instances. */
async function warmKey(): Promise<{ key: string; keyId: string; walletId: string }> {
  const created = cli(['api-keys', 'create', '--tenant', tenantId('agg-cache-k')], stack.env);
  expect(created.code).toBe(0);
  const key = /key:\s+(\S+)/.exec(created.stdout)?.[1] as string;
  const keyId = /key id:\s+(\S+)/.exec(created.stdout)?.[1] as string;
  const opened = await one.call(
    'OpenWallet',
    { idempotencyKey: randomUUID(), ownerType: 'PERSONAL', ownerId: 'cache', currency: 'IDR' },
    key,
  );
  for (const api of [one, two]) {
    for (let i = 0; i < 3; i += 1) await api.call('GetWallet', { walletId: opened.walletId }, key);
  }
  return { key, keyId, walletId: opened.walletId };
}

async function listenerPids(): Promise<number[]> {
  const rows = await sql<{ pid: number }>(
    stack.database.url,
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
        AND application_name = 'saldo-transaction-aggregator-listen'`,
  );
  return rows.map((row) => row.pid);
}

describe('API keys cached in process', () => {
  it('a key revoked by the operator CLI is refused at once by both instances', async () => {
    const { key, keyId, walletId } = await warmKey();
    expect(cli(['api-keys', 'revoke', keyId], stack.env).code).toBe(0);
    for (const api of [one, two]) {
      expect((await api.fail('GetWallet', { walletId }, key)).code).toBe(status.UNAUTHENTICATED);
      expect(
        (await api.fail('TopUp', { idempotencyKey: randomUUID(), walletId, amount: '1' }, key)).code,
      ).toBe(status.UNAUTHENTICATED);
    }
  });

  it('a key revoked while an instance was not listening is refused once it listens again (the cache is reset)', async () => {
    const { key, walletId } = await warmKey();
    expect(await listenerPids()).toHaveLength(2);
    // Cut both listeners and revoke in the same breath: the NOTIFY reaches nobody.
    await sql(
      stack.database.url,
      `WITH cut AS (
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'saldo-transaction-aggregator-listen')
       UPDATE aggregator.api_keys SET revoked_at = now() WHERE key_hash = sha256(convert_to($1, 'UTF8'))
         AND (SELECT count(*) FROM cut) >= 0`,
      [key],
    );
    // Whether or not the listeners are back yet, the revoked key never works again.
    for (const api of [one, two]) {
      expect((await api.fail('GetWallet', { walletId }, key)).code).toBe(status.UNAUTHENTICATED);
    }
    await waitFor(async () => (await listenerPids()).length === 2, { timeoutMs: 20_000 });
    for (const api of [one, two]) {
      expect((await api.fail('GetWallet', { walletId }, key)).code).toBe(status.UNAUTHENTICATED);
    }
    // Listening again: a live key works on both, and a revocation reaches both at once.
    const live = await warmKey();
    expect(cli(['api-keys', 'revoke', live.keyId], stack.env).code).toBe(0);
    for (const api of [one, two]) {
      expect((await api.fail('GetWallet', { walletId: live.walletId }, live.key)).code).toBe(
        status.UNAUTHENTICATED,
      );
    }
  });

  it('a cached key needs no lookup: calls go through while aggregator.api_keys is locked', async () => {
    const { key, walletId } = await warmKey();
    const elapsedMs = await whileLocked(['aggregator.api_keys', 'aggregator.wallets'], async () => {
      for (const api of [one, two]) await api.call('GetWallet', { walletId }, key);
    });
    expect(elapsedMs).toBeLessThan(LOCK_HOLD_MS - 1_000);
  });
});

const LOCK_HOLD_MS = 8_000;

/**
 * Runs work while another session holds ACCESS EXCLUSIVE locks on the tables (even a SELECT
 * waits), released after LOCK_HOLD_MS; answers how long the work took.
 */
async function whileLocked(tables: string[], work: () => Promise<void>): Promise<number> {
  const holder = new PgClient({ connectionString: stack.database.url });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${tables.join(', ')} IN ACCESS EXCLUSIVE MODE`);
    const release = setTimeout(() => void holder.query('ROLLBACK').catch(() => undefined), LOCK_HOLD_MS);
    const started = Date.now();
    try {
      await work();
    } finally {
      clearTimeout(release);
      await holder.query('ROLLBACK').catch(() => undefined);
    }
    return Date.now() - started;
  } finally {
    await holder.end();
  }
}

describe('wallet rows cached in process', () => {
  it('a wallet changed in the database is read afresh by both instances', async () => {
    const opened = await one.call('OpenWallet', {
      idempotencyKey: randomUUID(),
      ownerType: 'PERSONAL',
      ownerId: 'meta',
      currency: 'IDR',
      metadata: { plan: 'basic' },
    });
    for (const api of [one, two]) {
      expect((await api.call('GetWallet', { walletId: opened.walletId })).metadata).toEqual({
        plan: 'basic',
      });
    }
    await sql(stack.database.url, `UPDATE aggregator.wallets SET metadata = '{"plan":"pro"}' WHERE id = $1`, [
      opened.walletId,
    ]);
    // NOTIFY is delivered at commit: both instances drop the row within milliseconds.
    await waitFor(
      async () => {
        const views = await Promise.all(
          [one, two].map((api) => api.call('GetWallet', { walletId: opened.walletId })),
        );
        return views.every((view) => view.metadata.plan === 'pro');
      },
      { timeoutMs: 2_000, intervalMs: 50, what: 'both instances to show the new metadata' },
    );
  });
});
