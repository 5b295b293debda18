import { envSchemas, loadConfig, tracingEnvShape } from '@saldo/config';
import { DEFAULT_MAX_AMOUNT_PER_ACTION, validAmountLimits } from '@saldo/ledger-domain';
import { z } from 'zod';

/** Everything the wallet-ledger reads from its environment, validated before it starts. */
export const ledgerConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LEDGER_GRPC_URL: envSchemas.hostPort('0.0.0.0:50052'),
  DATABASE_URL: envSchemas.url('postgres://postgres@127.0.0.1:5432/saldo', ['postgres', 'postgresql']),
  REDIS_URL: envSchemas.url('redis://127.0.0.1:6379', ['redis', 'rediss']),
  /** Shared secret the ledger's callers (the aggregator, operators) present as a Bearer token. */
  LEDGER_SERVICE_TOKEN: envSchemas.secret(16),
  LEDGER_DB_POOL_SIZE: envSchemas.positiveInt(20, 500),
  LEDGER_REDIS_LOCK_MODE: envSchemas.oneOf(['best-effort', 'required'] as const, 'best-effort'),
  LEDGER_LOCK_TTL_MS: envSchemas.positiveInt(10_000, 120_000),
  LEDGER_LOCK_RETRY_COUNT: z.coerce.number().int().min(0).max(1_000).default(100),
  LEDGER_LOCK_RETRY_DELAY_MS: envSchemas.positiveInt(10, 10_000),
  LEDGER_LOCK_MAX_WAITERS: envSchemas.positiveInt(10_000, 1_000_000),
  /** Group commit: commands per database transaction, and batches in flight at once. */
  LEDGER_BATCH_MAX: envSchemas.positiveInt(1_000, 1_000),
  LEDGER_BATCH_CONCURRENCY: envSchemas.positiveInt(2, 100),
  LEDGER_BATCH_MAX_QUEUED: envSchemas.positiveInt(50_000, 1_000_000),
  /**
   * The largest amount of one action, in minor units (default 10^15), and per-asset overrides
   * ("USD=100000000,IDR=5000000000"): larger amounts are refused AMOUNT_LIMIT_EXCEEDED (issue 11 #5).
   */
  LEDGER_MAX_AMOUNT_PER_ACTION: z
    .string()
    .default(DEFAULT_MAX_AMOUNT_PER_ACTION.toString())
    .refine((v) => validAmountLimits(v, ''), 'expected a whole number of minor units from 1 to 2^63-1'),
  LEDGER_MAX_AMOUNT_BY_ASSET: z
    .string()
    .default('')
    .refine(
      (v) => validAmountLimits('1', v),
      'expected ASSET=max minor units, comma-separated, e.g. USD=100000000',
    ),
  LEDGER_HOLD_SWEEP_INTERVAL_MS: envSchemas.positiveInt(1_000, 3_600_000),
  LEDGER_HOLD_SWEEP_BATCH: envSchemas.positiveInt(100, 10_000),
  // Ledger events (outbox relay → Pub/Sub) and the Firestore read mirror; see docs/events.md.
  GOOGLE_CLOUD_PROJECT: z.string().min(1).default('saldo-local'),
  LEDGER_EVENTS_TOPIC: z
    .string()
    .regex(/^[A-Za-z][\w.~+%-]{2,254}$/, 'expected a Pub/Sub topic name')
    .default('ledger-events'),
  /** Create the topic when missing: for local runs and tests (production provisions it). */
  LEDGER_EVENTS_CREATE_TOPIC: envSchemas.oneOf(['true', 'false'] as const, 'true'),
  LEDGER_OUTBOX_RELAY_ENABLED: envSchemas.oneOf(['true', 'false'] as const, 'true'),
  LEDGER_OUTBOX_BATCH_SIZE: envSchemas.positiveInt(500, 10_000),
  /**
   * Pub/Sub ordering keys the events spread over: a wallet always maps to the same one (its order
   * holds), many wallets share one (the client batches them into one publish). Change it only with
   * an empty outbox: a wallet moving to another key could be delivered out of order once.
   */
  LEDGER_EVENTS_ORDERING_SHARDS: envSchemas.positiveInt(32, 1_024),
  LEDGER_OUTBOX_POLL_INTERVAL_MS: envSchemas.positiveInt(50, 60_000),
  LEDGER_OUTBOX_STANDBY_POLL_MS: envSchemas.positiveInt(2_000, 60_000),
  LEDGER_OUTBOX_RETRY_BASE_MS: envSchemas.positiveInt(100, 60_000),
  LEDGER_OUTBOX_RETRY_MAX_MS: envSchemas.positiveInt(500, 600_000),
  LEDGER_OUTBOX_PUBLISH_TIMEOUT_MS: envSchemas.positiveInt(5_000, 300_000),
  LEDGER_OUTBOX_RETENTION_HOURS: envSchemas.positiveInt(168, 24 * 365),
  LEDGER_MIRROR_ENABLED: envSchemas.oneOf(['true', 'false'] as const, 'true'),
  LEDGER_MIRROR_BATCH_SIZE: envSchemas.positiveInt(200, 1_000),
  LEDGER_MIRROR_CONCURRENCY: envSchemas.positiveInt(16, 100),
  /** Least time between two writes of one wallet document (Firestore sustains about 1 write/s per document). */
  LEDGER_MIRROR_MIN_INTERVAL_MS: envSchemas.positiveInt(1_000, 60_000),
  LEDGER_MIRROR_POLL_INTERVAL_MS: envSchemas.positiveInt(50, 60_000),
  LEDGER_MIRROR_LEASE_MS: envSchemas.positiveInt(30_000, 600_000),
  /** Recent transactions kept inside each wallet document (`recentTransactions`). */
  LEDGER_MIRROR_TRANSACTIONS_KEPT: envSchemas.positiveInt(20, 100),
  /** /metrics, /healthz, /readyz. Port 0 picks a free port (tests running several ledgers). */
  LEDGER_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  LEDGER_HTTP_PORT: z.coerce
    .number({ error: 'expected a port number' })
    .int()
    .min(0)
    .max(65535)
    .default(9464),
  /** OpenTelemetry tracing (@saldo/tracing): off unless OTEL_EXPORTER_OTLP_ENDPOINT or SALDO_TRACING=on. */
  ...tracingEnvShape,
  LOG_LEVEL: envSchemas.oneOf(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
    'info',
  ),
});

export type LedgerConfig = z.infer<typeof ledgerConfigSchema>;

export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');

export function loadLedgerConfig(env: NodeJS.ProcessEnv = process.env): LedgerConfig {
  return loadConfig(ledgerConfigSchema, env);
}
