import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import type { Logger } from '@saldo/logging';
import { FAST_RECONNECT_GRPC_OPTIONS } from '@saldo/resilience';
import {
  createMetricsRegistry,
  startObservabilityServer,
  type HealthCheck,
  type ObservabilityServer,
} from '@saldo/observability';
import { Pool } from 'pg';
import type { Registry } from 'prom-client';
import type { LedgerConfig } from '../config';
import { FirestoreMirror } from '../mirror/firestore-mirror';
import { MirrorMetrics } from '../mirror/mirror-metrics';
import { MirrorWorker } from '../mirror/mirror-worker';
import { PubSubEventPublisher, type EventPublisher } from './event-publisher';
import { OutboxRelay } from './outbox-relay';
import { ProtoJsonCodec } from './proto-json';
import { RelayMetrics } from './relay-metrics';

export interface LedgerEventsRuntime {
  relay: OutboxRelay | undefined;
  mirror: MirrorWorker | undefined;
  http: ObservabilityServer | undefined;
  registry: Registry;
  stop(): Promise<void>;
}

export type EventsConfig = Pick<
  LedgerConfig,
  | 'DATABASE_URL'
  | 'GOOGLE_CLOUD_PROJECT'
  | 'LEDGER_EVENTS_TOPIC'
  | 'LEDGER_EVENTS_CREATE_TOPIC'
  | 'LEDGER_OUTBOX_RELAY_ENABLED'
  | 'LEDGER_OUTBOX_BATCH_SIZE'
  | 'LEDGER_EVENTS_ORDERING_SHARDS'
  | 'LEDGER_OUTBOX_POLL_INTERVAL_MS'
  | 'LEDGER_OUTBOX_STANDBY_POLL_MS'
  | 'LEDGER_OUTBOX_RETRY_BASE_MS'
  | 'LEDGER_OUTBOX_RETRY_MAX_MS'
  | 'LEDGER_OUTBOX_PUBLISH_TIMEOUT_MS'
  | 'LEDGER_OUTBOX_RETENTION_HOURS'
  | 'LEDGER_MIRROR_ENABLED'
  | 'LEDGER_MIRROR_BATCH_SIZE'
  | 'LEDGER_MIRROR_CONCURRENCY'
  | 'LEDGER_MIRROR_MIN_INTERVAL_MS'
  | 'LEDGER_MIRROR_POLL_INTERVAL_MS'
  | 'LEDGER_MIRROR_LEASE_MS'
  | 'LEDGER_MIRROR_TRANSACTIONS_KEPT'
  | 'LEDGER_HTTP_HOST'
  | 'LEDGER_HTTP_PORT'
>;

export interface RuntimeOverrides {
  /** Replaces the Pub/Sub publisher (a test's own emulator). */
  publisher?: EventPublisher;
  firestore?: Firestore;
  /** Serve /metrics, /healthz, /readyz (default true). */
  http?: boolean;
  /** The registry /metrics serves (main.ts shares it with the gRPC server's metrics). */
  registry?: Registry;
}

const BACKLOG_SAMPLE_MS = 5_000;

