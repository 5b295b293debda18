// Test helper: an in-process relay with short intervals, and a Pub/Sub subscriber that records
// what arrives (in arrival order) and acknowledges it.
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { createLogger } from '@saldo/logging';
import { Registry } from 'prom-client';
import type { Pool } from 'pg';
import type { EventPublisher } from '../event-publisher';
import { OutboxRelay, type OutboxRelayOptions } from '../outbox-relay';
import { ProtoJsonCodec } from '../proto-json';
import { RelayMetrics } from '../relay-metrics';

export const silentLogger = createLogger('outbox-test', process.env['SALDO_TEST_LOG_LEVEL'] ?? 'silent');

export function testRelay(
  databaseUrl: string,
  pool: Pool,
  publisher: EventPublisher,
  overrides: Partial<OutboxRelayOptions> = {},
): { relay: OutboxRelay; registry: Registry } {
  const registry = new Registry();
  const relay = new OutboxRelay({
    databaseUrl,
    pool,
    publisher,
    codec: ProtoJsonCodec.load('saldo/events/v1/events.proto'),
    logger: silentLogger,
    metrics: new RelayMetrics(registry),
    batchSize: 100,
    pollIntervalMs: 20,
    standbyPollMs: 100,
    retryBaseMs: 20,
    retryMaxMs: 200,
    batchTimeoutMs: 30_000,
    retentionHours: 24,
    backlogSampleMs: 200,
    ...overrides,
  });
  return { relay, registry };
}

export interface Received {
  eventId: string;
  orderingKey: string;
  attributes: Record<string, string>;
  body: string;
  json: Record<string, unknown>;
}

export class EventCollector {
  readonly received: Received[] = [];
  private constructor(private readonly subscription: Subscription) {
    subscription.on('message', (message: Message) => {
      const body = message.data.toString('utf8');
      this.received.push({
        eventId: message.attributes['event_id'] ?? '',
        orderingKey: message.orderingKey ?? '',
        attributes: { ...message.attributes },
        body,
        json: JSON.parse(body) as Record<string, unknown>,
      });
      message.ack();
    });
    subscription.on('error', () => undefined);
  }

  /** A fresh ordered subscription on the topic (created if missing). */
  static async open(pubsub: PubSub, topicName: string, subscriptionName: string): Promise<EventCollector> {
    const topic = pubsub.topic(topicName);
    const [exists] = await topic.exists();
    if (!exists) await topic.create().catch(() => undefined);
    const [subscription] = await topic.createSubscription(subscriptionName, {
      enableMessageOrdering: true,
      ackDeadlineSeconds: 30,
    });
    subscription.setOptions({ flowControl: { maxMessages: 5_000, allowExcessMessages: true } });
    return new EventCollector(subscription);
  }

  distinctIds(): Set<string> {
    return new Set(this.received.map((r) => r.eventId));
  }

  async waitForAll(expected: Iterable<string>, timeoutMs: number): Promise<void> {
    const wanted = [...expected];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = this.distinctIds();
      const missing = wanted.filter((id) => !seen.has(id));
      if (missing.length === 0) return;
      if (Date.now() > deadline)
        throw new Error(
          `${missing.length} of ${wanted.length} events never arrived, e.g. ${missing.slice(0, 5).join(', ')}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Per wallet (its walletId), the versions in order of first arrival of each event. Also checks
   * that each wallet's events all came on one ordering key (its shard): Pub/Sub orders per key.
   */
  versionsByWallet(): Map<string, bigint[]> {
    const keyOf = new Map<string, string>();
    const seen = new Set<string>();
    const byKey = new Map<string, bigint[]>();
    for (const r of this.received) {
      if (seen.has(r.eventId)) continue;
      seen.add(r.eventId);
      const wallet = r.json['wallet'] as Record<string, string> | undefined;
      if (!wallet) continue;
      const walletId = wallet['walletId']!;
      if ((keyOf.get(walletId) ?? r.orderingKey) !== r.orderingKey || r.orderingKey === '')
        throw new Error(
          `wallet ${walletId}: events on ordering keys ${keyOf.get(walletId)} and ${r.orderingKey}`,
        );
      keyOf.set(walletId, r.orderingKey);
      const list = byKey.get(walletId) ?? [];
      list.push(BigInt(wallet['version'] ?? '0'));
      byKey.set(walletId, list);
    }
    return byKey;
  }

  async close(): Promise<void> {
    await this.subscription.close();
  }
}
