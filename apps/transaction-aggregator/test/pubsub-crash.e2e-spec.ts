// A Pub/Sub message whose consumer dies (kill -9) after the ledger committed its posting but
// before the outcome was published and the message acked: the redelivery, taken by a fresh
// aggregator, posts nothing new and publishes the original transaction. No test hook in the
// aggregator: a TCP proxy between it and the ledger withholds the ledger's answer, so the crash
// lands exactly in that window.
import { PubSub } from '@google-cloud/pubsub';
import {
  createTestDatabase,
  startPubSubEmulator,
  waitFor,
  type ServiceProcess,
  type TestDatabase,
  type TestEmulator,
  aggregatorEnv,
  Api,
  apiKey,
  sql,
  startAggregator,
  startLedger,
  tenantId,
} from '@saldo/test-support';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Collector, publishAction, uniqueTopics } from './pubsub-harness';

jest.setTimeout(120_000);

/** Forwards TCP both ways until frozen; then the server's bytes are held back (the client waits forever). */
class FreezableProxy {
  private frozen = false;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly upstream: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      const server = net.connect(this.upstream);
      this.sockets.add(client).add(server);
      client.on('data', (chunk) => server.write(chunk));
      server.on('data', (chunk) => {
        if (!this.frozen) client.write(chunk);
      });
      const close = () => {
        client.destroy();
        server.destroy();
      };
      client.on('error', close).on('close', close);
      server.on('error', close).on('close', close);
    });
  }

  listen(): Promise<string> {
    return new Promise((resolve) =>
      this.server.listen(0, '127.0.0.1', () =>
        resolve(`127.0.0.1:${(this.server.address() as net.AddressInfo).port}`),
      ),
    );
  }

  freeze(): void {
    this.frozen = true;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const TENANT = tenantId('agg-crash');
const KEY = apiKey();
const topics = uniqueTopics();

let emulator: TestEmulator;
let database: TestDatabase;
let ledger: ServiceProcess;
let proxy: FreezableProxy;
const aggregators: ServiceProcess[] = [];
let pubsub: PubSub;
let results: Collector;
let secondTarget: string;
let ledgerTarget: string;

beforeAll(async () => {
  [emulator, database] = await Promise.all([startPubSubEmulator(), createTestDatabase('agg_crash')]);
  pubsub = new PubSub({ projectId: emulator.projectId, apiEndpoint: emulator.host, emulatorMode: true });
}, 120_000);

afterAll(async () => {
  await results?.close();
  await pubsub?.close();
  await Promise.all(aggregators.map((a) => a.stop()));
  await ledger?.stop();
  await proxy?.close();
  await database?.drop();
  await emulator?.stop();
});

it('posts once when the consumer is killed after the ledger committed and before the ack', async () => {
  const started = await startLedger(database.url);
  ledger = started.process;
  ledgerTarget = started.target;
  const [host, port] = started.target.split(':') as [string, string];
  proxy = new FreezableProxy({ host, port: Number(port) });
  const proxyTarget = await proxy.listen();

  const env = (ledgerTarget: string) =>
    aggregatorEnv(database.url, ledgerTarget, {
      SALDO_API_KEYS: `${TENANT}=${KEY}`,
      AGGREGATOR_PUBSUB_ENABLED: 'true',
      AGGREGATOR_PUBSUB_ACK_DEADLINE_S: '10',
      AGGREGATOR_LEDGER_DEADLINE_MS: '120000',
      ...emulator.env,
      ...topics,
    });
  const first = await startAggregator(env(proxyTarget));
  aggregators.push(first.process);
  const api = new Api(first.target, KEY);
  const opened = await api.call('OpenWallet', {
    idempotencyKey: randomUUID(),
    ownerType: 'PERSONAL',
    ownerId: 'u',
    currency: 'IDR',
  });
  api.close();
  results = await Collector.on(pubsub, topics.AGGREGATOR_RESULTS_TOPIC);

  // The ledger will commit, but its answer never reaches the first aggregator.
  proxy.freeze();
  const key = `crash-${randomUUID()}`;
  await publishAction(pubsub, topics.AGGREGATOR_ACTIONS_TOPIC, 'TopUp', TENANT, KEY, {
    idempotencyKey: key,
    walletId: opened.walletId,
    amount: '2500',
  });
  const posted = await waitFor(
    async () =>
      (
        await sql<{ id: string }>(
          database.url,
          `SELECT id FROM ledger.transactions WHERE tenant_id = $1 AND idempotency_key = $2`,
          [TENANT, `agg:${key}`],
        )
      )[0],
    { timeoutMs: 20_000, intervalMs: 50, what: 'the ledger posting' },
  );
  await first.process.kill();
  // A plain top-up is lean: no claim in the aggregator's journal, the ledger's key is its only record.
  const claims = await sql<{ state: string }>(
    database.url,
    `SELECT state FROM aggregator.operations WHERE tenant_id = $1 AND idempotency_key = $2`,
    [TENANT, key],
  );
  expect(claims).toEqual([]);
  expect(results.messages).toEqual([]);

  // A fresh aggregator on the same subscription gets the redelivery once the ack deadline passes.
  const second = await startAggregator(env(`${host}:${port}`));
  aggregators.push(second.process);
  const result = await results.next(
    (m) => m.attributes['idempotency_key'] === key,
    'the redelivered result',
    60_000,
  );
  expect(result.attributes['status']).toBe('OK');
  expect(JSON.parse(result.data)).toMatchObject({ transactionId: posted.id, amount: '2500', replayed: true });

  const postings = await sql(
    database.url,
    `SELECT id FROM ledger.transactions WHERE tenant_id = $1 AND idempotency_key LIKE $2`,
    [TENANT, `%${key}`],
  );
  expect(postings).toHaveLength(1);
  const check = new Api(second.target, KEY);
  expect(await check.call('GetWallet', { walletId: opened.walletId })).toMatchObject({
    postedBalance: '2500',
  });
  check.close();
  secondTarget = second.target;
  // A plain top-up is lean: the ledger's key (agg:<key>) is its only record, no journal row.
  const done = await sql<{ state: string; result_id: string }>(
    database.url,
    `SELECT state, result_id FROM aggregator.operations WHERE tenant_id = $1 AND idempotency_key = $2`,
    [TENANT, key],
  );
  expect(done).toEqual([]);
});

it('answers UNAVAILABLE while the ledger is down, and the retry with the same key posts once when it is back', async () => {
  const api = new Api(secondTarget, KEY);
  try {
    const opened = await api.call('OpenWallet', {
      idempotencyKey: randomUUID(),
      ownerType: 'PERSONAL',
      ownerId: 'u2',
      currency: 'IDR',
    });
    const target = ledgerTarget;
    await ledger.stop();
    const request = { idempotencyKey: `down-${randomUUID()}`, walletId: opened.walletId, amount: '70' };
    const refused = await api.fail('TopUp', request);
    expect(refused.codeName).toBe('UNAVAILABLE');
    // Nothing is recorded for a lean top-up: the retry is safe through the ledger's derived key.
    const claims = await sql<{ state: string }>(
      database.url,
      `SELECT state FROM aggregator.operations WHERE tenant_id = $1 AND idempotency_key = $2`,
      [TENANT, request.idempotencyKey],
    );
    expect(claims).toEqual([]);

    ledger = (await startLedger(database.url, { at: target })).process;
    const posted = await waitFor(() => api.call('TopUp', request).catch(() => undefined), {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: 'the retried TopUp',
    });
    expect(posted).toMatchObject({ type: 'TOP_UP', amount: '70' });
    expect((await api.call('TopUp', request)).transactionId).toBe(posted.transactionId);
    expect((await api.call('GetWallet', { walletId: opened.walletId })).postedBalance).toBe('70');
  } finally {
    api.close();
  }
});
