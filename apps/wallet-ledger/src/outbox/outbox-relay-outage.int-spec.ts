import { PubSub } from '@google-cloud/pubsub';
import { FAST_RECONNECT_GRPC_OPTIONS } from '@saldo/resilience';
import {
  createTestDatabase,
  startPubSubEmulator,
  type TestDatabase,
  type TestEmulator,
} from '@saldo/test-support';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { PubSubEventPublisher } from './event-publisher';
import { readBacklog } from './outbox-store';
import { LedgerFixture } from './testing/ledger-fixtures';
import { EventCollector, testRelay } from './testing/relay-harness';

jest.setTimeout(180_000);

/**
 * Issue 11 #10: the relay stalled ~30 s after Pub/Sub returned; the goal is 2 s (measured 1.4 s
 * with a quiet emulator). The bound leaves 1 s for a freshly started emulator's first answers on a
 * loaded CI machine; before the fix this took about 30 s.
 */
const RESUME_LIMIT_MS = 3_000;

/**
 * Pub/Sub goes away and comes back (an emulator killed and started again on the same port, empty:
 * the topic is gone too). An emulator of its own, since this spec stops it.
 */
describe('outbox relay through a Pub/Sub outage (own emulator)', () => {
  let emulator: TestEmulator;
  let database: TestDatabase;
  let pool: Pool;
  let pubsub: PubSub;

  beforeAll(async () => {
    [emulator, database] = await Promise.all([startPubSubEmulator(), createTestDatabase('relay outage')]);
    pool = new Pool({ connectionString: database.url, max: 10 });
    pool.on('error', () => undefined);
    // The relay's own client settings (ledger-events-runtime.ts): short reconnect backoff.
    pubsub = new PubSub({
      projectId: emulator.projectId,
      apiEndpoint: emulator.host,
      emulatorMode: true,
      ...FAST_RECONNECT_GRPC_OPTIONS,
    });
  });

  afterAll(async () => {
    await pubsub?.close();
    await pool?.end();
    await database?.drop();
    await emulator?.stop();
  });

  async function backlog(): Promise<number> {
    const client = await pool.connect();
    try {
      return (await readBacklog(client)).rows;
    } finally {
      client.release();
    }
  }

  async function waitForEmptyOutbox(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await backlog()) > 0) {
      if (Date.now() > deadline) throw new Error(`outbox not drained within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('publishes what was written during the outage within 2-3 s of Pub/Sub answering again (was ~30 s)', async () => {
    const topicName = `ledger-events-${randomUUID().slice(0, 8)}`;
    const ledger = new LedgerFixture(pool, `tenant-${randomUUID().slice(0, 8)}`);
    await ledger.defineAsset();
    const a = await ledger.openWallet({ walletId: 'wallet-a' });
    const b = await ledger.openWallet({ walletId: 'wallet-b' });
    await ledger.topUp(a, 10_000);
    // The production defaults of LEDGER_OUTBOX_PUBLISH_TIMEOUT_MS / _RETRY_BASE_MS / _RETRY_MAX_MS.
    const publisher = new PubSubEventPublisher(pubsub, {
      topicName,
      createTopic: true,
      publishTimeoutMs: 5_000,
    });
    const { relay } = testRelay(database.url, pool, publisher, { retryBaseMs: 100, retryMaxMs: 500 });
    relay.start();
    try {
      await waitForEmptyOutbox(30_000);

      const port = Number(emulator.host.split(':')[1]);
      await emulator.stop();
      // Changes keep committing while Pub/Sub is away; the relay keeps failing and backing off.
      for (let i = 0; i < 20; i += 1) await ledger.transfer(a, b, 1 + i);
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect(await backlog()).toBeGreaterThan(0);
      expect(relay.getStatus().state).toBe('retrying');

      emulator = await startPubSubEmulator({ projectId: emulator.projectId, port });
      const backAt = Date.now();
      await waitForEmptyOutbox(60_000);
      const resumedMs = Date.now() - backAt;
      process.stdout.write(`relay resumed ${resumedMs} ms after Pub/Sub answered again\n`);
      expect(resumedMs).toBeLessThanOrEqual(RESUME_LIMIT_MS);

      // The topic was created again and takes new events normally.
      const collector = await EventCollector.open(pubsub, topicName, `${topicName}-after`);
      try {
        await ledger.transfer(b, a, 5);
        await waitForEmptyOutbox(10_000);
        const deadline = Date.now() + 10_000;
        while (collector.received.length < 2 && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 50));
        expect(collector.received.length).toBeGreaterThanOrEqual(2);
      } finally {
        await collector.close();
      }
      expect(relay.getStatus().state).toBe('leader');
    } finally {
      await relay.stop();
      await publisher.close();
    }
  });
});
