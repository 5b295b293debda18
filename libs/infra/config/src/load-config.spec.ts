import { z } from 'zod';
import { ConfigError, describeConfig, loadConfig } from './load-config';
import { envSchemas } from './env-schemas';

const schema = z.object({
  LEDGER_GRPC_PORT: envSchemas.port(50052),
  DATABASE_URL: envSchemas.url('postgres://postgres@127.0.0.1:5432/saldo', ['postgres', 'postgresql']),
  LEDGER_SERVICE_TOKEN: envSchemas.secret(),
});

describe('loadConfig', () => {
  it('applies defaults and coerces numbers', () => {
    const config = loadConfig(schema, { LEDGER_SERVICE_TOKEN: 'x'.repeat(20) });
    expect(config.LEDGER_GRPC_PORT).toBe(50052);
    expect(config.DATABASE_URL).toContain('127.0.0.1');
  });

  it('names every bad variable and never shows a secret value', () => {
    let error: unknown;
    try {
      loadConfig(schema, {
        LEDGER_GRPC_PORT: 'abc',
        DATABASE_URL: 'mysql://x',
        LEDGER_SERVICE_TOKEN: 'short',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/LEDGER_GRPC_PORT: .*got 'abc'/);
    expect(message).toMatch(/DATABASE_URL: expected a URL/);
    expect(message).toMatch(/LEDGER_SERVICE_TOKEN: must be at least 16 characters \(got '\*\*\*'\)/);
    expect(message).not.toContain('short');
  });

  it('masks secrets and URL passwords when describing the config', () => {
    expect(
      describeConfig({ LEDGER_SERVICE_TOKEN: 'supersecret', DATABASE_URL: 'postgres://u:pw@h/db', PORT: 1 }),
    ).toEqual({ LEDGER_SERVICE_TOKEN: '***', DATABASE_URL: 'postgres://u:***@h/db', PORT: 1 });
  });
});
