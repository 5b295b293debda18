import { z } from 'zod';

/** Raised before a service starts when its environment is incomplete or wrong. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment against one typed schema. Every problem names the variable, so an
 * operator reads "LEDGER_GRPC_PORT: expected a number from 1 to 65535, got 'abc'" and not a stack.
 */
export function loadConfig<S extends z.ZodObject<z.ZodRawShape>>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.join('.') || '(environment)';
    const raw = issue.path.length ? env[String(issue.path[0])] : undefined;
    const shown = raw === undefined ? 'it is not set' : `got '${isSecretName(variable) ? '***' : raw}'`;
    return `${variable}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(problems);
}

const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|KEY|CREDENTIAL)/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** The configuration as it may be logged: secrets and passwords in URLs masked. */
export function describeConfig(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => {
      if (typeof value !== 'string') return [key, value];
      if (isSecretName(key) && !/URL$/i.test(key)) return [key, value ? '***' : ''];
      return [key, value.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@')];
    }),
  );
}
