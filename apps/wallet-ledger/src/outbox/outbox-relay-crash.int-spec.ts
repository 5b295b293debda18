import { PubSub } from '@google-cloud/pubsub';
import {
  createTestDatabase,
  startPubSubEmulator,
  type TestDatabase,
  type TestEmulator,
} from '@saldo/test-support';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Pool } from 'pg';
import { PubSubEventPublisher } from './event-publisher';
import { LedgerFixture, expectedEvents } from './testing/ledger-fixtures';
import { EventCollector, testRelay, type Received } from './testing/relay-harness';

jest.setTimeout(180_000);

const root = path.resolve(__dirname, '../../../..');
const cli = path.join(root, 'dist/out-tsc/apps/wallet-ledger/src/cli.js');

/**
 * A relay that dies at any point only causes redelivery. These specs kill publishers, so they use
 * an emulator of their own (see @saldo/test-support).
 */
describe('outbox relay crashes (own Pub/Sub emulator)', () => {
  let emulator: TestEmulator;
  let database: TestDatabase;
  let pool: Pool;
  let pubsub: PubSub;

  beforeAll(async () => {
    [emulator, database] = await Promise.all([
      startPubSubEmulator(),
      createTestDatabase('outbox relay crash'),
    ]);
    pool = new Pool({ connectionString: database.url, max: 20 });
    // An idle connection ended by the server (e.g. a database being dropped) is not a test failure.
    pool.on('error', () => undefined);
    pubsub = new PubSub({ projectId: emulator.projectId, apiEndpoint: emulator.host, emulatorMode: true });
  });

  afterAll(async () => {
    await pubsub?.close();
    await pool?.end();
    await database?.drop();
    await emulator?.stop();
  });

  async function seed(actions: number): Promise<LedgerFixture> {
    const ledger = new LedgerFixture(pool, `tenant-${randomUUID().slice(0, 8)}`);
    await ledger.defineAsset();
    const wallets: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const wallet = await ledger.openWallet({ walletId: `w${i}-${ledger.tenant}` });
      await ledger.topUp(wallet, 1_000_000);
      wallets.push(wallet);
    }
    await Promise.all(
      Array.from({ length: actions }, (_, i) =>
        i % 2
          ? ledger.usage(wallets[i % 4]!, 1 + (i % 9), 1)
          : ledger.transfer(wallets[i % 4]!, wallets[(i + 1) % 4]!, 1 + (i % 3)),
      ),
    );
    return ledger;
  }

  function expectNoLossesAndStableIds(received: readonly Received[], expected: Map<string, string>): number {
    const bodies = new Map<string, string>();
    let duplicates = 0;
    for (const message of received) {
      expect(expected.has(message.eventId)).toBe(true);
      const first = bodies.get(message.eventId);
      if (first === undefined) bodies.set(message.eventId, message.body);
      else {
        duplicates += 1;
        expect(message.body).toBe(first); // a redelivery carries the same id and the same body
      }
    }
    expect(bodies.size).toBe(expected.size);
    return duplicates;
  }

  function expectPerWalletOrder(collector: EventCollector): void {
    for (const [key, versions] of collector.versionsByWallet()) {
      expect({ key, versions }).toEqual({
        key,
        versions: Array.from({ length: versions.length }, (_, i) => BigInt(i)),
      });
    }
  }

  it('redelivers, never loses, when the relay dies after Pub/Sub accepted a batch and before it was marked', async () => {
    const topicName = `ledger-events-${randomUUID().slice(0, 8)}`;
    const collector = await EventCollector.open(pubsub, topicName, `${topicName}-sub`);
    const ledger = await seed(300);
    const expected = await expectedEvents(pool, ledger.tenant);

    let batches = 0;
    let crashed!: () => void;
    const crash = new Promise<void>((resolve) => (crashed = resolve));
    const publisher1 = new PubSubEventPublisher(pubsub, {
      topicName,
      createTopic: true,
      publishTimeoutMs: 20_000,
    });
    const first = testRelay(database.url, pool, publisher1, {
      batchSize: 40,
      retryBaseMs: 60_000, // the "dead" relay does not retry: a new one takes over
      retryMaxMs: 60_000,
      afterPublish: () => {
        batches += 1;
        if (batches === 3) {
          crashed();
          throw new Error('simulated crash between publish and commit');
        }
      },
    }).relay;
    first.start();
    await crash;
    await first.stop();
    const afterCrash = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ledger.outbox WHERE tenant_id = $1 AND published_at IS NULL`,
      [ledger.tenant],
    );
    expect(afterCrash.rows[0]!.n).toBeGreaterThan(0);

    const publisher2 = new PubSubEventPublisher(pubsub, {
      topicName,
      createTopic: true,
      publishTimeoutMs: 20_000,
    });
    const second = testRelay(database.url, pool, publisher2, { batchSize: 40 }).relay;
    second.start();
    try {
      await collector.waitForAll(expected.keys(), 60_000);
      const duplicates = expectNoLossesAndStableIds(collector.received, expected);
      expect(duplicates).toBeGreaterThanOrEqual(1); // the crashed batch arrived twice
      expectPerWalletOrder(collector);
    } finally {
      await second.stop();
      await publisher1.close();
      await publisher2.close();
      await collector.close();
    }
  });

  it('delivers everything after the relay process is killed (SIGKILL) mid-stream and restarted', async () => {
    const topicName = `ledger-events-${randomUUID().slice(0, 8)}`;
    const collector = await EventCollector.open(pubsub, topicName, `${topicName}-sub`);
    const ledger = await seed(1_000);
    const expected = await expectedEvents(pool, ledger.tenant);
    const env = {
      ...process.env,
      ...emulator.env,
      DATABASE_URL: database.url,
      GOOGLE_CLOUD_PROJECT: emulator.projectId,
      LEDGER_EVENTS_TOPIC: topicName,
      LEDGER_MIRROR_ENABLED: 'false',
      LEDGER_HTTP_PORT: '0',
      LEDGER_OUTBOX_BATCH_SIZE: '25',
      LEDGER_OUTBOX_POLL_INTERVAL_MS: '20',
      LOG_LEVEL: 'warn',
    };
    const start = (): ChildProcess =>
      spawn(process.execPath, [cli, 'events-worker'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const worker = start();
    const killedAt = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        const seen = collector.distinctIds().size;
        if (seen >= expected.size / 4) {
          clearInterval(timer);
          worker.kill('SIGKILL');
          resolve(seen);
        }
      }, 5);
      worker.once('exit', (code) => {
        clearInterval(timer);
        if (code !== null) reject(new Error(`events-worker exited early with ${code}`));
      });
    });
    await new Promise((resolve) => worker.once('exit', resolve));
    expect(killedAt).toBeLessThan(expected.size);

    const restarted = start();
    try {
      await collector.waitForAll(expected.keys(), 90_000);
      expectNoLossesAndStableIds(collector.received, expected);
      expectPerWalletOrder(collector);
      const left = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ledger.outbox WHERE tenant_id = $1 AND published_at IS NULL`,
        [ledger.tenant],
      );
      expect(left.rows[0]!.n).toBe(0);
    } finally {
      restarted.kill('SIGTERM');
      await new Promise((resolve) => restarted.once('exit', resolve));
      await collector.close();
    }
  });
});
