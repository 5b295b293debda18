// The whole write → read path, as a product sees it: a product backend calls the aggregator; the
// ledger commits; its relay announces the change on Pub/Sub and its mirror updates Firestore,
// where the app reads the wallet under the same wallet id that GetWallet returns.
import { Firestore } from '@google-cloud/firestore';
import { PubSub, type Message } from '@google-cloud/pubsub';
import {
  createTestDatabase,
  freePort,
  listServicesByReflection,
  waitFor,
  type ServiceProcess,
  type TestDatabase,
  aggregatorEnv,
  Api,
  apiKey,
  startAggregator,
  tenantId,
  startLedger,
} from '@saldo/test-support';
import { randomBytes } from 'node:crypto';

const TENANT = tenantId('readpath');
const KEY = apiKey();
const TOPIC = `ledger-events-readpath-${randomBytes(4).toString('hex')}`;
const PROJECT = process.env['GOOGLE_CLOUD_PROJECT'] ?? 'saldo-test';

interface EventBody {
  eventId: string;
  type: string;
  orderingKey: string;
  wallet?: { walletId: string; ownerId: string; postedBalance?: string; version?: string };
  businessAction?: { action?: string; productCode?: string; costAmount?: string; revenueAmount?: string };
}

let database: TestDatabase;
let ledger: ServiceProcess;
let aggregator: ServiceProcess;
let api: Api;
let ledgerAt: string;
let aggregatorAt: string;
let pubsub: PubSub;
let firestore: Firestore;
const events: EventBody[] = [];

beforeAll(async () => {
  if (!process.env['PUBSUB_EMULATOR_HOST'] || !process.env['FIRESTORE_EMULATOR_HOST']) {
    throw new Error('the Pub/Sub and Firestore emulators are needed: run with `npm test`');
  }
  database = await createTestDatabase('readpath');
  pubsub = new PubSub({ projectId: PROJECT });
  const [topic] = await pubsub.createTopic(TOPIC);
  const [subscription] = await topic.createSubscription(`${TOPIC}-sub`, { enableMessageOrdering: true });
  subscription.on('message', (message: Message) => {
    events.push(JSON.parse(message.data.toString('utf8')) as EventBody);
    message.ack();
  });
  firestore = new Firestore({ projectId: PROJECT });

  const ledgerTarget = `127.0.0.1:${await freePort()}`;
  ledgerAt = ledgerTarget;
  ledger = (
    await startLedger(database.url, {
      at: ledgerTarget,
      env: {
        LEDGER_EVENTS_TOPIC: TOPIC,
        GOOGLE_CLOUD_PROJECT: PROJECT,
        LEDGER_OUTBOX_RELAY_ENABLED: 'true',
      },
    })
  ).process;
  const started = await startAggregator(
    aggregatorEnv(database.url, ledgerTarget, { SALDO_API_KEYS: `${TENANT}=${KEY}` }),
  );
  aggregator = started.process;
  aggregatorAt = started.target;
  api = new Api(started.target, KEY);
}, 120_000);

afterAll(async () => {
  api?.close();
  await aggregator?.stop();
  await ledger?.stop();
  await pubsub?.close();
  await firestore?.terminate();
  await database?.drop();
}, 60_000); // stopping two services takes more than Jest's 5 s default on a busy machine

it('a top-up and a usage through the aggregator reach Pub/Sub and Firestore under the public wallet id', async () => {
  const wallet = await api.call('OpenWallet', {
    idempotencyKey: 'open-1',
    ownerType: 'PERSONAL',
    ownerId: 'firebase-uid-1',
    currency: 'IDR',
    metadata: {},
  });
  await api.call('TopUp', {
    idempotencyKey: 'top-1',
    walletId: wallet.walletId,
    amount: '15000',
    reference: 'inv-1',
    metadata: {},
  });
  await api.call('BookUsage', {
    idempotencyKey: 'use-1',
    walletId: wallet.walletId,
    amount: '4000',
    productCode: 'esign',
    costAmount: '1000',
    metadata: {},
  });
  const read = await api.call('GetWallet', { walletId: wallet.walletId });
  expect(read).toMatchObject({ postedBalance: '11000', availableBalance: '11000' });

  // The app's view: Firestore wallets/{walletId}, within a few seconds.
  const doc = firestore.collection('wallets').doc(wallet.walletId);
  const mirrored = await waitFor(
    async () => {
      const snapshot = await doc.get();
      const data = snapshot.data();
      return data && data['postedBalance'] === '11000' ? data : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: `Firestore wallets/${wallet.walletId} to show 11000` },
  );
  expect(mirrored).toMatchObject({
    tenantId: TENANT,
    ownerId: 'firebase-uid-1',
    currency: 'IDR',
    postedBalance: '11000',
    availableBalance: '11000',
    version: Number(read.version),
  });

  // The ERP's view: ordered ledger events for this wallet (all on its shard's ordering key), with
  // the business action.
  const forWallet = () => events.filter((e) => e.wallet?.walletId === wallet.walletId);
  await waitFor(async () => forWallet().length >= 3, {
    timeoutMs: 30_000,
    intervalMs: 250,
    what: 'three ledger events for the wallet',
  });
  const mine = forWallet();
  expect(new Set(mine.map((e) => e.orderingKey)).size).toBe(1);
  expect(mine[0]!.orderingKey).toMatch(/^wallets-\d{4}$/);
  expect(mine.map((e) => e.type)).toEqual([
    'LEDGER_EVENT_TYPE_WALLET_OPENED',
    'LEDGER_EVENT_TYPE_TRANSACTION_POSTED',
    'LEDGER_EVENT_TYPE_TRANSACTION_POSTED',
  ]);
  expect(
    mine.every((e) => e.wallet?.walletId === wallet.walletId && e.wallet?.ownerId === 'firebase-uid-1'),
  ).toBe(true);
  expect(mine[2]?.businessAction).toMatchObject({
    productCode: 'esign',
    costAmount: '1000',
    revenueAmount: '4000',
  });
  expect(mine[2]?.wallet?.postedBalance).toBe('11000');
}, 90_000);

it('both services describe themselves through gRPC server reflection (what grpcurl uses)', async () => {
  expect(await listServicesByReflection(aggregatorAt)).toEqual(
    expect.arrayContaining(['grpc.health.v1.Health', 'saldo.transaction.v1.TransactionService']),
  );
  expect(await listServicesByReflection(ledgerAt)).toEqual(
    expect.arrayContaining(['grpc.health.v1.Health', 'saldo.ledger.v1.LedgerService']),
  );
});