/** Starts the outbox relay, the Firestore mirror and the observability endpoint of the wallet-ledger. */
export async function startLedgerEventsRuntime(
  config: EventsConfig,
  logger: Logger,
  overrides: RuntimeOverrides = {},
): Promise<LedgerEventsRuntime> {
  const registry = overrides.registry ?? createMetricsRegistry('wallet-ledger');
  const pool = new Pool({
    connectionString: config.DATABASE_URL,
    max: config.LEDGER_MIRROR_CONCURRENCY + 4,
    application_name: 'saldo-wallet-ledger-events',
  });
  pool.on('error', (error) => logger.warn({ err: error.message }, 'events: idle database connection failed'));
  const closers: Array<() => Promise<void>> = [];
  let relay: OutboxRelay | undefined;
  let mirror: MirrorWorker | undefined;

  if (config.LEDGER_OUTBOX_RELAY_ENABLED === 'true') {
    const publisher =
      overrides.publisher ??
      new PubSubEventPublisher(
        new PubSub({ projectId: config.GOOGLE_CLOUD_PROJECT, ...FAST_RECONNECT_GRPC_OPTIONS }),
        {
          topicName: config.LEDGER_EVENTS_TOPIC,
          createTopic: config.LEDGER_EVENTS_CREATE_TOPIC === 'true',
          publishTimeoutMs: config.LEDGER_OUTBOX_PUBLISH_TIMEOUT_MS,
        },
      );
    relay = new OutboxRelay({
      databaseUrl: config.DATABASE_URL,
      pool,
      publisher,
      codec: ProtoJsonCodec.load('saldo/events/v1/events.proto'),
      logger,
      metrics: new RelayMetrics(registry),
      batchSize: config.LEDGER_OUTBOX_BATCH_SIZE,
      orderingShards: config.LEDGER_EVENTS_ORDERING_SHARDS,
      pollIntervalMs: config.LEDGER_OUTBOX_POLL_INTERVAL_MS,
      standbyPollMs: config.LEDGER_OUTBOX_STANDBY_POLL_MS,
      retryBaseMs: config.LEDGER_OUTBOX_RETRY_BASE_MS,
      retryMaxMs: config.LEDGER_OUTBOX_RETRY_MAX_MS,
      batchTimeoutMs: config.LEDGER_OUTBOX_PUBLISH_TIMEOUT_MS + 30_000,
      retentionHours: config.LEDGER_OUTBOX_RETENTION_HOURS,
      backlogSampleMs: BACKLOG_SAMPLE_MS,
    });
    relay.start();
    const started = relay;
    closers.push(async () => {
      await started.stop();
      await publisher.close();
    });
  }

  if (config.LEDGER_MIRROR_ENABLED === 'true') {
    const firestore =
      overrides.firestore ??
      new Firestore({ projectId: config.GOOGLE_CLOUD_PROJECT, ...FAST_RECONNECT_GRPC_OPTIONS });
    mirror = new MirrorWorker({
      pool,
      mirror: new FirestoreMirror(firestore, config.LEDGER_MIRROR_TRANSACTIONS_KEPT),
      logger,
      metrics: new MirrorMetrics(registry),
      batchSize: config.LEDGER_MIRROR_BATCH_SIZE,
      minIntervalMs: config.LEDGER_MIRROR_MIN_INTERVAL_MS,
      pollIntervalMs: config.LEDGER_MIRROR_POLL_INTERVAL_MS,
      leaseMs: config.LEDGER_MIRROR_LEASE_MS,
      retryBaseMs: 200,
      retryMaxMs: 30_000,
      backlogSampleMs: BACKLOG_SAMPLE_MS,
    });
    mirror.start();
    const started = mirror;
    closers.push(async () => {
      await started.stop();
      if (!overrides.firestore) await firestore.terminate();
    });
  }

  let http: ObservabilityServer | undefined;
  if (overrides.http ?? true) {
    http = await startObservabilityServer({
      host: config.LEDGER_HTTP_HOST,
      port: config.LEDGER_HTTP_PORT,
      registry,
      readiness: readinessChecks(pool, relay, mirror),
    });
    logger.info({ url: http.url }, 'wallet-ledger: /metrics, /healthz and /readyz are served');
  }

  return {
    relay,
    mirror,
    http,
    registry,
    stop: async () => {
      await http?.close();
      for (const close of closers) await close();
      await pool.end();
    },
  };
}

/**
 * The database is critical (no postings without it). The relay and the mirror are reported but
 * not critical: while Pub/Sub or Firestore is down the ledger still takes postings, and the outbox
 * and mirror_state keep every change until they are back (watch the backlog metrics and alerts).
 */
function readinessChecks(
  pool: Pool,
  relay: OutboxRelay | undefined,
  mirror: MirrorWorker | undefined,
): HealthCheck[] {
  const checks: HealthCheck[] = [
    {
      name: 'database',
      critical: true,
      check: async () => {
        await pool.query('SELECT 1');
        return { ok: true, detail: 'reachable' };
      },
    },
  ];
  if (relay) {
    checks.push({
      name: 'outbox_relay',
      critical: false,
      check: async () => {
        const status = relay.getStatus();
        const ok = status.state === 'leader' || status.state === 'standby';
        const error = status.lastError ? `, last error: ${status.lastError}` : '';
        return {
          ok,
          detail: `${status.state}; backlog ${status.backlogRows} rows, oldest ${status.oldestAgeSeconds.toFixed(1)} s; ${status.consecutiveFailures} consecutive failures${error}`,
        };
      },
    });
  }
  if (mirror) {
    checks.push({
      name: 'firestore_mirror',
      critical: false,
      check: async () => {
        const status = mirror.getStatus();
        const error = status.lastError ? `, last error: ${status.lastError}` : '';
        const catchingUp = status.catchingUp
          ? `catching up: re-mirroring every wallet into a fresh Firestore since ${status.catchingUp.since.toISOString()}, ${status.catchingUp.walletsLeft} wallets left; `
          : '';
        return {
          ok: status.state === 'running' && !status.catchingUp,
          detail: `${catchingUp}${status.state}; backlog ${status.backlogWallets} wallets, oldest ${status.oldestAgeSeconds.toFixed(1)} s${error}`,
        };
      },
    });
  }
  return checks;
}
