import { status } from '@grpc/grpc-js';
import { Duration, PubSub, type Message, type Subscription, type Topic } from '@google-cloud/pubsub';
import { classifyFault } from '@saldo/faults';
import { grpcStatusOf } from '@saldo/grpc-kit';
import { isLedgerError, requireTenant, type TenantId } from '@saldo/ledger-domain';
import type { Logger } from '@saldo/logging';
import { injectContext, withConsumerSpan } from '@saldo/tracing';
import type { ApiKeyStore } from '../auth/api-key.store';
import type { AggregatorConfig } from '../config';
import { isPubSubAction, PUBSUB_ACTIONS } from '../wallets/action-dispatch';
import type { AggregatorService } from '../wallets/aggregator.service';
import { ProtoJsonCodec, ProtoJsonError } from './proto-json';

/** Outcomes the consumer can never turn into a result: the message goes to the dead-letter topic. */
class Unprocessable extends Error {}

export interface ConsumerStats {
  ok: number;
  refused: number;
  deadLettered: number;
  nacked: number;
}

/**
 * The Pub/Sub intake: the same requests as gRPC, signed by the tenant's API key. Each message:
 * verify the tenant's signature, parse the proto3 JSON, run the same use case as gRPC (the
 * idempotency key makes a redelivery a replay), publish the outcome, and only then ack. Messages
 * that can never be processed go to the dead-letter topic with their reason, then are acked.
 */
