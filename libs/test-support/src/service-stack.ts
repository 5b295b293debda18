// End-to-end harness: the real wallet-ledger and transaction-aggregator processes (built JS),
// each on a free port, on a private clone of the run's migrated database; gRPC clients as a
// product backend would use them.
import {
  credentials,
  loadPackageDefinition,
  Metadata,
  status,
  type Client,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { decodeStatusDetails, PROTO_LOADER_OPTIONS } from '@saldo/grpc-kit';
import { protoFile, protoRoot } from '@saldo/proto';
import { createTestDatabase, type TestDatabase } from './database';
import { freePort } from './shared/emulators.cjs';
import { startServiceProcess, type ServiceProcess } from './service-process';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client as PgClient } from 'pg';

export const ROOT = path.resolve(__dirname, '../../..');
export const LEDGER_SCRIPT = 'dist/out-tsc/apps/wallet-ledger/src/main.js';
export const AGGREGATOR_SCRIPT = 'dist/out-tsc/apps/transaction-aggregator/src/main.js';
export const AGGREGATOR_CLI = 'dist/out-tsc/apps/transaction-aggregator/src/cli.js';
export const SERVICE_TOKEN = `svc-${randomBytes(16).toString('hex')}`;
export const KEY_ENCRYPTION_KEY = randomBytes(32).toString('base64');

