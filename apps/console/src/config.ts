import { envSchemas, loadConfig, tracingEnvShape } from '@saldo/config';
import { z } from 'zod';

const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false'], { error: 'expected true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true');

/** "tenantA=keyA,tenantB=keyB" → Map; refused when a pair is malformed. */
export function parseTenantKeys(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1)
      throw new Error(`expected tenant=key, got "${pair.slice(0, at + 1)}…"`);
    keys.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return keys;
}

/**
 * Everything the Console's backend-for-frontend reads from its environment, validated before it
 * starts. It serves the single-page app and its JSON API on CONSOLE_PORT and /metrics /healthz
 * /readyz on CONSOLE_HTTP_PORT, like the other apps.
 */
export const consoleConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  DATABASE_URL: envSchemas.url('postgres://postgres@127.0.0.1:5432/saldo', ['postgres', 'postgresql']),
  CONSOLE_DB_POOL_SIZE: envSchemas.positiveInt(4, 50),
  /** The web page and its /api. */
  CONSOLE_HOST: z.string().min(1).default('0.0.0.0'),
  CONSOLE_PORT: z.coerce.number({ error: 'expected a port number' }).int().min(0).max(65535).default(8480),
  CONSOLE_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  CONSOLE_HTTP_PORT: z.coerce
    .number({ error: 'expected a port number' })
    .int()
    .min(0)
    .max(65535)
    .default(9469),
  /** The built single-page app (vite build output), relative to the working directory. */
  CONSOLE_WEB_DIR: z.string().min(1).default('dist/console-web'),
  /** The transaction-aggregator's gRPC address: every wallet read and operator action goes through it. */
  CONSOLE_AGGREGATOR_TARGET: envSchemas.hostPort('127.0.0.1:50051'),
  /** "tenantA=keyA,tenantB=keyB": the aggregator API key the Console uses for each tenant it shows. */
  CONSOLE_TENANT_API_KEYS: z
    .string()
    .default('')
    .refine((v) => {
      try {
        parseTenantKeys(v);
        return true;
      } catch {
        return false;
      }
    }, 'expected tenant=key pairs separated by commas'),
  /** The wallet-ledger, read-only: a wallet's entries for its balance-over-time chart and a transaction's entries. */
  CONSOLE_LEDGER_TARGET: envSchemas.hostPort('127.0.0.1:50052'),
  LEDGER_SERVICE_TOKEN: envSchemas.secret(16).optional(),
  CONSOLE_GRPC_DEADLINE_MS: envSchemas.positiveInt(15_000, 120_000),
  /** erp-sync's /metrics (limiter state); unset: the sync page shows what the database holds. */
  CONSOLE_ERP_SYNC_METRICS_URL: envSchemas.url('http://127.0.0.1:9466/metrics', ['http', 'https']),
  /** Secure cookies (HTTPS only; browsers also accept them on http://localhost and 127.0.0.1). */
  CONSOLE_COOKIE_SECURE: flag(true),
  CONSOLE_SESSION_TTL_MIN: envSchemas.positiveInt(480, 7 * 24 * 60),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ...tracingEnvShape,
});

export type ConsoleConfig = z.infer<typeof consoleConfigSchema>;

export const loadConsoleConfig = (env: NodeJS.ProcessEnv = process.env): ConsoleConfig =>
  loadConfig(consoleConfigSchema, env);