export class BalanceActionsConsumer {
  readonly stats: ConsumerStats = { ok: 0, refused: 0, deadLettered: 0, nacked: 0 };
  private readonly pubsub: PubSub;
  private readonly codec = new ProtoJsonCodec();
  private subscription: Subscription | undefined;
  private results: Topic | undefined;
  private deadLetters: Topic | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly config: AggregatorConfig,
    private readonly keys: ApiKeyStore,
    private readonly service: AggregatorService,
    private readonly logger: Logger,
  ) {
    this.pubsub = new PubSub();
  }

  async start(): Promise<void> {
    const c = this.config;
    if (c.AGGREGATOR_PUBSUB_CREATE_RESOURCES) await this.ensureResources();
    this.results = this.pubsub.topic(c.AGGREGATOR_RESULTS_TOPIC);
    this.deadLetters = this.pubsub.topic(c.AGGREGATOR_DEAD_LETTER_TOPIC);
    const deadline = Duration.from({ seconds: c.AGGREGATOR_PUBSUB_ACK_DEADLINE_S });
    this.subscription = this.pubsub.subscription(c.AGGREGATOR_ACTIONS_SUBSCRIPTION, {
      flowControl: { maxMessages: c.AGGREGATOR_PUBSUB_MAX_MESSAGES, allowExcessMessages: false },
      minAckDeadline: deadline,
      maxAckDeadline: deadline,
    });
    this.subscription.on('message', (message: Message) => {
      // The producer's traceparent (a message attribute), if any, is the parent of the handling.
      const work = withConsumerSpan(
        'balance-actions process',
        message.attributes,
        {
          'messaging.system': 'gcp_pubsub',
          'messaging.operation': 'process',
          'messaging.message.id': message.id,
        },
        () => this.handle(message),
      ).finally(() => this.inFlight.delete(work));
      this.inFlight.add(work);
    });
    this.subscription.on('error', (error: Error) =>
      this.logger.error({ err: error }, 'balance-actions subscription error'),
    );
    this.logger.info({ subscription: c.AGGREGATOR_ACTIONS_SUBSCRIPTION }, 'consuming balance actions');
  }

  /** Stops pulling, lets in-flight messages finish (bounded), then closes the client. */
  async stop(timeoutMs = 10_000): Promise<void> {
    await this.subscription?.close().catch(() => undefined);
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
    await this.pubsub.close().catch(() => undefined);
  }

  private async handle(message: Message): Promise<void> {
    const attributes = message.attributes ?? {};
    const action = attributes['action'];
    const log = this.logger.child({
      messageId: message.id,
      action,
      tenant: attributes['tenant'],
      attempt: message.deliveryAttempt,
    });
    let tenant: TenantId;
    let request: Record<string, unknown>;
    try {
      tenant = await this.authenticate(
        attributes['tenant'],
        attributes['signature'],
        attributes['timestamp'],
        message.data,
      );
      if (!isPubSubAction(action))
        throw new Unprocessable(
          `unknown action "${String(action).slice(0, 64)}"; expected one of ${Object.keys(PUBSUB_ACTIONS).join(', ')}`,
        );
      request = this.codec.parse(PUBSUB_ACTIONS[action].requestType, message.data);
    } catch (error) {
      if (!(error instanceof Unprocessable || error instanceof ProtoJsonError))
        return this.retryLater(message, log, error);
      return this.deadLetter(message, log, error.message);
    }
    const key = typeof request['idempotencyKey'] === 'string' ? request['idempotencyKey'] : '';
    const resultAttributes = { action, tenant, idempotency_key: key };
    try {
      let body: string;
      try {
        const result = await PUBSUB_ACTIONS[action].run(this.service, tenant, request);
        body = this.codec.stringify(
          action === 'OpenWallet' ? 'Wallet' : 'Transaction',
          result as unknown as Record<string, unknown>,
        );
        await this.publish(this.results, body, { ...resultAttributes, status: 'OK' });
        this.stats.ok += 1;
      } catch (error) {
        // "Not now" (@saldo/faults): nacked, it comes back and the retry reuses its key.
        if (!isLedgerError(error) || classifyFault(error) || error.code === 'INTERNAL') throw error;
        const code = status[grpcStatusOf(error.code)] as string;
        body = JSON.stringify({
          code,
          reason: error.code,
          message: error.message,
          field: error.details.field ?? '',
          facts: error.details.facts ?? {},
        });
        await this.publish(this.results, body, { ...resultAttributes, status: code });
        this.stats.refused += 1;
        log.info({ reason: error.code }, 'balance action refused');
      }
      message.ack();
    } catch (error) {
      this.retryLater(message, log, error);
    }
  }

  /**
   * The tenant of a message signed by one of its keys over its timestamp and body, and signed
   * recently: older than the replay window or from the future (beyond the clock skew allowed), it
   * is dead-lettered with the reason, so a refused charge cannot be replayed later (issue 11 #7).
   */
  private async authenticate(
    tenantRaw: string | undefined,
    signature: string | undefined,
    timestamp: string | undefined,
    body: Buffer,
  ): Promise<TenantId> {
    let tenant: TenantId;
    try {
      tenant = requireTenant(tenantRaw, 'tenant');
    } catch {
      throw new Unprocessable('missing or malformed "tenant" attribute');
    }
    if (!signature) throw new Unprocessable('missing "signature" attribute');
    if (!timestamp || !/^\d{1,15}$/.test(timestamp))
      throw new Unprocessable(
        'missing or malformed "timestamp" attribute: ms since epoch, covered by the signature',
      );
    if (!(await this.keys.verifySignature(tenant, body, signature, timestamp))) {
      throw new Unprocessable(
        'bad signature: not the HMAC-SHA256 of "<timestamp>.<body>" under an active API key of the tenant',
      );
    }
    const ageMs = Date.now() - Number(timestamp);
    const windowMs = this.config.AGGREGATOR_PUBSUB_REPLAY_WINDOW_S * 1_000;
    if (ageMs > windowMs)
      throw new Unprocessable(
        `stale: signed ${Math.round(ageMs / 1_000)} s ago, outside the replay window of ${windowMs / 1_000} s; sign and publish it again`,
      );
    if (-ageMs > this.config.AGGREGATOR_PUBSUB_MAX_CLOCK_SKEW_S * 1_000)
      throw new Unprocessable(
        `from the future: signed ${Math.round(-ageMs / 1_000)} s ahead of this clock (at most ${this.config.AGGREGATOR_PUBSUB_MAX_CLOCK_SKEW_S} s allowed)`,
      );
    return tenant;
  }

  private async deadLetter(message: Message, log: Logger, reason: string): Promise<void> {
    try {
      await this.publish(this.deadLetters, message.data, {
        ...message.attributes,
        dead_letter_reason: reason.slice(0, 1024),
        original_message_id: message.id,
      });
      this.stats.deadLettered += 1;
      log.warn({ reason }, 'balance action dead-lettered');
      message.ack();
    } catch (error) {
      this.retryLater(message, log, error);
    }
  }

  private retryLater(message: Message, log: Logger, error: unknown): void {
    this.stats.nacked += 1;
    log.warn({ err: error }, 'balance action not finished; nacked for redelivery');
    message.nack();
  }

  private async publish(
    topic: Topic | undefined,
    body: string | Buffer,
    attributes: Record<string, string>,
  ): Promise<void> {
    if (!topic) throw new Error('consumer not started');
    await topic.publishMessage({
      data: Buffer.isBuffer(body) ? body : Buffer.from(body),
      attributes: injectContext({ ...attributes }), // the result continues the action's trace
    });
  }

  private async ensureResources(): Promise<void> {
    const c = this.config;
    for (const name of [
      c.AGGREGATOR_ACTIONS_TOPIC,
      c.AGGREGATOR_RESULTS_TOPIC,
      c.AGGREGATOR_DEAD_LETTER_TOPIC,
    ]) {
      await ignoreExists(this.pubsub.createTopic(name));
    }
    await ignoreExists(
      this.pubsub.topic(c.AGGREGATOR_ACTIONS_TOPIC).createSubscription(c.AGGREGATOR_ACTIONS_SUBSCRIPTION, {
        ackDeadlineSeconds: c.AGGREGATOR_PUBSUB_ACK_DEADLINE_S,
      }),
    );
  }
}

async function ignoreExists(work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (error) {
    if ((error as { code?: number }).code !== status.ALREADY_EXISTS) throw error;
  }
}
