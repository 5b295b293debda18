// Issue 11 #1 and #2 on the real processes: the aggregator reaches its PostgreSQL through a TCP
// proxy the spec breaks (refused, reset, swallowed), and a write whose journal update dies after
// the ledger committed (the backend is terminated inside complete()). Every answer must be
// UNAVAILABLE/ABORTED with "retry with the same idempotency key", never INTERNAL or UNKNOWN, and
// the retry with the same key must converge on exactly one ledger transaction.
import { status } from '@grpc/grpc-js';
import {
  aggregatorEnv,
  Api,
  apiKey,
  createTestDatabase,
  sql,
  startAggregator,
  startLedger,
  startTcpProxy,
  tenantId,
  type CallError,
  type ServiceProcess,
  type TcpProxy,
  type TestDatabase,
} from '@saldo/test-support';

const TENANT = tenantId('faults');
const KEY = apiKey();

let database: TestDatabase;
let proxy: TcpProxy;
let ledger: ServiceProcess;
let aggregator: ServiceProcess;
let api: Api;

beforeAll(async () => {
  database = await createTestDatabase('agg_faults');
  const url = new URL(database.url);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  const started = await startLedger(database.url);
  ledger = started.process;
  const agg = await startAggregator(
    aggregatorEnv(proxy.url(database.url), started.target, {
      SALDO_API_KEYS: `${TENANT}=${KEY}`,
      AGGREGATOR_DB_POOL_SIZE: '4',
    }),
  );
  aggregator = agg.process;
  api = new Api(agg.target, KEY);
}, 120_000);

afterAll(async () => {
  api?.close();
  await aggregator?.stop();
  await ledger?.stop();
  await proxy?.close();
  await database?.drop();
}, 60_000); // stopping two services on a busy machine takes more than Jest's default 5 s

async function outcome(method: string, request: Record<string, unknown>): Promise<CallError | 'OK'> {
  try {
    await api.call(method, request);
    return 'OK';
  } catch (error) {
    return error as CallError;
  }
}

function expectRetryable(answer: CallError | 'OK'): void {
  expect(answer).not.toBe('OK');
  const error = answer as CallError;
  expect([status.UNAVAILABLE, status.ABORTED]).toContain(error.code);
  expect(error.message).toMatch(/retry with the same idempotency key/);
}

async function openWallet(key: string): Promise<string> {
  const wallet = await api.call('OpenWallet', {
    idempotencyKey: key,
    ownerType: 'PERSONAL',
    ownerId: key,
    currency: 'USD',
    metadata: {},
  });
  return wallet.walletId as string;
}

it('PostgreSQL refusing connections: every call that needs it is UNAVAILABLE, then recovers', async () => {
  const walletId = await openWallet('open-refused');
  await proxy.setMode('refuse');
  try {
    const answers = await Promise.all([
      outcome('GetWallet', { walletId }),
      outcome('OpenWallet', {
        idempotencyKey: 'open-during',
        ownerType: 'PERSONAL',
        ownerId: 'x',
        currency: 'USD',
        metadata: {},
      }),
    ]);
    for (const answer of answers) expectRetryable(answer);
    // A plain top-up needs no aggregator database (key and wallet cached, no journal): it may go
    // through during the outage, or be refused as retryable; never anything else.
    const topUp = await outcome('TopUp', {
      idempotencyKey: 'top-refused',
      walletId,
      amount: '100',
      metadata: {},
    });
    if (topUp !== 'OK') expectRetryable(topUp);
  } finally {
    await proxy.setMode('forward');
  }
  // The same key after the outage: done exactly once.
  const done = await api.call('TopUp', {
    idempotencyKey: 'top-refused',
    walletId,
    amount: '100',
    metadata: {},
  });
  expect(done.transactionId).toBeTruthy();
  const read = await api.call('GetWallet', { walletId });
  expect(read.postedBalance).toBe('100');
}, 60_000);

it('connections reset under load (a restart) and a pool that cannot connect: retryable answers only', async () => {
  const walletId = await openWallet('open-reset');
  const calls: Array<Promise<CallError | 'OK'>> = [];
  for (let i = 0; i < 40; i += 1) {
    calls.push(outcome('TopUp', { idempotencyKey: `reset-${i}`, walletId, amount: '1', metadata: {} }));
    if (i === 10) proxy.resetConnections();
    if (i === 20) await proxy.setMode('blackhole');
  }
  const answers = await Promise.all(calls);
  await proxy.setMode('forward');
  proxy.resetConnections();
  for (const answer of answers) if (answer !== 'OK') expectRetryable(answer);
  // Every key retried: each posts exactly once.
  for (let i = 0; i < 40; i += 1) {
    await api.call('TopUp', { idempotencyKey: `reset-${i}`, walletId, amount: '1', metadata: {} });
  }
  expect((await api.call('GetWallet', { walletId })).postedBalance).toBe('40');
}, 90_000);

it('committed by the ledger, then the journal update is cut: UNAVAILABLE, and the retry returns the one transaction', async () => {
  const walletId = await openWallet('open-unknown');
  await api.call('TopUp', { idempotencyKey: 'fund-unknown', walletId, amount: '1000', metadata: {} });
  // The aggregator's backend is terminated exactly when it records the completion of this key.
  await sql(
    database.url,
    `CREATE FUNCTION aggregator.faults_cut() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF NEW.idempotency_key = 'use-unknown' AND NEW.state = 'completed' THEN
         PERFORM pg_terminate_backend(pg_backend_pid());
       END IF;
       RETURN NEW;
     END $$`,
  );
  await sql(
    database.url,
    `CREATE TRIGGER faults_cut BEFORE INSERT OR UPDATE ON aggregator.operations FOR EACH ROW EXECUTE FUNCTION aggregator.faults_cut()`,
  );
  let answer: CallError | 'OK';
  try {
    // A usage: journalled after its ledger batch (a plain top-up has no journal row to cut).
    answer = await outcome('BookUsage', {
      idempotencyKey: 'use-unknown',
      walletId,
      amount: '700',
      metadata: {},
    });
  } finally {
    await sql(database.url, `DROP TRIGGER faults_cut ON aggregator.operations`);
  }
  expect(answer).not.toBe('OK');
  expect((answer as CallError).code).toBe(status.UNAVAILABLE);
  expect((answer as CallError).message).toMatch(/may have been applied; retry with the same idempotency key/);
  const posted = await sql<{ n: string }>(
    database.url,
    `SELECT count(*)::text AS n FROM ledger.transactions WHERE tenant_id = $1 AND idempotency_key LIKE $2`,
    [TENANT, 'agg:%use-unknown'],
  );
  expect(posted[0]?.n).toBe('1');

  const retried = await api.call('BookUsage', {
    idempotencyKey: 'use-unknown',
    walletId,
    amount: '700',
    metadata: {},
  });
  const again = await api.call('BookUsage', {
    idempotencyKey: 'use-unknown',
    walletId,
    amount: '700',
    metadata: {},
  });
  expect(again.transactionId).toBe(retried.transactionId);
  expect(again.replayed).toBe(true);
  const journal = await sql<{ state: string }>(
    database.url,
    `SELECT state FROM aggregator.operations WHERE tenant_id = $1 AND idempotency_key = 'use-unknown'`,
    [TENANT],
  );
  expect(journal[0]?.state).toBe('completed');
  expect(await api.call('GetWallet', { walletId })).toMatchObject({
    postedBalance: '300',
    periodSpent: '700',
  });
}, 60_000);
