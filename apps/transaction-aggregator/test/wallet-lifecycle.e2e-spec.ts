// The wallet lifecycle (issue 12) through @saldo/client against the real ledger and aggregator:
// FindWallets, UpdateWallet, Freeze/Unfreeze, CloseWallet and ExportStatement, over the HTTP door
// (Connect) and gRPC, with their refusals as the same coded errors.
import {
  createSaldoClient,
  LimitPeriod,
  SaldoError,
  timestampFromDate,
  WalletOwnerType,
  WalletStatus,
  type SaldoClient,
} from '@saldo/client';
import { createNodeTransport } from '@saldo/client/node';
import { apiKey, freePort, sql, startStack, tenantId, type Stack } from '@saldo/test-support';

const TENANT = tenantId('lifecycle');
const KEY = apiKey();

let stack: Stack;
let saldo: SaldoClient; // Connect JSON on the HTTP door
let grpc: SaldoClient; // gRPC on the gRPC port

beforeAll(async () => {
  const connectPort = await freePort();
  stack = await startStack('lifecycle', {
    SALDO_API_KEYS: `${TENANT}=${KEY}`,
    AGGREGATOR_CONNECT_HOST: '127.0.0.1',
    AGGREGATOR_CONNECT_PORT: String(connectPort),
  });
  saldo = createSaldoClient({
    transport: createNodeTransport({ baseUrl: `http://127.0.0.1:${connectPort}`, protocol: 'connect' }),
    apiKey: KEY,
  });
  grpc = createSaldoClient({
    transport: createNodeTransport({ baseUrl: `http://${stack.aggregatorTarget}` }),
    apiKey: KEY,
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => {
      if (!(error instanceof SaldoError)) throw error;
      return { status: error.status, reason: error.reason, field: error.field };
    },
  );

it('FindWallets by owner id, external reference and parent, with cursor paging', async () => {
  const org = await saldo.openWallet({
    ownerType: WalletOwnerType.ENTERPRISE,
    ownerId: 'acme',
    currency: 'USD',
    externalReference: 'ACME-001',
  });
  const members = [];
  for (const name of ['m1', 'm2', 'm3'])
    members.push(
      await saldo.openWallet({
        ownerType: WalletOwnerType.PERSONAL,
        ownerId: name,
        currency: 'USD',
        parentWalletId: org.walletId,
      }),
    );
  const byReference = await saldo.findWallets({ externalReference: 'ACME-001' });
  expect(byReference.wallets.map((w) => [w.walletId, w.externalReference])).toEqual([
    [org.walletId, 'ACME-001'],
  ]);
  expect((await grpc.findWallets({ ownerId: 'm2' })).wallets.map((w) => w.walletId)).toEqual([
    members[1]?.walletId,
  ]);

  const first = await saldo.findWallets({ parentWalletId: org.walletId, pageSize: 2 });
  expect(first.wallets).toHaveLength(2);
  expect(first.nextPageToken).not.toBe('');
  const second = await saldo.findWallets({
    parentWalletId: org.walletId,
    pageSize: 2,
    pageToken: first.nextPageToken,
  });
  expect(second.nextPageToken).toBe('');
  expect([...first.wallets, ...second.wallets].map((w) => w.walletId).sort()).toEqual(
    members.map((m) => m.walletId).sort(),
  );
  expect(await refusal(saldo.findWallets({}))).toMatchObject({ status: 'INVALID_ARGUMENT' });
}, 60_000);

it('UpdateWallet changes a member’s limit and period and the metadata; idempotent and audited', async () => {
  const org = await saldo.openWallet({
    ownerType: WalletOwnerType.ENTERPRISE,
    ownerId: 'globex',
    currency: 'USD',
  });
  await saldo.topUp({ walletId: org.walletId, amount: 100_000n });
  const member = await saldo.openWallet({
    ownerType: WalletOwnerType.PERSONAL,
    ownerId: 'hank',
    currency: 'USD',
    parentWalletId: org.walletId,
    spendLimit: 1_000n,
    metadata: { team: 'ops' },
  });
  const request = {
    walletId: member.walletId,
    spendLimit: 5_000n,
    limitPeriod: LimitPeriod.DAY,
    metadata: { cost_center: 'cc-7' },
    removeMetadataKeys: ['team'],
    reason: 'promotion',
  };
  const updated = await saldo.updateWallet(request, { idempotencyKey: 'upd-1' });
  expect(updated).toMatchObject({
    spendLimit: '5000',
    limitPeriod: LimitPeriod.DAY,
    metadata: { cost_center: 'cc-7' },
  });
  const replay = await grpc.updateWallet(request, { idempotencyKey: 'upd-1' });
  expect(replay.replayed).toBe(true);
  expect(
    await refusal(saldo.updateWallet({ ...request, spendLimit: 6_000n }, { idempotencyKey: 'upd-1' })),
  ).toMatchObject({
    status: 'ALREADY_EXISTS',
  });
  // The new limit holds: 5000 per day.
  await saldo.bookUsage({ walletId: member.walletId, amount: 4_000n, productCode: 'p' });
  expect(
    await refusal(saldo.bookUsage({ walletId: member.walletId, amount: 2_000n, productCode: 'p' })),
  ).toMatchObject({
    reason: 'SPEND_LIMIT_EXCEEDED',
  });
  expect(await refusal(saldo.updateWallet({ walletId: org.walletId, spendLimit: 1n }))).toMatchObject({
    status: 'FAILED_PRECONDITION',
    field: 'spend_limit',
  });
  const audit = await sql<{
    action: string;
    before: { spend_limit_minor: string };
    after: { spend_limit_minor: string };
    reason: string;
  }>(
    stack.database.url,
    `SELECT action, before, after, reason FROM aggregator.wallet_changes WHERE tenant_id = $1 AND wallet_id = $2`,
    [TENANT, member.walletId],
  );
  expect(audit).toEqual([
    expect.objectContaining({
      action: 'UpdateWallet',
      reason: 'promotion',
      before: expect.objectContaining({ spend_limit_minor: '1000' }),
      after: expect.objectContaining({ spend_limit_minor: '5000' }),
    }),
  ]);
}, 60_000);

it('a frozen wallet refuses debits with FAILED_PRECONDITION and still receives credits; unfrozen it spends again', async () => {
  const wallet = await saldo.openWallet({
    ownerType: WalletOwnerType.PERSONAL,
    ownerId: 'ivy',
    currency: 'IDR',
  });
  const other = await saldo.openWallet({
    ownerType: WalletOwnerType.PERSONAL,
    ownerId: 'jon',
    currency: 'IDR',
  });
  await saldo.topUp({ walletId: wallet.walletId, amount: 10_000n });
  const hold = await saldo.reserve({ walletId: wallet.walletId, amount: 1_000n, productCode: 'p' });
  const frozen = await saldo.freezeWallet({ walletId: wallet.walletId, reason: 'chargeback' });
  expect(frozen.status).toBe(WalletStatus.FROZEN);

  const frozenRefusal = { status: 'FAILED_PRECONDITION', reason: 'WALLET_FROZEN' };
  expect(
    await refusal(saldo.bookUsage({ walletId: wallet.walletId, amount: 1n, productCode: 'p' })),
  ).toMatchObject(frozenRefusal);
  expect(
    await refusal(grpc.reserve({ walletId: wallet.walletId, amount: 1n, productCode: 'p' })),
  ).toMatchObject(frozenRefusal);
  expect(await refusal(saldo.capture({ transactionId: hold.transactionId }))).toMatchObject(frozenRefusal);
  expect(
    await refusal(saldo.transfer({ fromWalletId: wallet.walletId, toWalletId: other.walletId, amount: 1n })),
  ).toMatchObject({ ...frozenRefusal, field: 'from_wallet_id' });
  // Credits still arrive: a top-up, an incoming transfer, a released hold.
  await saldo.topUp({ walletId: wallet.walletId, amount: 500n });
  await saldo.topUp({ walletId: other.walletId, amount: 300n });
  await saldo.transfer({ fromWalletId: other.walletId, toWalletId: wallet.walletId, amount: 300n });
  await saldo.void({ transactionId: hold.transactionId, reason: 'released while frozen' });
  expect((await saldo.getWallet({ walletId: wallet.walletId })).postedBalance).toBe('10800');

  const thawed = await saldo.unfreezeWallet({ walletId: wallet.walletId });
  expect(thawed.status).toBe(WalletStatus.ACTIVE);
  await saldo.bookUsage({ walletId: wallet.walletId, amount: 800n, productCode: 'p' });
}, 60_000);

it('CloseWallet only at zero balance without holds; a closed wallet refuses every write', async () => {
  const wallet = await saldo.openWallet({
    ownerType: WalletOwnerType.PERSONAL,
    ownerId: 'kim',
    currency: 'IDR',
  });
  await saldo.topUp({ walletId: wallet.walletId, amount: 700n });
  expect(await refusal(saldo.closeWallet({ walletId: wallet.walletId }))).toMatchObject({
    status: 'FAILED_PRECONDITION',
    reason: 'WALLET_RULE_VIOLATION',
  });
  const hold = await saldo.reserve({ walletId: wallet.walletId, amount: 700n, productCode: 'p' });
  await saldo.capture({ transactionId: hold.transactionId, amount: 700n });
  const closed = await saldo.closeWallet(
    { walletId: wallet.walletId, reason: 'customer left' },
    { idempotencyKey: 'close-kim' },
  );
  expect(closed.status).toBe(WalletStatus.CLOSED);
  expect(
    (
      await saldo.closeWallet(
        { walletId: wallet.walletId, reason: 'customer left' },
        { idempotencyKey: 'close-kim' },
      )
    ).replayed,
  ).toBe(true);

  const closedRefusal = { status: 'FAILED_PRECONDITION', reason: 'WALLET_CLOSED' };
  expect(await refusal(saldo.topUp({ walletId: wallet.walletId, amount: 1n }))).toMatchObject(closedRefusal);
  expect(
    await refusal(saldo.bookUsage({ walletId: wallet.walletId, amount: 1n, productCode: 'p' })),
  ).toMatchObject(closedRefusal);
  expect(await refusal(saldo.unfreezeWallet({ walletId: wallet.walletId }))).toMatchObject(closedRefusal);
  expect(
    await refusal(saldo.updateWallet({ walletId: wallet.walletId, metadata: { a: 'b' } })),
  ).toMatchObject(closedRefusal);
  // Reads still work.
  expect((await grpc.getWallet({ walletId: wallet.walletId })).status).toBe(WalletStatus.CLOSED);
}, 60_000);

it('ExportStatement: entries in [from, to) with opening, closing and running balance', async () => {
  const wallet = await saldo.openWallet({
    ownerType: WalletOwnerType.PERSONAL,
    ownerId: 'lea',
    currency: 'USD',
  });
  await saldo.topUp({ walletId: wallet.walletId, amount: 10_000n });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const from = new Date();
  await new Promise((resolve) => setTimeout(resolve, 50));
  await saldo.bookUsage({ walletId: wallet.walletId, amount: 2_500n, productCode: 'p' });
  await saldo.topUp({ walletId: wallet.walletId, amount: 1_000n });
  const statement = await saldo.exportStatement({ walletId: wallet.walletId, from: timestampFromDate(from) });
  expect(statement).toMatchObject({
    currency: 'USD',
    currencyScale: 2,
    openingBalance: '10000',
    closingBalance: '8500',
  });
  expect(statement.lines.map((line) => [line.action, line.amount, line.balance])).toEqual([
    ['USAGE', '-2500', '7500'],
    ['TOP_UP', '1000', '8500'],
  ]);
  const all = await grpc.exportStatement({ walletId: wallet.walletId });
  expect(all.openingBalance).toBe('0');
  expect(all.lines.map((line) => line.balance)).toEqual(['10000', '7500', '8500']);
}, 60_000);
