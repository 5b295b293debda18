// The aggregator's /metrics, /healthz and /readyz (AGGREGATOR_HTTP_PORT): gRPC metrics per method,
// the Pub/Sub intake's outcomes, and readiness = its database answers and the ledger is SERVING.
import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { Logger } from '@saldo/logging';
import {
  createMetricsRegistry,
  GrpcServerMetrics,
  startObservabilityServer,
  type HealthCheck,
  type ObservabilityServer,
} from '@saldo/observability';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { Pool } from 'pg';
import { Counter, type Registry } from 'prom-client';
import type { AggregatorCaches } from './cache/aggregator-caches';
import type { AggregatorConfig } from './config';
import type { LedgerBatcher } from './ledger/ledger-batcher';
import type { ConsumerStats } from './pubsub/balance-actions.consumer';

const LEDGER_SERVICE = 'saldo.ledger.v1.LedgerService';
const LEDGER_CHECK_DEADLINE_MS = 1_500;

export interface AggregatorObservability {
  registry: Registry;
  grpc: GrpcServerMetrics;
  /** Serves HTTP; `stats` are read at each scrape (undefined: the Pub/Sub intake is off). */
  listen(stats: ConsumerStats | undefined, hotPath?: HotPathStats): Promise<ObservabilityServer>;
  /** From now on /readyz answers 503 (SIGTERM: balancers stop sending while calls drain). */
  markDraining(): void;
  stop(): Promise<void>;
}

/** What the hot path counts: ledger batches (group commit) and cache hits. */
export interface HotPathStats {
  batcher: LedgerBatcher['stats'];
  caches: AggregatorCaches;
}

type HealthClient = Client & {
  check(
    request: { service: string },
    options: { deadline: Date },
    callback: (error: ServiceError | null, response?: { status: string }) => void,
  ): void;
};

export function createAggregatorObservability(
  config: AggregatorConfig,
  logger: Logger,
): AggregatorObservability {
  const registry = createMetricsRegistry('transaction-aggregator');
  const grpc = new GrpcServerMetrics(registry);
  const pool = new Pool({
    connectionString: config.DATABASE_URL,
    max: 1,
    application_name: 'saldo-aggregator-health',
  });
  pool.on('error', (error) => logger.warn({ err: error.message }, 'health: idle database connection failed'));
  const definition = loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true });
  const Health = (
    loadPackageDefinition(definition) as unknown as {
      grpc: {
        health: {
          v1: {
            Health: new (
              target: string,
              creds: ReturnType<typeof credentials.createInsecure>,
            ) => HealthClient;
          };
        };
      };
    }
  ).grpc.health.v1.Health;
  const ledgerHealth = new Health(config.AGGREGATOR_LEDGER_TARGET, credentials.createInsecure());
  let http: ObservabilityServer | undefined;
  let draining = false;

  const checks: HealthCheck[] = [
    {
      name: 'serving',
      critical: true,
      check: async () => ({ ok: !draining, detail: draining ? 'draining: shutting down' : 'serving' }),
    },
    {
      name: 'database',
      critical: true,
      check: async () => {
        await pool.query('SELECT 1');
        return { ok: true, detail: 'reachable' };
      },
    },
    {
      name: 'ledger',
      critical: true,
      check: () =>
        new Promise((resolve) =>
          ledgerHealth.check(
            { service: LEDGER_SERVICE },
            { deadline: new Date(Date.now() + LEDGER_CHECK_DEADLINE_MS) },
            (error, response) =>
              resolve(
                error
                  ? {
                      ok: false,
                      detail: `${config.AGGREGATOR_LEDGER_TARGET}: ${error.details || error.message}`,
                    }
                  : {
                      ok: response?.status === 'SERVING',
                      detail: `${config.AGGREGATOR_LEDGER_TARGET}: ${response?.status}`,
                    },
              ),
          ),
        ),
    },
  ];

  return {
    registry,
    grpc,
    listen: async (stats, hotPath) => {
      if (hotPath) registerHotPathMetrics(registry, hotPath);
      new Counter({
        name: 'saldo_pubsub_intake_messages_total',
        help: 'Balance-action messages finished by the Pub/Sub intake, by outcome (ok, refused, dead_lettered, nacked)',
        labelNames: ['outcome'],
        registers: [registry],
        collect() {
          this.reset();
          if (!stats) return;
          this.inc({ outcome: 'ok' }, stats.ok);
          this.inc({ outcome: 'refused' }, stats.refused);
          this.inc({ outcome: 'dead_lettered' }, stats.deadLettered);
          this.inc({ outcome: 'nacked' }, stats.nacked);
        },
      });
      // A port in use fails the start like any bad setting (AGGREGATOR_HTTP_PORT=0 picks a free port).
      http = await startObservabilityServer({
        host: config.AGGREGATOR_HTTP_HOST,
        port: config.AGGREGATOR_HTTP_PORT,
        registry,
        readiness: checks,
      });
      logger.info({ url: http.url }, 'transaction-aggregator: /metrics, /healthz and /readyz are served');
      return http;
    },
    markDraining: () => {
      draining = true;
    },
    stop: async () => {
      await http?.close();
      ledgerHealth.close();
      await pool.end();
    },
  };
}

function registerHotPathMetrics(registry: Registry, { batcher, caches }: HotPathStats): void {
  new Counter({
    name: 'saldo_aggregator_ledger_batches_total',
    help: 'PostBatch calls made to the ledger (every write goes through the group commit)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(batcher.batches);
    },
  });
  new Counter({
    name: 'saldo_aggregator_ledger_batch_commands_total',
    help: 'Commands sent to the ledger in PostBatch calls',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(batcher.commands);
    },
  });
  new Counter({
    name: 'saldo_aggregator_cache_lookups_total',
    help: 'In-process cache lookups by cache (api_keys, signing_keys, wallets) and result (hit, miss)',
    labelNames: ['cache', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, cache] of [
        ['api_keys', caches.keys],
        ['signing_keys', caches.signingKeys],
        ['wallets', caches.wallets],
      ] as const) {
        this.inc({ cache: name, result: 'hit' }, cache.stats.hits);
        this.inc({ cache: name, result: 'miss' }, cache.stats.misses);
      }
    },
  });
}
