import type { Logger } from '@saldo/logging';
import { backoffMs } from '@saldo/resilience';
import { producerAttributes } from '@saldo/tracing';
import { Client, type Pool } from 'pg';
import type { EventPublisher, PublishOutcome } from './event-publisher';
import { buildMessages, type OutgoingMessage } from './ledger-event';
import { claimBatch, markFailed, markPublished, purgePublished, readBacklog } from './outbox-store';
import type { ProtoJsonCodec } from './proto-json';
import type { RelayMetrics } from './relay-metrics';

export const LEDGER_EVENT_TYPE = 'saldo.events.v1.LedgerEvent';

/** Session advisory lock held by the one relay instance that publishes (see `run`). */
export const RELAY_LEASE_KEY = 'saldo:wallet-ledger:outbox-relay';

export interface OutboxRelayOptions {
  databaseUrl: string;
  /** For backlog sampling and retention (any instance); the relay's own work uses a dedicated session. */
  pool: Pool;
  publisher: EventPublisher;
  codec: ProtoJsonCodec;
  logger: Logger;
  metrics: RelayMetrics;
  /** Outbox rows per batch (each row is one message per affected wallet). */
  batchSize: number;
  /** Ordering keys the wallets' events spread over (see orderingKeyOf; default 32). */
  orderingShards?: number;
  /** Wait between polls when the outbox is drained. */
  pollIntervalMs: number;
  /** How often a standby instance tries to take over the lease. */
  standbyPollMs: number;
  /**
   * Backoff after failures (@saldo/resilience, full jitter): base × 2^(failures−1), capped at max.
   * Keep max short: the relay resumes at most about max after Pub/Sub returns.
   */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Upper bound of one batch transaction (claim, publish, mark): the server ends it past this. */
  batchTimeoutMs: number;
  retentionHours: number;
  backlogSampleMs: number;
  /** Test hook: runs after Pub/Sub accepted a batch and before it is marked published. */
  afterPublish?: (messages: readonly OutgoingMessage[]) => Promise<void> | void;
}

export type RelayState = 'stopped' | 'connecting' | 'standby' | 'leader' | 'retrying';

export interface RelayStatus {
  state: RelayState;
  consecutiveFailures: number;
  lastError: string | undefined;
  lastBatchAt: Date | undefined;
  backlogRows: number;
  oldestAgeSeconds: number;
}

const PURGE_EVERY_MS = 60_000;
const PURGE_LIMIT = 5_000;

/**
 * Drains ledger.outbox to Pub/Sub, at least once, in per-wallet order.
 *
 * - Ordering: one instance publishes at a time, the holder of a PostgreSQL session advisory lock
 *   (a lease that ends with its connection, so a crashed or partitioned leader loses it at once);
 *   the others stand by and take over. Within the leader, rows go in id order. For one wallet, id
 *   order is commit order: every change locks the wallet's account row before it inserts its
 *   outbox row, so a later change of the same wallet cannot get a smaller id or commit first.
 * - Safety: each batch is claimed FOR UPDATE SKIP LOCKED (a second relay, or an operator draining
 *   by hand, can never take the same rows), published, then marked published in the same
 *   transaction. A crash anywhere before the commit leaves the rows unpublished: they are
 *   published again (duplicates with the same event ids), never lost.
 * - Failures: any failed message fails its row; Pub/Sub pauses that wallet's ordering key so later
 *   messages of the wallet fail too and cannot overtake; the relay backs off exponentially and
 *   retries from the oldest unpublished row.
 */
export class OutboxRelay {
  private session: Client | undefined;
  private sessionBroken = false;
  private leader = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private lastPurgeAt = 0;
  private readonly status: RelayStatus = {
    state: 'stopped',
    consecutiveFailures: 0,
    lastError: undefined,
    lastBatchAt: undefined,
    backlogRows: 0,
    oldestAgeSeconds: 0,
  };

