// Credit grants end to end (docs/grants.md): the real aggregator and wallet-ledger over gRPC. A
// wallet opened with credit_grants holds grants; usage draws on them in the defined order, a hold
// reserves from them, a void or reversal gives back, expired credit goes to breakage once.
import { apiKey, Api, ROOT, sql, startStack, tenantId, type Stack } from '@saldo/test-support';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';

jest.setTimeout(60_000);

const TENANT = tenantId('grants');
const KEY = apiKey();
let stack: Stack;
let api: Api;
const key = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const inSeconds = (s: number) => ({ seconds: String(Math.floor(Date.now() / 1000) + s), nanos: 0 });

beforeAll(async () => {
  stack = await startStack('grants_e2e', {
    SALDO_API_KEYS: `${TENANT}=${KEY}`,
    LEDGER_HOLD_SWEEP_INTERVAL_MS: '1000',
  });
  api = new Api(stack.aggregatorTarget, KEY);
}, 120_000);

afterAll(async () => {
  api?.close();
  await stack?.stop();
});

async function openGrantWallet(): Promise<string> {
  const wallet = await api.call('OpenWallet', {
    idempotencyKey: key('open'),
    ownerType: 'PERSONAL',
    ownerId: `user-${randomUUID().slice(0, 6)}`,
    currency: 'IDR',
    creditGrants: true,
  });
  expect(wallet.creditGrants).toBe(true);
  return wallet.walletId as string;
}

const grants = async (walletId: string, includeClosed = false) =>
  (await api.call('ListGrants', { walletId, includeClosed })).grants as Array<Record<string, unknown>>;

it('usage draws by priority, then soonest expiry, then oldest, only from grants that apply; the shortfall is named', async () => {
  const walletId = await openGrantWallet();
  await api.call('TopUp', { idempotencyKey: key('topup'), walletId, amount: '100' }); // paid, prio 50, never expires
  await api.call('GrantCredit', {
    idempotencyKey: key('promo'),
    walletId,
    amount: '40',
    priority: 10,
    productCodes: ['esign'],
    expiresAt: inSeconds(86_400),
    reason: 'launch campaign',
  });
  await api.call('GrantCredit', {
    idempotencyKey: key('paid-expiring'),
    walletId,
    amount: '30',
    category: 'paid',
    expiresAt: inSeconds(3_600),
  });
  const view = await api.call('GetWallet', { walletId });
  expect(view.availableBalance).toBe('170');
  expect(view.grantSummary).toMatchObject({
    paidRemaining: '130',
    promotionalRemaining: '40',
    nextExpiryAmount: '30',
    openGrants: 3,
  });

  // esign: the promotional grant (priority 10) first, then the paid grant expiring soonest.
  await api.call('BookUsage', { idempotencyKey: key('use'), walletId, amount: '55', productCode: 'esign' });
  let listed = await grants(walletId, true);
  expect(listed.map((g) => [g['category'], g['source'], g['remainingAmount'], g['consumedAmount']])).toEqual([
    ['promotional', 'promotion', '0', '40'],
    ['paid', 'top_up', '15', '15'],
    ['paid', 'top_up', '100', '0'],
  ]);

  // Another product cannot use the esign-only grant; what no applicable grant covers is refused.
  const refused = await api.fail('BookUsage', {
    idempotencyKey: key('too-much'),
    walletId,
    amount: '116',
    productCode: 'kyc',
  });
  expect(refused).toMatchObject({
    codeName: 'FAILED_PRECONDITION',
    reason: 'INSUFFICIENT_GRANTS',
    field: 'amount',
  });
  expect(refused.message).toContain('1 short');
  expect((await api.call('GetWallet', { walletId })).availableBalance).toBe('115');

  // A hold reserves from grants; voiding it gives back to the same grants.
  const hold = await api.call('Reserve', {
    idempotencyKey: key('hold'),
    walletId,
    amount: '20',
    productCode: 'kyc',
  });
  listed = await grants(walletId);
  expect(listed.map((g) => [g['remainingAmount'], g['heldAmount']])).toEqual([
    ['0', '15'],
    ['95', '5'],
  ]);
  await api.call('Void', { idempotencyKey: key('void'), transactionId: hold.transactionId });
  listed = await grants(walletId);
  expect(listed.map((g) => g['remainingAmount'])).toEqual(['15', '100']);
});

it('a transfer moves credit from the sender grants into a paid grant of the receiver', async () => {
  const from = await openGrantWallet();
  const to = await openGrantWallet();
  await api.call('GrantCredit', { idempotencyKey: key('promo'), walletId: from, amount: '25' });
  await api.call('Transfer', {
    idempotencyKey: key('transfer'),
    fromWalletId: from,
    toWalletId: to,
    amount: '10',
  });
  expect((await grants(from)).map((g) => g['remainingAmount'])).toEqual(['15']);
  expect((await grants(to)).map((g) => [g['category'], g['source'], g['remainingAmount']])).toEqual([
    ['paid', 'transfer', '10'],
  ]);
  // A plain wallet has no grants and GrantCredit says so.
  const plain = await api.call('OpenWallet', {
    idempotencyKey: key('open-plain'),
    ownerType: 'PERSONAL',
    ownerId: 'plain',
    currency: 'IDR',
  });
  expect(plain.creditGrants).toBe(false);
  expect(
    await api.fail('GrantCredit', { idempotencyKey: key('g'), walletId: plain.walletId, amount: '1' }),
  ).toMatchObject({ codeName: 'FAILED_PRECONDITION', field: 'wallet_id' });
});

it('expiry moves the remainder to breakage once; a refund into the expired grant expires at once; ledger verify passes', async () => {
  const walletId = await openGrantWallet();
  await api.call('GrantCredit', {
    idempotencyKey: key('short'),
    walletId,
    amount: '50',
    category: 'paid',
    expiresAt: inSeconds(33),
  });
  // Drawn on before its last 30 s (the margin that keeps a posting from landing after expiry).
  const usage = await api.call('BookUsage', { idempotencyKey: key('use'), walletId, amount: '20' });
  const deadline = Date.now() + 45_000;
  while ((await api.call('GetWallet', { walletId })).postedBalance !== '0') {
    if (Date.now() > deadline) throw new Error('the grant did not expire');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await api.call('Void', { idempotencyKey: key('refund'), transactionId: usage.transactionId });
  const refundDeadline = Date.now() + 15_000;
  while ((await api.call('GetWallet', { walletId })).postedBalance !== '0') {
    if (Date.now() > refundDeadline) throw new Error('the refund into an expired grant did not expire');
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const [grant] = await grants(walletId, true);
  expect(grant).toMatchObject({ remainingAmount: '0', expiredAmount: '50', consumedAmount: '0' });
  const breakage = await sql<{ c: string }>(
    stack.database.url,
    `SELECT credits_posted::text AS c FROM ledger.accounts WHERE tenant_id = $1 AND type = 'breakage'`,
    [TENANT],
  );
  expect(breakage[0]?.c).toBe('50');
  const verify = spawnSync(
    process.execPath,
    [path.join(ROOT, 'dist/out-tsc/apps/wallet-ledger/src/cli.js'), 'verify'],
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: stack.database.url },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  expect(verify.stdout + verify.stderr).toMatch(/checks passed/);
  expect(verify.status).toBe(0);
}, 90_000);
