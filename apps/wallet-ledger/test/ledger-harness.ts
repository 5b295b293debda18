import { createGrpcClient, type PromiseClientOf } from '@saldo/grpc-kit';
import { createLogger } from '@saldo/logging';
import { ledgerV1, protoFile, protoRoot } from '@saldo/proto';
import { createServer } from 'node:net';
import { Client } from 'pg';
import { startLedgerServer, type RunningLedger } from '../src/bootstrap';
import { loadLedgerConfig, type LedgerConfig } from '../src/config';

export type LedgerClient = PromiseClientOf<ledgerV1.LedgerServiceClient>;

export const TEST_SERVICE_TOKEN = 'test-ledger-service-token-0123456789';

export interface LedgerHarness {
  client: LedgerClient;
  app: RunningLedger['app'];
  /** A client without a token, or with another token. */
  clientWithToken(token: string | undefined): LedgerClient;
  config: LedgerConfig;
  address: string;
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export function testDatabaseUrl(): string {
  const url = process.env['SALDO_TEST_DATABASE_URL'] ?? process.env['DATABASE_URL'];
  if (!url) throw new Error('SALDO_TEST_DATABASE_URL is not set: run the tests with `npm test`');
  return url;
}

export async function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Starts a real wallet-ledger gRPC server in this process against the test database. */
export async function startLedgerHarness(
  overrides: Partial<Record<string, string>> = {},
): Promise<LedgerHarness> {
  const port = await freeLocalPort();
  const config = loadLedgerConfig({
    DATABASE_URL: testDatabaseUrl(),
    REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    LEDGER_SERVICE_TOKEN: TEST_SERVICE_TOKEN,
    LEDGER_GRPC_URL: `127.0.0.1:${port}`,
    LOG_LEVEL: process.env['SALDO_TEST_LOG_LEVEL'] ?? 'silent',
    LEDGER_HOLD_SWEEP_INTERVAL_MS: '200',
    ...overrides,
  });
  const running: RunningLedger = await startLedgerServer(
    config,
    createLogger('wallet-ledger-test', config.LOG_LEVEL),
  );
  const address = `127.0.0.1:${port}`;
  const handles: Array<{ close(): void }> = [];
  const clientWithToken = (token: string | undefined): LedgerClient => {
    const handle = createGrpcClient<LedgerClient>({
      protoPath: protoFile('saldo/ledger/v1/ledger.proto'),
      includeDirs: [protoRoot()],
      serviceName: 'saldo.ledger.v1.LedgerService',
      address,
      ...(token ? { token } : {}),
    });
    handles.push(handle);
    return handle.client;
  };
  const pg = new Client({ connectionString: config.DATABASE_URL });
  await pg.connect();
  return {
    client: clientWithToken(TEST_SERVICE_TOKEN),
    app: running.app,
    clientWithToken,
    config,
    address,
    sql: async <T>(text: string, params: unknown[] = []) => (await pg.query(text, params)).rows as T[],
    stop: async () => {
      for (const handle of handles) handle.close();
      await pg.end();
      await running.stop();
    },
  };
}

/** How many entries the tenant has: the proof that a refused request wrote nothing. */
export async function entryCount(harness: LedgerHarness, tenantId: string): Promise<number> {
  const [row] = await harness.sql<{ n: string }>(
    'SELECT count(*) AS n FROM ledger.entries WHERE tenant_id = $1',
    [tenantId],
  );
  return Number(row?.n);
}

let tenantCounter = 0;
/** A tenant of its own for each test, so tests never see each other's money. */
export function uniqueTenant(label = 't'): string {
  tenantCounter += 1;
  return `${label}-${process.pid}-${Date.now().toString(36)}-${tenantCounter}`;
}

/** Defines IDR for the tenant and opens `count` wallets, each topped up with `fund` (if > 0). */
export async function setupWallets(
  client: LedgerClient,
  tenantId: string,
  count: number,
  fund = 0n,
  asset = 'IDR',
): Promise<string[]> {
  await client.defineAsset({ tenantId, code: asset, scale: 0 });
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const account = await client.openAccount({
      tenantId,
      idempotencyKey: `open-${i}`,
      assetCode: asset,
      type: ledgerV1.AccountType.ACCOUNT_TYPE_WALLET,
      overdraftLimit: '0',
      externalRef: `wallet-${i}`,
      metadata: {},
    });
    ids.push(account.accountId);
    if (fund > 0n) await topUp(client, tenantId, account.accountId, fund, `fund-${i}`, asset);
  }
  return ids;
}

export function topUp(
  client: LedgerClient,
  tenantId: string,
  accountId: string,
  amount: bigint,
  key: string,
  asset = 'IDR',
) {
  return client.postTransaction(
    transferRequest(
      tenantId,
      key,
      { system: ledgerV1.AccountType.ACCOUNT_TYPE_CASH_CLEARING },
      { id: accountId },
      amount,
      {
        assetCode: asset,
        action: 'TOP_UP',
      },
    ),
  );
}

type Party = { id: string } | { system: ledgerV1.AccountType };

/** A two-leg request: debit `from`, credit `to`. */
export function transferRequest(
  tenantId: string,
  idempotencyKey: string,
  from: Party,
  to: Party,
  amount: bigint | string,
  extra: Partial<ledgerV1.PostTransactionRequest> = {},
): ledgerV1.PostTransactionRequest {
  const leg = (party: Party, side: ledgerV1.EntrySide): ledgerV1.Leg => ({
    accountId: 'id' in party ? party.id : '',
    systemAccount: 'system' in party ? party.system : ledgerV1.AccountType.ACCOUNT_TYPE_UNSPECIFIED,
    side,
    amount: String(amount),
  });
  return {
    tenantId,
    idempotencyKey,
    legs: [leg(from, ledgerV1.EntrySide.ENTRY_SIDE_DEBIT), leg(to, ledgerV1.EntrySide.ENTRY_SIDE_CREDIT)],
    assetCode: 'IDR',
    pending: false,
    timeoutSeconds: 0,
    action: 'TRANSFER',
    references: {},
    metadata: {},
    shadowDocumentId: '',
    ...extra,
  };
}

export async function balanceOf(
  client: LedgerClient,
  tenantId: string,
  accountId: string,
): Promise<ledgerV1.Balance> {
  return client.getBalance({ tenantId, accountId, asOf: undefined });
}

/** The gRPC status and saldo error code of a rejected call. */
export async function rejection(
  promise: Promise<unknown>,
): Promise<{ code: number; message: string; errorCode: string; field: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { code: number; details: string; metadata?: { get(key: string): unknown[] } };
    return {
      code: e.code,
      message: e.details,
      errorCode: String(e.metadata?.get('saldo-error-code')[0] ?? ''),
      field: String(e.metadata?.get('saldo-error-field')[0] ?? ''),
    };
  }
  throw new Error('expected the call to be rejected, but it succeeded');
}

/** A direct connection for tests that tamper with the database on purpose. */
export async function withPg<T>(url: string, work: (pg: Client) => Promise<T>): Promise<T> {
  const pg = new Client({ connectionString: url });
  await pg.connect();
  try {
    return await work(pg);
  } finally {
    await pg.end();
  }
}
