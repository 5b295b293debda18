import { PubSub } from '@google-cloud/pubsub';
import { createTestDatabase, type TestDatabase } from '@saldo/test-support';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { PubSubEventPublisher } from './event-publisher';
import { DEFAULT_ORDERING_SHARDS, orderingKeyOf } from './ledger-event';
import { LedgerFixture, expectedEvents } from './testing/ledger-fixtures';
import { reparseLedgerEvent } from './testing/event-schema';
import { EventCollector, testRelay } from './testing/relay-harness';

jest.setTimeout(120_000);

const projectId = process.env['PUBSUB_PROJECT_ID'] ?? 'saldo-test';

describe('outbox relay → Pub/Sub (emulator)', () => {
  let database: TestDatabase;
  let pool: Pool;
  let pubsub: PubSub;

  beforeAll(async () => {
    database = await createTestDatabase('outbox relay');
    pool = new Pool({ connectionString: database.url, max: 20 });
    // An idle connection ended by the server (e.g. a database being dropped) is not a test failure.
    pool.on('error', () => undefined);
    pubsub = new PubSub({ projectId });
  });

  afterAll(async () => {
    await pubsub?.close();
    await pool?.end();
    await database?.drop();
  });

  it('publishes every ledger change exactly as expected, in per-wallet order, with balances after the change', async () => {
    const topicName = `ledger-events-${randomUUID().slice(0, 8)}`;
    const collector = await EventCollector.open(pubsub, topicName, `${topicName}-sub`);
    const ledger = new LedgerFixture(pool, `tenant-${randomUUID().slice(0, 8)}`);
    await ledger.defineAsset();
    const a = await ledger.openWallet({ walletId: 'wallet-a', ownerType: 'personal', ownerId: 'uid-a' });
    const b = await ledger.openWallet({ walletId: 'wallet-b', ownerType: 'enterprise', ownerId: 'org-b' });
    const c = await ledger.openWallet();
    // Every kind of change: top-up, usage with cost, transfer, hold → capture, hold → void, reversal,
    // and a transaction that touches no wallet.
    await ledger.topUp(a, 100_000);
    await ledger.topUp(b, 50_000);
    const usage = await ledger.usage(a, 1_500, 400);
    await ledger.transfer(a, b, 2_000);
    const hold = await ledger.hold(b, 700);
    await ledger.capture(hold['transaction_id'] as string, 500);
    const hold2 = await ledger.hold(a, 300);
    await ledger.void(hold2['transaction_id'] as string);
    await ledger.reverse(usage['transaction_id'] as string);
    await ledger.post([
      { system_account: 'cost_of_revenue', side: 'debit', amount: '90' },
      { system_account: 'payables', side: 'credit', amount: '90' },
    ]);
    // Then 300 concurrent transfers and usages across the three wallets.
    const wallets = [a, b, c];
    await ledger.topUp(c, 100_000);
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        i % 3 === 0
          ? ledger.usage(wallets[i % 3]!, 1 + (i % 7))
          : ledger.transfer(wallets[i % 3]!, wallets[(i + 1) % 3]!, 1 + (i % 5)),
      ),
    );

    const expected = await expectedEvents(pool, ledger.tenant);
    const publisher = new PubSubEventPublisher(pubsub, {
      topicName,
      createTopic: true,
      publishTimeoutMs: 20_000,
    });
    const { relay } = testRelay(database.url, pool, publisher, { batchSize: 50 });
    relay.start();
    try {
      await collector.waitForAll(expected.keys(), 60_000);
      // Nothing unexpected, each on its wallet's ordering key. Pub/Sub delivers at least once, so a
      // busy machine may see a redelivery: it must be the very same message (id and body).
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(new Set(collector.received.map((r) => r.eventId))).toEqual(new Set(expected.keys()));
      const firstById = new Map<string, string>();
      for (const message of collector.received) {
        const body = JSON.stringify(message.json);
        expect(firstById.get(message.eventId) ?? body).toBe(body);
        firstById.set(message.eventId, body);
      }
      for (const message of collector.received) {
        const wallet = message.json['wallet'] as Record<string, string> | undefined;
        expect(expected.get(message.eventId)).toBe(wallet ? wallet['walletId'] : 'system');
        // Each wallet on its shard's ordering key; a transaction of system accounts on none.
        expect(message.orderingKey).toBe(
          wallet ? orderingKeyOf(wallet['accountId']!, DEFAULT_ORDERING_SHARDS) : '',
        );
        expect(message.attributes).toEqual({
          event_id: message.eventId,
          event_type: message.json['type'],
          tenant: ledger.tenant,
        });
        expect(reparseLedgerEvent(message.json)).toEqual(message.json);
      }
      // Per wallet: versions 0 (opened), 1, 2, ... with no gap and no reordering.
      const totals = await pool.query<{
        wallet_id: string;
        version: string;
        credits_posted: string;
        debits_posted: string;
        debits_pending: string;
      }>(
        `SELECT coalesce(nullif(metadata->>'wallet_id', ''), id::text) AS wallet_id, version::text, credits_posted::text,
                debits_posted::text, debits_pending::text
           FROM ledger.accounts WHERE type = 'wallet' AND tenant_id = $1`,
        [ledger.tenant],
      );
      const versions = collector.versionsByWallet();
      for (const row of totals.rows) {
        const seen = versions.get(row.wallet_id) ?? [];
        expect(seen).toEqual(Array.from({ length: Number(row.version) + 1 }, (_, i) => BigInt(i)));
      }
      // The newest event of each wallet carries its balances as the ledger has them now.
      for (const row of totals.rows) {
        const last = [...collector.received]
          .reverse()
          .find(
            (r) => (r.json['wallet'] as Record<string, string> | undefined)?.['walletId'] === row.wallet_id,
          )!;
        const wallet = last.json['wallet'] as Record<string, string>;
        const posted = BigInt(row.credits_posted) - BigInt(row.debits_posted);
        expect(wallet['postedBalance'] ?? '0').toBe(posted.toString());
        expect(wallet['availableBalance'] ?? '0').toBe((posted - BigInt(row.debits_pending)).toString());
      }
      // The usage announced its product and cost; the transfer named its counterpart.
      const usageEvent = collector.received.find(
        (r) =>
          (r.json['transaction'] as Record<string, string> | undefined)?.['transactionId'] ===
          usage['transaction_id'],
      )!;
      expect(usageEvent.json['businessAction']).toEqual({
        action: 'USAGE',
        productCode: 'esign',
        costAmount: '400',
        revenueAmount: '1500',
      });
      const systemOnly = collector.received.filter((r) => r.json['wallet'] === undefined);
      expect(systemOnly).toHaveLength(1);
      expect(systemOnly[0]!.orderingKey).toBe('');
      // A tenant's wallets spread over several keys: no tenant is serialised on one.
      expect(new Set(collector.received.map((r) => r.orderingKey)).size).toBeGreaterThan(1);
      const unpublished = await pool.query(
        `SELECT count(*)::int AS n FROM ledger.outbox WHERE published_at IS NULL`,
      );
      expect(unpublished.rows[0].n).toBe(0);
    } finally {
      await relay.stop();
      await publisher.close();
      await collector.close();
    }
  });

  it('lets one of several relay instances publish at a time, and a standby take over when the leader stops', async () => {
    const topicName = `ledger-events-${randomUUID().slice(0, 8)}`;
    const collector = await EventCollector.open(pubsub, topicName, `${topicName}-sub`);
    const ledger = new LedgerFixture(pool, `tenant-${randomUUID().slice(0, 8)}`);
    await ledger.defineAsset();
    const w = await ledger.openWallet();
    await ledger.topUp(w, 10_000);
    const publisher = new PubSubEventPublisher(pubsub, {
      topicName,
      createTopic: true,
      publishTimeoutMs: 20_000,
    });
    const first = testRelay(database.url, pool, publisher).relay;
    const second = testRelay(database.url, pool, publisher).relay;
    first.start();
    await waitUntil(() => first.getStatus().state === 'leader', 10_000);
    second.start();
    await waitUntil(() => second.getStatus().state === 'standby', 10_000);
    expect(first.getStatus().state).toBe('leader');
    await first.stop(); // ends its session: the lease is free
    await waitUntil(() => second.getStatus().state === 'leader', 10_000);
    await Promise.all(Array.from({ length: 20 }, (_, i) => ledger.usage(w, 10 + i)));
    try {
      const expected = await expectedEvents(pool, ledger.tenant);
      await collector.waitForAll(expected.keys(), 30_000);
      const versions = collector.versionsByWallet().get(w)!;
      expect(versions).toEqual(Array.from({ length: 22 }, (_, i) => BigInt(i)));
    } finally {
      await second.stop();
      await publisher.close();
      await collector.close();
    }
  });
});

async function waitUntil(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
