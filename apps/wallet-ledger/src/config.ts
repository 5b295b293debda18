import { envSchemas, loadConfig } from '@saldo/config';
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
  LEDGER_HOLD_SWEEP_INTERVAL_MS: envSchemas.positiveInt(1_000, 3_600_000),
  LEDGER_HOLD_SWEEP_BATCH: envSchemas.positiveInt(100, 10_000),
  LOG_LEVEL: envSchemas.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
});

export type LedgerConfig = z.infer<typeof ledgerConfigSchema>;

export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');

export function loadLedgerConfig(env: NodeJS.ProcessEnv = process.env): LedgerConfig {
  return loadConfig(ledgerConfigSchema, env);
}
