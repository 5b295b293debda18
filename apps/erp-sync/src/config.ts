import { envSchemas, loadConfig, tracingEnvShape } from '@saldo/config';
import { z } from 'zod';

const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false'], { error: 'expected true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true');
const httpUrl = (fallback: string) => envSchemas.url(fallback, ['http', 'https']);
const ms = (fallback: number, max = 3_600_000) => envSchemas.positiveInt(fallback, max);
const days = (fallback: number, min: number, why: string) =>
  z.coerce
    .number({ error: 'expected a whole number of days' })
    .int('expected a whole number of days')
    .min(min, `must be at least ${min} days (${why})`)
    .max(3_650, 'must be at most 3650 days')
    .default(fallback);

/**
 * Retention of erp-sync's growing tables (retention/retention.ts), shared by the worker and the
 * operator's `cli.js retention run`. The floors are hard: a shorter window would re-open the
 * dedupe (Pub/Sub redelivers for up to 7 days) or cut the finance audit trail.
 */
export const retentionEnvShape = {
  /** Event-id dedupe rows older than this are deleted; must outlive Pub/Sub's 7-day redelivery window. */
  ERP_SYNC_PROCESSED_EVENTS_RETENTION_DAYS: days(
    30,
    8,
    "longer than Pub/Sub's 7-day maximum redelivery window, or a redelivered event would be recorded twice",
  ),
  /** The vendor-write audit log (external_writes) is kept this long; over a year for the finance audit. */
  ERP_SYNC_AUDIT_RETENTION_DAYS: days(400, 30, 'the audit log of vendor writes is evidence for finance'),
  ERP_SYNC_RETENTION_ENABLED: flag(true),
  /** How often the worker purges (one instance at a time, under a PostgreSQL advisory lock). */
  ERP_SYNC_RETENTION_INTERVAL_MS: ms(3_600_000, 86_400_000),
  /** Rows per DELETE statement (each its own short transaction) and statements per table per run. */
  ERP_SYNC_RETENTION_BATCH: envSchemas.positiveInt(5_000, 50_000),
  ERP_SYNC_RETENTION_MAX_BATCHES: envSchemas.positiveInt(1_000, 100_000),
};

/**
 * Everything erp-sync reads from its environment, validated before it starts. Vendor base URLs
 * default to the local stand-ins (`npm start`); production sets the real ones. The tenant
 * accounting mapping comes from ERP_SYNC_TENANTS_FILE or ERP_SYNC_TENANTS_JSON (see mapping/tenant-config).
 */
