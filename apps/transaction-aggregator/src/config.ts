import { envSchemas, loadConfig, tracingEnvShape } from '@saldo/config';
import { DEFAULT_MAX_AMOUNT_PER_ACTION, validAmountLimits } from '@saldo/ledger-domain';
import { z } from 'zod';

const booleanFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'], { error: 'expected true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1');

/** Everything the transaction-aggregator reads from its environment, validated before it starts. */
export const aggregatorConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  AGGREGATOR_GRPC_URL: envSchemas.hostPort('0.0.0.0:50051'),
  DATABASE_URL: envSchemas.url('postgres://postgres@127.0.0.1:5432/saldo', ['postgres', 'postgresql']),
  AGGREGATOR_DB_POOL_SIZE: envSchemas.positiveInt(10, 200),
  /** Where the wallet-ledger listens (host:port) and the token it expects. */
  AGGREGATOR_LEDGER_TARGET: envSchemas.hostPort('127.0.0.1:50052'),
  LEDGER_SERVICE_TOKEN: envSchemas.secret(16),
  /** Deadline of one ledger call; a call that runs out is answered UNAVAILABLE (retry with the same key). */
  AGGREGATOR_LEDGER_DEADLINE_MS: envSchemas.positiveInt(10_000, 120_000),
  /**
   * Encrypts the stored copy of each API key (needed to verify Pub/Sub HMAC signatures). At least
   * 32 characters of high-entropy secret; the AES-256 key is derived from it with HKDF-SHA256.
   */
  SALDO_KEY_ENCRYPTION_KEY: envSchemas.secret(32),
  /** Optional bootstrap: "tenantA=keyA,tenantB=keyB"; each key at least 16 characters. */
  SALDO_API_KEYS: z.string().default(''),
  /**
   * In-process caches (API keys by hash, wallet rows), kept coherent across instances by
   * PostgreSQL LISTEN/NOTIFY; entries at most. 0 turns a cache off (every call reads the database).
   */
  AGGREGATOR_KEY_CACHE_SIZE: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  AGGREGATOR_WALLET_CACHE_SIZE: z.coerce.number().int().min(0).max(10_000_000).default(100_000),
  /**
   * Group commit towards the ledger: every write (unary, SubmitBatch, Pub/Sub) queues and goes to
   * the ledger's PostBatch up to this many commands per call, this many calls in flight; past the
   * queue bound callers are told to retry (ABORTED).
   */
  AGGREGATOR_LEDGER_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000).default(1_000),
  AGGREGATOR_LEDGER_BATCHES_IN_FLIGHT: z.coerce.number().int().min(1).max(64).default(2),
  AGGREGATOR_LEDGER_QUEUE_MAX: z.coerce.number().int().min(1).max(1_000_000).default(20_000),
  AGGREGATOR_PUBSUB_ENABLED: booleanFlag(true),
  /** Create the topics and the subscription when missing (local runs, emulator); off in production. */
  AGGREGATOR_PUBSUB_CREATE_RESOURCES: booleanFlag(true),
  AGGREGATOR_ACTIONS_TOPIC: z.string().min(3).default('balance-actions'),
  AGGREGATOR_ACTIONS_SUBSCRIPTION: z.string().min(3).default('balance-actions-aggregator'),
  AGGREGATOR_RESULTS_TOPIC: z.string().min(3).default('balance-action-results'),
  AGGREGATOR_DEAD_LETTER_TOPIC: z.string().min(3).default('balance-actions-dead-letter'),
  /**
   * Replay window of the Pub/Sub intake (issue 11 #7): a message signed longer ago than this, or
   * further ahead than the clock skew allowed, is dead-lettered with the reason.
   */
  AGGREGATOR_PUBSUB_REPLAY_WINDOW_S: envSchemas.positiveInt(900, 86_400),
  AGGREGATOR_PUBSUB_MAX_CLOCK_SKEW_S: envSchemas.positiveInt(60, 3_600),
  /** At most this many messages in flight at once in one instance. */
  AGGREGATOR_PUBSUB_MAX_MESSAGES: envSchemas.positiveInt(32, 1_000),
  /** Ack deadline the subscriber keeps extending while a message is in flight (10..600 s). */
  AGGREGATOR_PUBSUB_ACK_DEADLINE_S: z.coerce.number().int().min(10).max(600).default(30),
  /**
   * The largest amount of one action, in minor units (default 10^15), and per-asset overrides
   * ("USD=100000000,IDR=5000000000"): larger amounts are refused AMOUNT_LIMIT_EXCEEDED (issue 11 #5).
   */
  AGGREGATOR_MAX_AMOUNT_PER_ACTION: z
    .string()
    .default(DEFAULT_MAX_AMOUNT_PER_ACTION.toString())
    .refine((v) => validAmountLimits(v, ''), 'expected a whole number of minor units from 1 to 2^63-1'),
  AGGREGATOR_MAX_AMOUNT_BY_ASSET: z
    .string()
    .default('')
    .refine(
      (v) => validAmountLimits('1', v),
      'expected ASSET=max minor units, comma-separated, e.g. USD=100000000',
    ),
  /**
   * Admission control (issue 11 #3): calls in flight in this process and per API key (refused at
   * once beyond, RESOURCE_EXHAUSTED with retry-after-ms), calls per second per tenant across
   * instances (Redis; each instance on its own while Redis is away).
   */
  AGGREGATOR_MAX_IN_FLIGHT: envSchemas.positiveInt(128, 100_000),
  AGGREGATOR_KEY_MAX_IN_FLIGHT: envSchemas.positiveInt(32, 100_000),
  AGGREGATOR_TENANT_RATE_PER_S: envSchemas.positiveInt(5_000, 1_000_000),
  AGGREGATOR_ADMISSION_RETRY_AFTER_MS: envSchemas.positiveInt(200, 60_000),
  REDIS_URL: envSchemas.url('redis://127.0.0.1:6379', ['redis', 'rediss']),
  /** /metrics, /healthz and /readyz (database + ledger reachable); 0 picks a free port (tests). */
  AGGREGATOR_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  AGGREGATOR_HTTP_PORT: z.coerce
    .number({ error: 'expected a port number' })
    .int()
    .min(0)
    .max(65535)
    .default(9465),
  /**
   * The HTTP door (Connect protocol): Connect JSON/binary over HTTP/1.1 and h2c, gRPC-Web and gRPC on
   * one port, the same handlers as AGGREGATOR_GRPC_URL. 0 picks a free port (tests).
   */
  AGGREGATOR_CONNECT_HOST: z.string().min(1).default('0.0.0.0'),
  AGGREGATOR_CONNECT_PORT: z.coerce
    .number({ error: 'expected a port number' })
    .int()
    .min(0)
    .max(65535)
    .default(8080),
  /** Browser origins allowed to call the HTTP door (CORS), comma-separated; empty: none; `*`: any. */
  AGGREGATOR_CONNECT_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    ),
  /** OpenTelemetry tracing (@saldo/tracing): off unless OTEL_EXPORTER_OTLP_ENDPOINT or SALDO_TRACING=on. */
  ...tracingEnvShape,
  LOG_LEVEL: envSchemas.oneOf(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
    'info',
  ),
});

export type AggregatorConfig = z.infer<typeof aggregatorConfigSchema>;

export const AGGREGATOR_CONFIG = Symbol('AGGREGATOR_CONFIG');

export function loadAggregatorConfig(env: NodeJS.ProcessEnv = process.env): AggregatorConfig {
  return loadConfig(aggregatorConfigSchema, env);
}