/** A unique tenant per suite, so suites sharing nothing still never see each other's rows. */
export function tenantId(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

export function apiKey(): string {
  return `test-key-${randomBytes(16).toString('hex')}`;
}

export interface Stack {
  database: TestDatabase;
  ledger: ServiceProcess;
  ledgerTarget: string;
  aggregator: ServiceProcess;
  aggregatorTarget: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * The wallet-ledger as a process (built JS) on a free port, SERVING before it returns. Its outbox
 * relay is off unless `env` turns it on (most specs do not prove it); `env` overrides any default.
 */
export async function startLedger(
  databaseUrl: string,
  options: { at?: string; env?: Record<string, string>; startTimeoutMs?: number } = {},
): Promise<{ process: ServiceProcess; target: string }> {
  const target = options.at ?? `127.0.0.1:${await freePort()}`;
  const process_ = await startServiceProcess({
    name: 'wallet-ledger',
    script: LEDGER_SCRIPT,
    healthTarget: target,
    startTimeoutMs: options.startTimeoutMs,
    env: {
      LEDGER_GRPC_URL: target,
      DATABASE_URL: databaseUrl,
      REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
      LEDGER_SERVICE_TOKEN: SERVICE_TOKEN,
      LEDGER_DB_POOL_SIZE: '8',
      // Each ledger of a spec gets its own metrics port.
      LEDGER_HTTP_PORT: String(await freePort()),
      LEDGER_OUTBOX_RELAY_ENABLED: 'false',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
  });
  return { process: process_, target };
}

export function aggregatorEnv(
  databaseUrl: string,
  ledgerTarget: string,
  extra: Record<string, string>,
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    AGGREGATOR_LEDGER_TARGET: ledgerTarget,
    LEDGER_SERVICE_TOKEN: SERVICE_TOKEN,
    SALDO_KEY_ENCRYPTION_KEY: KEY_ENCRYPTION_KEY,
    AGGREGATOR_DB_POOL_SIZE: '8',
    AGGREGATOR_PUBSUB_ENABLED: 'false',
    AGGREGATOR_HTTP_PORT: '0', // /metrics /healthz /readyz on a free port: specs run several aggregators
    AGGREGATOR_CONNECT_PORT: '0', // the HTTP door too; a spec that calls it passes its own port
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

export async function startAggregator(
  env: Record<string, string>,
  options: { at?: string } = {},
): Promise<{ process: ServiceProcess; target: string }> {
  const target = options.at ?? `127.0.0.1:${await freePort()}`;
  const process_ = await startServiceProcess({
    name: 'transaction-aggregator',
    script: AGGREGATOR_SCRIPT,
    healthTarget: target,
    healthService: 'saldo.transaction.v1.TransactionService',
    env: { ...env, AGGREGATOR_GRPC_URL: target },
  });
  return { process: process_, target };
}

/** A private database (clone of the migrated template), the ledger and the aggregator. */
export async function startStack(label: string, extraEnv: Record<string, string>): Promise<Stack> {
  const database = await createTestDatabase(label);
  const started: ServiceProcess[] = [];
  try {
    const ledger = await startLedger(database.url);
    started.push(ledger.process);
    const env = aggregatorEnv(database.url, ledger.target, extraEnv);
    const aggregator = await startAggregator(env);
    started.push(aggregator.process);
    return {
      database,
      ledger: ledger.process,
      ledgerTarget: ledger.target,
      aggregator: aggregator.process,
      aggregatorTarget: aggregator.target,
      env,
      stop: async () => {
        await Promise.all(started.map((p) => p.stop()));
        await database.drop();
      },
    };
  } catch (error) {
    await Promise.all(started.map((p) => p.stop()));
    await database.drop();
    throw error;
  }
}

export interface CallError {
  code: status;
  codeName: string;
  message: string;
  reason?: string;
  field?: string;
  /** The retry-after-ms trailer of a RESOURCE_EXHAUSTED answer. */
  retryAfterMs?: number;
}

type Unary = (
  request: unknown,
  metadata: Metadata,
  options: { deadline: Date },
  cb: (e: ServiceError | null, r: unknown) => void,
) => void;

/** A TransactionService client for one API key (null: send none). Calls resolve with the response or reject with a CallError. */
export class Api {
  private readonly client: Client;

  constructor(
    target: string,
    private readonly key: string | undefined,
  ) {
    const definition = loadSync(protoFile('saldo/transaction/v1/transaction.proto'), {
      ...PROTO_LOADER_OPTIONS,
      includeDirs: [protoRoot()],
    });
    const pkg = loadPackageDefinition(definition) as unknown as {
      saldo: {
        transaction: {
          v1: {
            TransactionService: new (t: string, c: ReturnType<typeof credentials.createInsecure>) => Client;
          };
        };
      };
    };
    this.client = new pkg.saldo.transaction.v1.TransactionService(target, credentials.createInsecure());
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call<T = any>(
    method: string,
    request: Record<string, unknown>,
    key: string | null | undefined = this.key,
    extraMetadata: Record<string, string> = {},
  ): Promise<T> {
    const metadata = new Metadata();
    if (key !== undefined && key !== null) metadata.set('authorization', `Bearer ${key}`);
    for (const [name, value] of Object.entries(extraMetadata)) metadata.set(name, value);
    const fn = (this.client as unknown as Record<string, Unary>)[method] as Unary;
    return new Promise((resolve, reject) =>
      fn.call(
        this.client,
        request,
        metadata,
        { deadline: new Date(Date.now() + 20_000) },
        (error, response) => (error ? reject(toCallError(error)) : resolve(response as T)),
      ),
    );
  }

  /** The CallError of a call that must fail. */
  async fail(
    method: string,
    request: Record<string, unknown>,
    key: string | null | undefined = this.key,
  ): Promise<CallError> {
    try {
      await this.call(method, request, key);
    } catch (error) {
      return error as CallError;
    }
    throw new Error(`${method} succeeded but was expected to fail`);
  }

  close(): void {
    this.client.close();
  }
}

function toCallError(error: ServiceError): CallError {
  const bin = error.metadata?.get('grpc-status-details-bin')[0];
  const details = Buffer.isBuffer(bin) ? decodeStatusDetails(bin) : undefined;
  return {
    code: error.code,
    codeName: status[error.code] as string,
    message: error.details,
    reason: details?.reason,
    field: details?.fieldViolations[0]?.field,
    ...(error.metadata?.get('retry-after-ms')[0]
      ? { retryAfterMs: Number(error.metadata.get('retry-after-ms')[0]) }
      : {}),
  };
}

/** Runs a statement on a database (assertions read the ledger's and the aggregator's tables directly). */
export async function sql<T = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new PgClient({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The aggregator's operator CLI, as an operator runs it. */
export function cli(
  args: string[],
  env: Record<string, string>,
): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [path.join(ROOT, AGGREGATOR_CLI), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
