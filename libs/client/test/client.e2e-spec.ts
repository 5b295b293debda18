// @saldo/client against the real ledger and aggregator processes: every transport (gRPC to the gRPC
// port; Connect, gRPC-Web and gRPC to the HTTP door; the browser transport over fetch), errors as
// SaldoError, and retries that keep the idempotency key across a ledger outage.
import { Code, SaldoError } from '../src/errors';
import { createSaldoClient, SaldoClient, SaldoClientOptions } from '../src/client';
import { WalletOwnerType } from '../src/gen/saldo/transaction/v1/transaction_pb';
import { createNodeTransport } from '../src/node';
import { createWebTransport } from '../src/web';
import {
  apiKey,
  freePort,
  startLedger,
  startStack,
  tenantId,
  type ServiceProcess,
  type Stack,
} from '@saldo/test-support';

const TENANT = tenantId('sdk');
const KEY = apiKey();

let stack: Stack;
let door: string;
let restartedLedger: ServiceProcess | undefined;

beforeAll(async () => {
  const connectPort = await freePort();
  stack = await startStack('sdk', {
    SALDO_API_KEYS: `${TENANT}=${KEY}`,
    AGGREGATOR_CONNECT_HOST: '127.0.0.1',
    AGGREGATOR_CONNECT_PORT: String(connectPort),
    AGGREGATOR_LEDGER_DEADLINE_MS: '2000',
  });
  door = `http://127.0.0.1:${connectPort}`;
}, 120_000);

afterAll(async () => {
  await restartedLedger?.stop();
  await stack?.stop();
}, 60_000);

const TRANSPORTS = {
  'gRPC to the gRPC port': () => createNodeTransport({ baseUrl: `http://${stack.aggregatorTarget}` }),
  'Connect JSON to the door': () => createNodeTransport({ baseUrl: door, protocol: 'connect' }),
  'Connect binary over h2c': () =>
    createNodeTransport({ baseUrl: door, protocol: 'connect', httpVersion: '2', useBinaryFormat: true }),
  'gRPC-Web to the door': () => createNodeTransport({ baseUrl: door, protocol: 'grpc-web' }),
  'gRPC to the door': () => createNodeTransport({ baseUrl: door, protocol: 'grpc' }),
  'the browser transport (fetch)': () => createWebTransport({ baseUrl: door }),
} satisfies Record<string, () => SaldoClientOptions['transport']>;

describe.each(Object.keys(TRANSPORTS).map((name, index) => [name, index] as const))(
  'over %s',
  (name, index) => {
    let saldo: SaldoClient;
    beforeAll(() => {
      saldo = createSaldoClient({ transport: TRANSPORTS[name as keyof typeof TRANSPORTS](), apiKey: KEY });
    });

    it('opens a wallet, tops it up with a bigint and reads it back; a generated key makes each call distinct', async () => {
      const wallet = await saldo.openWallet({
        ownerType: WalletOwnerType.PERSONAL,
        ownerId: `sdk-${index}`,
        currency: 'USD',
      });
      expect(wallet.currencyScale).toBe(2);
      const first = await saldo.topUp({ walletId: wallet.walletId, amount: 12000n });
      const second = await saldo.topUp(
        { walletId: wallet.walletId, amount: '50' },
        { idempotencyKey: `sdk-${index}-k` },
      );
      const replay = await saldo.topUp(
        { walletId: wallet.walletId, amount: 50n },
        { idempotencyKey: `sdk-${index}-k` },
      );
      expect(first.idempotencyKey).toMatch(/^sdk-[0-9a-f-]{36}$/);
      expect(second.transactionId).not.toBe(first.transactionId);
      expect(replay).toMatchObject({ transactionId: second.transactionId, replayed: true });
      const read = await saldo.getWallet({ walletId: wallet.walletId });
      expect(read).toMatchObject({ postedBalance: '12050', availableBalance: '12050' });
      expect(read.version).toEqual(expect.any(BigInt));
    }, 30_000);

    it('refusals are SaldoErrors with the status, Saldo’s reason, the field and the facts', async () => {
      const wallet = await saldo.openWallet({
        ownerType: WalletOwnerType.PERSONAL,
        ownerId: `sdk-poor-${index}`,
        currency: 'USD',
      });
      const short = await saldo
        .bookUsage({ walletId: wallet.walletId, amount: 999n, productCode: 'esign.basic' })
        .catch((error: unknown) => error);
      expect(short).toBeInstanceOf(SaldoError);
      expect(short).toMatchObject({
        status: 'FAILED_PRECONDITION',
        code: Code.FailedPrecondition,
        reason: 'INSUFFICIENT_FUNDS',
        retryable: false,
        attempts: 1,
      });
      const invalid = await saldo
        .topUp({ walletId: wallet.walletId, amount: '-5' })
        .catch((error: unknown) => error);
      expect(invalid).toMatchObject({
        status: 'INVALID_ARGUMENT',
        reason: 'INVALID_ARGUMENT',
        field: 'amount',
      });
      const anonymous = createSaldoClient({ transport: TRANSPORTS[name as keyof typeof TRANSPORTS]() });
      await expect(anonymous.getWallet({ walletId: wallet.walletId })).rejects.toMatchObject({
        status: 'UNAUTHENTICATED',
      });
    }, 30_000);
  },
);

it('retries UNAVAILABLE with backoff and the same idempotency key while the ledger restarts (one top-up), within the call’s deadline', async () => {
  const retries: Array<{ attempt: number; status: string }> = [];
  const saldo = createSaldoClient({
    transport: createNodeTransport({ baseUrl: door, protocol: 'connect' }),
    apiKey: KEY,
    timeoutMs: 60_000,
    retry: { maxAttempts: 40, initialBackoffMs: 200, maxBackoffMs: 1_000 },
    onRetry: ({ attempt, error }) => retries.push({ attempt, status: error.status }),
  });
  const wallet = await saldo.openWallet({
    ownerType: WalletOwnerType.PERSONAL,
    ownerId: 'sdk-outage',
    currency: 'IDR',
  });

  await stack.ledger.stop();

  // A deadline bounds a call, all its attempts together.
  const started = Date.now();
  const gaveUp = (await saldo
    .getWallet({ walletId: wallet.walletId }, { timeoutMs: 1_500 })
    .catch((error: unknown) => error)) as SaldoError;
  expect(gaveUp).toBeInstanceOf(SaldoError);
  expect(['UNAVAILABLE', 'DEADLINE_EXCEEDED']).toContain(gaveUp.status);
  expect(gaveUp.attempts).toBeGreaterThan(1);
  expect(Date.now() - started).toBeLessThan(6_000);
  retries.length = 0;

  const topUp = saldo.topUp({ walletId: wallet.walletId, amount: 7000n });
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  restartedLedger = (await startLedger(stack.database.url, { at: stack.ledgerTarget })).process;
  const posted = await topUp;

  expect(retries.length).toBeGreaterThan(0);
  expect(retries.every((retry) => retry.status === 'UNAVAILABLE')).toBe(true);
  const history = await saldo.listTransactions({ walletId: wallet.walletId });
  expect(history.transactions.map((tx) => [tx.idempotencyKey, tx.amount])).toEqual([
    [posted.idempotencyKey, '7000'],
  ]);
  expect((await saldo.getWallet({ walletId: wallet.walletId })).postedBalance).toBe('7000');
}, 90_000);
