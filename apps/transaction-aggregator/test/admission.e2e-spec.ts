// Issue 11 #3 on the real processes: one tenant's burst (400 concurrent calls, a quarter of them
// TopUps) against a small aggregator. Its excess is refused at once with RESOURCE_EXHAUSTED and a
// retry-after-ms trailer (never INTERNAL/UNKNOWN, never a pool timeout); every TopUp answered OK
// is in the ledger once and no refused one is; another tenant's GetWallet on its own channel stays
// within a few times its idle latency. The per-tenant rate is shared by two aggregator instances
// through Redis (rate-limiter-flexible).
import { status } from '@grpc/grpc-js';
import Redis from 'ioredis';
import {
  Api,
  apiKey,
  sql,
  startAggregator,
  startStack,
  tenantId,
  type CallError,
  type ServiceProcess,
  type Stack,
} from '@saldo/test-support';

const A = tenantId('burst');
const B = tenantId('quiet');
const KEY_A = apiKey();
const KEY_B = apiKey();
const RATE_PER_S = 150;

let stack: Stack;
let second: ServiceProcess | undefined;
let apiA: Api;
let apiB: Api;

beforeAll(async () => {
  stack = await startStack('agg_admission', {
    SALDO_API_KEYS: `${A}=${KEY_A},${B}=${KEY_B}`,
    AGGREGATOR_DB_POOL_SIZE: '12',
    AGGREGATOR_MAX_IN_FLIGHT: '16',
    AGGREGATOR_KEY_MAX_IN_FLIGHT: '6',
    AGGREGATOR_TENANT_RATE_PER_S: String(RATE_PER_S),
  });
  apiA = new Api(stack.aggregatorTarget, KEY_A);
  apiB = new Api(stack.aggregatorTarget, KEY_B);
}, 120_000);

afterAll(async () => {
  apiA?.close();
  apiB?.close();
  await second?.stop();
  await stack?.stop();
});

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function open(api: Api, key: string): Promise<string> {
  const wallet = await api.call('OpenWallet', {
    idempotencyKey: key,
    ownerType: 'PERSONAL',
    ownerId: key,
    currency: 'USD',
    metadata: {},
  });
  return wallet.walletId as string;
}

it("a tenant's burst is refused fast with retry-after, and another tenant keeps its latency", async () => {
  const walletA = await open(apiA, 'burst-open');
  const walletB = await open(apiB, 'quiet-open');
  await new Promise((resolve) => setTimeout(resolve, 1_100)); // a fresh rate window
  const idle: number[] = [];
  for (let i = 0; i < 9; i += 1) idle.push(await timed(() => apiB.call('GetWallet', { walletId: walletB })));

  const burst = Array.from({ length: 400 }, (_, i) => {
    const request =
      i % 4 === 0
        ? apiA.call('TopUp', { idempotencyKey: `burst-${i}`, walletId: walletA, amount: '1', metadata: {} })
        : apiA.call('GetWallet', { walletId: walletA });
    return request.then(
      () => ({ i, ok: true as const }),
      (error: CallError) => ({ i, ok: false as const, error }),
    );
  });
  const during: number[] = [];
  for (let i = 0; i < 9; i += 1)
    during.push(await timed(() => apiB.call('GetWallet', { walletId: walletB })));
  const answers = await Promise.all(burst);

  const refused = answers.filter((a) => !a.ok).map((a) => (a as { error: CallError }).error);
  expect(refused.filter((e) => e.code === status.INTERNAL || e.code === status.UNKNOWN)).toEqual([]);
  expect(refused.length).toBeGreaterThan(0);
  for (const error of refused) {
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(error.retryAfterMs).toBeGreaterThan(0);
  }
  // The quiet tenant: a few times its idle latency at most (plus a little for a shared 2-core box).
  console.log(
    `admission: idle p50 ${median(idle).toFixed(1)} ms, during burst p50 ${median(during).toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms; burst ${answers.length - refused.length} ok, ${refused.length} refused`,
  );
  expect(median(during)).toBeLessThan(5 * median(idle) + 100);

  // Exactly the TopUps answered OK are in the ledger; the refused ones left no trace.
  const okKeys = new Set(answers.filter((a) => a.ok && a.i % 4 === 0).map((a) => `burst-${a.i}`));
  const posted = await sql<{ k: string }>(
    stack.database.url,
    `SELECT regexp_replace(idempotency_key, '^agg:([a-z-]+:)?', '') AS k FROM ledger.transactions WHERE tenant_id = $1 AND idempotency_key LIKE '%burst-%'`,
    [A],
  );
  expect(new Set(posted.map((r) => r.k))).toEqual(okKeys);
  const journal = await sql<{ n: string }>(
    stack.database.url,
    `SELECT count(*)::text AS n FROM aggregator.operations WHERE tenant_id = $1 AND idempotency_key LIKE 'burst-%'`,
    [A],
  );
  expect(Number(journal[0]?.n)).toBe(okKeys.size);
}, 120_000);

it('the per-tenant rate is counted in Redis, shared by two instances', async () => {
  const started = await startAggregator(stack.env);
  second = started.process;
  const two = new Api(started.target, KEY_B);
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  try {
    const walletB = await open(apiB, 'quiet-open-2');
    let shared = false;
    for (let attempt = 0; attempt < 5 && !shared; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1_050 - (Date.now() % 1_000))); // early in a window
      await Promise.all([
        ...Array.from({ length: 5 }, () => apiB.call('GetWallet', { walletId: walletB })),
        ...Array.from({ length: 5 }, () => two.call('GetWallet', { walletId: walletB })),
      ]);
      const counted = Number(await redis.get(`saldo:aggregator:rate:${B}`));
      shared = counted >= 10;
    }
    expect(shared).toBe(true);
  } finally {
    two.close();
    redis.disconnect();
  }
}, 90_000);