export const erpSyncConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  DATABASE_URL: envSchemas.url('postgres://postgres@127.0.0.1:5432/saldo', ['postgres', 'postgresql']),
  ERP_SYNC_DB_POOL_SIZE: envSchemas.positiveInt(8, 100),
  GOOGLE_CLOUD_PROJECT: z.string().min(1).default('saldo-local'),
  LEDGER_EVENTS_TOPIC: z
    .string()
    .regex(/^[A-Za-z][\w.~+%-]{2,254}$/, 'expected a Pub/Sub topic name')
    .default('ledger-events'),
  ERP_SYNC_SUBSCRIPTION: z
    .string()
    .regex(/^[A-Za-z][\w.~+%-]{2,254}$/, 'expected a Pub/Sub subscription name')
    .default('ledger-events-erp-sync'),
  /** Create the topic and the ordered subscription when missing (local runs, tests); off in production. */
  ERP_SYNC_CREATE_SUBSCRIPTION: flag(true),
  ERP_SYNC_CONSUMER_ENABLED: flag(true),
  /** Ack deadline of a created subscription (10..600 s): how soon an unacked message comes back after a crash. */
  ERP_SYNC_ACK_DEADLINE_S: z.coerce.number().int().min(10).max(600).default(60),
  /** Messages held at once by this instance; they are stored in batches of up to ERP_SYNC_INGEST_BATCH. */
  ERP_SYNC_MAX_MESSAGES: envSchemas.positiveInt(1_000, 10_000),
  ERP_SYNC_INGEST_BATCH: envSchemas.positiveInt(500, 1_000),
  ERP_SYNC_INGEST_LINGER_MS: ms(50, 10_000),
  ERP_SYNC_TENANTS_FILE: z.string().optional(),
  ERP_SYNC_TENANTS_JSON: z.string().optional(),
  /** A summary journal is written this long after its first change (then again after later changes). */
  ERP_SYNC_SUMMARY_DELAY_MS: ms(30_000),
  /** A CRM balance is sent this long after it changes: later changes in the window coalesce. */
  ERP_SYNC_BALANCE_DELAY_MS: ms(5_000),
  ERP_SYNC_WORKER_ENABLED: flag(true),
  ERP_SYNC_POLL_INTERVAL_MS: ms(500, 60_000),
  ERP_SYNC_CLAIM_BATCH: envSchemas.positiveInt(50, 1_000),
  /** Users per Zendesk create_or_update_many request (and CRM records claimed per pass), at most 100. */
  ZENDESK_BULK_SIZE: envSchemas.positiveInt(100, 100),
  /** Contacts per ActiveCampaign bulk_import request (and records claimed per pass), at most 250. */
  ACTIVECAMPAIGN_BULK_SIZE: envSchemas.positiveInt(250, 250),
  /** Between two polls of a vendor's bulk job (Zendesk job_statuses, ActiveCampaign import/info). */
  ERP_SYNC_BULK_POLL_MS: ms(1_000, 60_000),
  /** How long a bulk job may take before its records are retried (writes are upserts by key). */
  ERP_SYNC_BULK_TIMEOUT_MS: ms(60_000, 3_600_000),
  ERP_SYNC_LEASE_MS: ms(120_000),
  ERP_SYNC_MAX_ATTEMPTS: envSchemas.positiveInt(8, 100),
  ERP_SYNC_RETRY_BASE_MS: ms(1_000),
  ERP_SYNC_RETRY_MAX_MS: ms(300_000),
  ERP_SYNC_HTTP_TIMEOUT_MS: ms(30_000, 300_000),
  NETSUITE_ENABLED: flag(true),
  NETSUITE_BASE_URL: httpUrl('http://127.0.0.1:4010'),
  NETSUITE_CLIENT_ID: z.string().min(1).default('saldo-local-client'),
  NETSUITE_CERTIFICATE_ID: z.string().min(1).default('saldo-local-cert'),
  /** PEM of the certificate's private key (RSA → PS256, EC P-256 → ES256); or NETSUITE_PRIVATE_KEY_FILE. */
  NETSUITE_PRIVATE_KEY: z.string().optional(),
  NETSUITE_PRIVATE_KEY_FILE: z.string().optional(),
  /** Concurrent requests NetSuite allows this integration (5 on a developer account). */
  NETSUITE_CONCURRENCY: envSchemas.positiveInt(5, 100),
  ZENDESK_ENABLED: flag(true),
  ZENDESK_BASE_URL: httpUrl('http://127.0.0.1:4011'),
  ZENDESK_EMAIL: z.string().email('expected an e-mail address').default('saldo@example.com'),
  ZENDESK_API_TOKEN: z.string().min(8, 'must be at least 8 characters').default('local-zendesk-token'),
  ZENDESK_CONCURRENCY: envSchemas.positiveInt(2, 100),
  /** Least time between two requests (Zendesk: about 1 request/s per account on create_or_update). */
  ZENDESK_MIN_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  ACTIVECAMPAIGN_ENABLED: flag(true),
  ACTIVECAMPAIGN_BASE_URL: httpUrl('http://127.0.0.1:4012'),
  ACTIVECAMPAIGN_API_TOKEN: z
    .string()
    .min(8, 'must be at least 8 characters')
    .default('local-activecampaign-token'),
  ACTIVECAMPAIGN_CONCURRENCY: envSchemas.positiveInt(5, 100),
  ACTIVECAMPAIGN_MIN_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(200),
  ACTIVECAMPAIGN_FIELD_BALANCE: z.string().regex(/^\d+$/, 'expected a custom field id').default('1'),
  ACTIVECAMPAIGN_FIELD_CURRENCY: z.string().regex(/^\d+$/, 'expected a custom field id').default('2'),
  ACTIVECAMPAIGN_FIELD_LAST_USAGE: z.string().regex(/^\d+$/, 'expected a custom field id').default('3'),
  /** Shadow balance: watch ERP documents behind top-ups and hand the ERP's verdict to the aggregator (needs NetSuite and API keys). */
  ERP_SYNC_SHADOW_ENABLED: flag(true),
  /** The transaction-aggregator's gRPC address (host:port). */
  ERP_SYNC_AGGREGATOR_TARGET: envSchemas.hostPort('127.0.0.1:50051'),
  /** "tenantA=keyA,tenantB=keyB": the aggregator API key erp-sync uses per tenant (empty: shadow confirmation is off). */
  ERP_SYNC_AGGREGATOR_API_KEYS: z.string().default(''),
  ERP_SYNC_AGGREGATOR_DEADLINE_MS: ms(15_000, 120_000),
  /** How often watched documents are polled by SuiteQL. */
  ERP_SYNC_SHADOW_POLL_INTERVAL_MS: ms(60_000),
  ERP_SYNC_SHADOW_POLL_BATCH: envSchemas.positiveInt(100, 100),
  /** Webhooks (ERP documents, Zendesk) on their own port; 0 picks a free one. Served only when a secret is set. */
  ERP_SYNC_WEBHOOK_HOST: z.string().min(1).default('0.0.0.0'),
  ERP_SYNC_WEBHOOK_PORT: z.coerce
    .number({ error: 'expected a port number' })
    .int()
    .min(0)
    .max(65535)
    .default(9467),
  /** HMAC-SHA256 secret of the ERP document webhook (X-Saldo-Webhook-Signature). */
  ERP_SYNC_WEBHOOK_SECRET: envSchemas.secret(16).optional(),
  /** Zendesk's webhook signing secret (X-Zendesk-Webhook-Signature). */
  ZENDESK_WEBHOOK_SECRET: envSchemas.secret(16).optional(),
  /** How far a webhook's signature timestamp may be from now. */
  ERP_SYNC_WEBHOOK_TOLERANCE_S: envSchemas.positiveInt(300, 3_600),
  ...retentionEnvShape,
  /** The integration hub (customer records across the three systems): scheduled runs in the worker. */
  ERP_SYNC_HUB_ENABLED: flag(false),
  /** Redis of the hub's job queue (BullMQ). */
  REDIS_URL: envSchemas.url('redis://127.0.0.1:6379', ['redis', 'rediss']),
  ERP_SYNC_HUB_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .default('saldo-hub'),
  /** Records per page read from a system (one PostgreSQL transaction per page). */
  ERP_SYNC_HUB_PAGE_SIZE: envSchemas.positiveInt(500, 1_000),
  /** Pages per connector and run; a longer backlog continues in the next run. */
  ERP_SYNC_HUB_MAX_PAGES: envSchemas.positiveInt(100, 10_000),
  /** How often each connector's hub sync runs (schema check → read → resolve → write back). */
  ERP_SYNC_HUB_NETSUITE_EVERY_MS: ms(300_000, 86_400_000),
  ERP_SYNC_HUB_ZENDESK_EVERY_MS: ms(60_000, 86_400_000),
  ERP_SYNC_HUB_ACTIVECAMPAIGN_EVERY_MS: ms(60_000, 86_400_000),
  /** Hub jobs one worker runs at once (different tenants; one tenant runs one job at a time). */
  ERP_SYNC_HUB_CONCURRENCY: envSchemas.positiveInt(2, 32),
  /** The hub's operator API (HTTP/JSON for the console): served only when the token is set. */
  ERP_SYNC_HUB_API_TOKEN: envSchemas.secret(24).optional(),
  ERP_SYNC_HUB_API_HOST: z.string().min(1).default('127.0.0.1'),
  ERP_SYNC_HUB_API_PORT: z.coerce
    .number({ error: 'expected a port number' })
    .int()
    .min(0)
    .max(65535)
    .default(9468),
  ERP_SYNC_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  ERP_SYNC_HTTP_PORT: z.coerce
    .number({ error: 'expected a port number' })
    .int()
    .min(0)
    .max(65535)
    .default(9466),
  /** OpenTelemetry tracing (@saldo/tracing): off unless OTEL_EXPORTER_OTLP_ENDPOINT or SALDO_TRACING=on. */
  ...tracingEnvShape,
  LOG_LEVEL: envSchemas.oneOf(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
    'info',
  ),
});

export type ErpSyncConfig = z.infer<typeof erpSyncConfigSchema>;

export function loadErpSyncConfig(env: NodeJS.ProcessEnv = process.env): ErpSyncConfig {
  return loadConfig(erpSyncConfigSchema, env);
}
