import { envSchemas, loadConfig } from '@saldo/config';
import { z } from 'zod';

/** The migrator's environment, validated before anything connects (a bad variable is named). */
export const migratorConfigSchema = z.object({
  DATABASE_URL: envSchemas.url('postgres://postgres@127.0.0.1:5432/saldo', ['postgres', 'postgresql']),
  MIGRATOR_LEDGER_TARGET: envSchemas.hostPort('127.0.0.1:50052'),
  LEDGER_SERVICE_TOKEN: envSchemas.secret(16).optional(),
  MIGRATOR_LEDGER_DEADLINE_MS: envSchemas.positiveInt(30_000, 600_000),
});

export type MigratorConfig = z.infer<typeof migratorConfigSchema>;

export const loadMigratorConfig = (): MigratorConfig => loadConfig(migratorConfigSchema);