  constructor(private readonly options: OutboxRelayOptions) {
    if (options.batchSize < 1 || options.batchSize > 10_000) throw new Error('batchSize must be 1..10000');
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
    this.sampler = setInterval(() => void this.sampleBacklog(), this.options.backlogSampleMs);
    this.sampler.unref();
    void this.sampleBacklog();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.sampler) clearInterval(this.sampler);
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    await this.closeSession();
    this.status.state = 'stopped';
  }

  getStatus(): Readonly<RelayStatus> {
    return { ...this.status };
  }

  /** Relays one batch now if this instance holds the lease; returns the rows published. For tools and tests. */
  async drainOnce(): Promise<number> {
    const client = await this.ensureSession();
    if (!(await this.ensureLeader(client))) return 0;
    return this.relayBatch(client);
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    while (!this.stopping) {
      try {
        const client = await this.ensureSession();
        if (!(await this.ensureLeader(client))) {
          this.status.state = 'standby';
          await this.sleep(this.options.standbyPollMs);
          continue;
        }
        // Still 'retrying' while an attempt after failures is under way: /readyz must not flip to ok.
        if (this.status.consecutiveFailures === 0) this.status.state = 'leader';
        const published = await this.relayBatch(client);
        this.status.state = 'leader';
        this.status.consecutiveFailures = 0;
        this.status.lastError = undefined;
        this.status.lastBatchAt = new Date();
        await this.purgeIfDue(client);
        if (published < this.options.batchSize) await this.sleep(this.options.pollIntervalMs);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.status.consecutiveFailures += 1;
        this.status.lastError = message;
        this.status.state = 'retrying';
        this.options.metrics.batchFailures.inc({ reason: reasonOf(error) });
        const delayMs = this.backoffMs();
        logger.warn(
          { err: message, failures: this.status.consecutiveFailures, retryInMs: delayMs },
          'outbox relay: batch failed',
        );
        if (this.sessionBroken) await this.closeSession();
        await this.sleep(delayMs);
      }
    }
  }

  private async relayBatch(client: Client): Promise<number> {
    const { options } = this;
    await client.query('BEGIN');
    try {
      await client.query(`SET LOCAL statement_timeout = ${Math.trunc(options.batchTimeoutMs)}`);
      await client.query(
        `SET LOCAL idle_in_transaction_session_timeout = ${Math.trunc(options.batchTimeoutMs)}`,
      );
      const records = await claimBatch(client, options.batchSize);
      if (records.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      const messages = records.flatMap((record) => {
        try {
          return buildMessages(record, options.orderingShards);
        } catch (error) {
          throw new EventBuildError(record.id, error);
        }
      });
      const outcomes = await options.publisher.publishAll(
        messages.map((message) => ({
          data: options.codec.encode(LEDGER_EVENT_TYPE, message.event),
          orderingKey: message.orderingKey,
          // W3C traceparent of a PRODUCER span in the trace of the call that posted the transaction.
          attributes: {
            ...message.attributes,
            ...producerAttributes('ledger-events publish', message.event.transaction?.transactionId, {
              'messaging.system': 'gcp_pubsub',
              'messaging.operation': 'publish',
              'saldo.event_type': message.attributes.event_type,
            }),
          },
        })),
      );
      await options.afterPublish?.(messages);
      const { publishedIds, failedIds, firstError, accepted } = sortOutcomes(messages, outcomes);
      const lags = await markPublished(client, publishedIds);
      await markFailed(client, failedIds, firstError ?? '');
      await client.query('COMMIT');
      options.metrics.eventsPublished.inc(accepted);
      options.metrics.rowsPublished.inc(lags.length);
      for (const lag of lags) options.metrics.publishLagSeconds.observe(lag);
      if (failedIds.length > 0) {
        options.metrics.publishFailures.inc(messages.length - accepted);
        throw new PublishError(
          `${failedIds.length} of ${records.length} outbox rows not accepted by Pub/Sub: ${firstError}`,
        );
      }
      return lags.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (error instanceof EventBuildError)
        await markFailed(client, [error.outboxId], error.message).catch(() => undefined);
      throw error;
    }
  }

  private async ensureSession(): Promise<Client> {
    if (this.session && !this.sessionBroken) return this.session;
    await this.closeSession();
    this.status.state = 'connecting';
    const client = new Client({
      connectionString: this.options.databaseUrl,
      application_name: 'saldo-wallet-ledger-outbox-relay',
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
    });
    client.on('error', (error) => {
      // The connection dropped (server restart, network): the lease went with it.
      this.sessionBroken = true;
      this.options.logger.warn({ err: error.message }, 'outbox relay: database session lost');
    });
    this.sessionBroken = false;
    try {
      await client.connect();
    } catch (error) {
      this.sessionBroken = true;
      await client.end().catch(() => undefined);
      throw error;
    }
    this.session = client;
    return client;
  }

  private async ensureLeader(client: Client): Promise<boolean> {
    if (this.leader) return true;
    const { rows } = await client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
      [RELAY_LEASE_KEY],
    );
    this.leader = rows[0]?.locked === true;
    this.options.metrics.leader.set(this.leader ? 1 : 0);
    if (this.leader) this.options.logger.info('outbox relay: lease taken, publishing');
    return this.leader;
  }

  private async closeSession(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (this.leader) this.options.logger.info('outbox relay: lease released');
    this.leader = false;
    this.options.metrics.leader.set(0);
    if (session) await session.end().catch(() => undefined); // ending the session releases the lease
  }

  private async purgeIfDue(client: Client): Promise<void> {
    if (Date.now() - this.lastPurgeAt < PURGE_EVERY_MS) return;
    this.lastPurgeAt = Date.now();
    const purged = await purgePublished(client, this.options.retentionHours, PURGE_LIMIT);
    if (purged > 0)
      this.options.logger.info({ purged }, 'outbox relay: published rows past retention deleted');
  }

  private async sampleBacklog(): Promise<void> {
    try {
      const client = await this.options.pool.connect();
      try {
        const backlog = await readBacklog(client);
        this.status.backlogRows = backlog.rows;
        this.status.oldestAgeSeconds = backlog.oldestAgeSeconds;
        this.options.metrics.backlogRows.set(backlog.rows);
        this.options.metrics.oldestAgeSeconds.set(backlog.oldestAgeSeconds);
      } finally {
        client.release();
      }
    } catch (error) {
      this.options.logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'outbox relay: backlog sample failed',
      );
    }
  }

  private backoffMs(): number {
    const { retryBaseMs, retryMaxMs } = this.options;
    return backoffMs(this.status.consecutiveFailures, {
      baseMs: retryBaseMs,
      maxMs: retryMaxMs,
      floorMs: retryBaseMs / 2,
    });
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

function sortOutcomes(messages: readonly OutgoingMessage[], outcomes: readonly PublishOutcome[]) {
  const failed = new Set<string>();
  let firstError: string | undefined;
  let accepted = 0;
  outcomes.forEach((outcome, i) => {
    if (outcome.ok) accepted += 1;
    else {
      failed.add(messages[i]!.outboxId);
      firstError ??= outcome.error.message;
    }
  });
  const ids = [...new Set(messages.map((message) => message.outboxId))];
  return { publishedIds: ids.filter((id) => !failed.has(id)), failedIds: [...failed], firstError, accepted };
}

function reasonOf(error: unknown): string {
  if (error instanceof PublishError) return 'publish';
  if (error instanceof EventBuildError) return 'event';
  return 'database';
}

class PublishError extends Error {
  override name = 'PublishError';
}

class EventBuildError extends Error {
  override name = 'EventBuildError';
  constructor(
    readonly outboxId: string,
    cause: unknown,
  ) {
    super(
      `outbox row ${outboxId}: cannot build its event: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}
