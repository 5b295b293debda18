// Pub/Sub helpers for the intake specs: signed publishing as a producer does it, and collectors
// of what the aggregator publishes to the results and dead-letter topics.
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { waitFor } from '@saldo/test-support';
import { createHmac, randomBytes } from 'node:crypto';

export interface Topics {
  AGGREGATOR_ACTIONS_TOPIC: string;
  AGGREGATOR_ACTIONS_SUBSCRIPTION: string;
  AGGREGATOR_RESULTS_TOPIC: string;
  AGGREGATOR_DEAD_LETTER_TOPIC: string;
}

/** Topic names of one spec, so specs sharing the run's emulator never read each other's messages. */
export function uniqueTopics(): Topics {
  const suffix = randomBytes(4).toString('hex');
  return {
    AGGREGATOR_ACTIONS_TOPIC: `balance-actions-${suffix}`,
    AGGREGATOR_ACTIONS_SUBSCRIPTION: `balance-actions-aggregator-${suffix}`,
    AGGREGATOR_RESULTS_TOPIC: `balance-action-results-${suffix}`,
    AGGREGATOR_DEAD_LETTER_TOPIC: `balance-actions-dead-letter-${suffix}`,
  };
}

export interface Received {
  data: string;
  attributes: Record<string, string>;
}

/** Collects every message of a topic from the moment it is created. */
export class Collector {
  readonly messages: Received[] = [];
  private constructor(private readonly subscription: Subscription) {
    subscription.on('message', (message: Message) => {
      this.messages.push({ data: message.data.toString('utf8'), attributes: { ...message.attributes } });
      message.ack();
    });
  }

  static async on(pubsub: PubSub, topic: string): Promise<Collector> {
    const [subscription] = await pubsub
      .topic(topic)
      .createSubscription(`${topic}-probe-${randomBytes(3).toString('hex')}`);
    return new Collector(subscription);
  }

  /** Waits for a message matching the predicate and returns it. */
  async next(predicate: (message: Received) => boolean, what: string, timeoutMs = 20_000): Promise<Received> {
    return waitFor(() => this.messages.find(predicate), { timeoutMs, intervalMs: 50, what });
  }

  close(): Promise<void> {
    return this.subscription.close();
  }
}

/** HMAC-SHA256 under the key of "<timestamp>.<body>" (the intake's signature). */
export function sign(body: string, key: string, timestamp: string): string {
  return createHmac('sha256', key).update(`${timestamp}.`).update(Buffer.from(body)).digest('hex');
}

/** Publishes a request as a producer does: proto3 JSON body, action, tenant and HMAC signature. */
export async function publishAction(
  pubsub: PubSub,
  topic: string,
  action: string,
  tenant: string,
  key: string,
  request: Record<string, unknown>,
  overrides: {
    body?: string;
    signature?: string;
    attributes?: Record<string, string>;
    /** When it was signed (ms since epoch); now by default. */
    signedAtMs?: number;
  } = {},
): Promise<string> {
  const body = overrides.body ?? JSON.stringify(request);
  const timestamp = String(overrides.signedAtMs ?? Date.now());
  return pubsub.topic(topic).publishMessage({
    data: Buffer.from(body),
    attributes: {
      action,
      tenant,
      timestamp,
      signature: overrides.signature ?? sign(body, key, timestamp),
      ...overrides.attributes,
    },
  });
}
