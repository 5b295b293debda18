import { status } from '@grpc/grpc-js';
import { ledgerV1 } from '@saldo/proto';
import { createTestDatabase, type TestDatabase } from '@saldo/test-support';
import { createLedgerDataSource } from '../src/database/ledger-data-source';
import { GrantExpirySweeper } from '../src/ledger/expiry.sweeper';
import { verifyLedger } from '../src/verify/ledger-verifier';
import {
  balanceOf,
  rejection,
  setupWallets,
  startLedgerHarness,
  uniqueTenant,
  type LedgerClient,
  type LedgerHarness,
} from './ledger-harness';

const A = ledgerV1.AccountType;
const DEBIT = ledgerV1.EntrySide.ENTRY_SIDE_DEBIT;
const CREDIT = ledgerV1.EntrySide.ENTRY_SIDE_CREDIT;
const NO_SWEEP = { LEDGER_HOLD_SWEEP_INTERVAL_MS: '3600000' };

type Leg = ledgerV1.Leg;
const acct = (accountId: string, side: ledgerV1.EntrySide, amount: bigint): Leg => ({
  accountId,
  systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
  side,
  amount: amount.toString(),
});
const sys = (type: ledgerV1.AccountType, side: ledgerV1.EntrySide, amount: bigint): Leg => ({
  accountId: '',
  systemAccount: type,
  side,
  amount: amount.toString(),
});

function post(
  client: LedgerClient,
  tenantId: string,
  key: string,
  legs: Leg[],
  extra: Partial<ledgerV1.PostTransactionRequest> = {},
) {
  return client.postTransaction({
    tenantId,
    idempotencyKey: key,
    legs,
    assetCode: 'IDR',
    pending: false,
    timeoutSeconds: 0,
    action: 'USAGE',
    references: {},
    metadata: {},
    shadowDocumentId: '',
    ...extra,
  });
}

/** A top-up into a wallet with grants: cash → wallet, and the same amount contra → grant. */
function fundGrant(
  client: LedgerClient,
  tenantId: string,
  wallet: string,
  grant: string,
  amount: bigint,
  key: string,
) {
  return post(
    client,
    tenantId,
    key,
    [
      sys(A.ACCOUNT_TYPE_CASH_CLEARING, DEBIT, amount),
      acct(wallet, CREDIT, amount),
      sys(A.ACCOUNT_TYPE_GRANT_CONTRA, DEBIT, amount),
      acct(grant, CREDIT, amount),
    ],
    { action: 'TOP_UP' },
  );
}

/** A usage drawn from grants: wallet → revenue, and each grant → contra. */
function useGrants(
  client: LedgerClient,
  tenantId: string,
  wallet: string,
  draws: Array<[string, bigint]>,
  key: string,
  extra: Partial<ledgerV1.PostTransactionRequest> = {},
) {
  const total = draws.reduce((s, [, n]) => s + n, 0n);
  return post(
    client,
    tenantId,
    key,
    [
      acct(wallet, DEBIT, total),
      sys(A.ACCOUNT_TYPE_REVENUE, CREDIT, total),
      ...draws.map(([grant, n]) => acct(grant, DEBIT, n)),
      sys(A.ACCOUNT_TYPE_GRANT_CONTRA, CREDIT, total),
    ],
    extra,
  );
}

function openGrant(
  client: LedgerClient,
  tenantId: string,
  wallet: string,
  key: string,
  terms: Partial<ledgerV1.OpenGrantRequest> = {},
) {
  return client.openGrant({
    tenantId,
    idempotencyKey: key,
    walletAccountId: wallet,
    category: 'paid',
    priority: 0,
    effectiveAt: undefined,
    expiresAt: undefined,
    productCodes: [],
    source: 'top_up',
    sourceRef: '',
    ...terms,
  });
}

async function verify(db: TestDatabase) {
  const source = await createLedgerDataSource(db.url, 1).initialize();
  try {
    return await verifyLedger(source);
  } finally {
    await source.destroy();
  }
}
const violationsOf = (report: Awaited<ReturnType<typeof verify>>, name: string) =>
  report.checks.find((check) => check.name === name)?.violations ?? ['check missing'];

describe('credit grants in the ledger', () => {
  let db: TestDatabase;
  let ledger: LedgerHarness;

  beforeAll(async () => {
    // A private database: verify and the sweepers see only this suite's grants.
    db = await createTestDatabase('grants');
    ledger = await startLedgerHarness({ ...NO_SWEEP, DATABASE_URL: db.url });
  }, 60_000);
  afterAll(async () => {
    await ledger?.stop();
    await db?.drop();
  }, 30_000);

  it('grants are accounts inside the wallet: funded, drawn, held, given back, never overdrawn', async () => {
    const tenantId = uniqueTenant('g');
    const [wallet] = (await setupWallets(ledger.client, tenantId, 1)) as [string];
    const paid = await openGrant(ledger.client, tenantId, wallet, 'grant-paid');
    const promo = await openGrant(ledger.client, tenantId, wallet, 'grant-promo', {
      category: 'promotional',
      priority: 10,
      productCodes: ['esign', 'esign'],
      source: 'promotion',
    });
    expect(promo).toMatchObject({ category: 'promotional', priority: 10, productCodes: ['esign'] });
    // Idempotent on the key; the same key with other terms is refused.
    expect((await openGrant(ledger.client, tenantId, wallet, 'grant-paid')).grantId).toBe(paid.grantId);
    expect(
      await rejection(openGrant(ledger.client, tenantId, wallet, 'grant-paid', { category: 'promotional' })),
    ).toMatchObject({ code: status.ALREADY_EXISTS });
    expect(
      await rejection(openGrant(ledger.client, tenantId, wallet, 'bad', { category: 'gift' })),
    ).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'category' });

    await fundGrant(ledger.client, tenantId, wallet, paid.grantId, 100n, 'fund-paid');
    await fundGrant(ledger.client, tenantId, wallet, promo.grantId, 30n, 'fund-promo');
    // Drawing more from a grant than it holds is refused by the database, whatever the wallet holds.
    const over = await rejection(useGrants(ledger.client, tenantId, wallet, [[promo.grantId, 31n]], 'over'));
    expect(over).toMatchObject({ code: status.FAILED_PRECONDITION, errorCode: 'INSUFFICIENT_FUNDS' });
    expect(over.message).toContain(promo.grantId);
    const usage = await useGrants(
      ledger.client,
      tenantId,
      wallet,
      [
        [promo.grantId, 30n],
        [paid.grantId, 10n],
      ],
      'use-1',
      { references: { product_code: 'esign' } },
    );
    const hold = await useGrants(ledger.client, tenantId, wallet, [[paid.grantId, 25n]], 'hold-1', {
      pending: true,
    });
    let grants = (await ledger.client.listGrants({ tenantId, walletAccountId: wallet, includeClosed: false }))
      .grants;
    // The promotional grant is spent: closed, listed only on request.
    expect(grants.map((g) => g.grantId)).toEqual([paid.grantId]);
    expect(grants[0]).toMatchObject({
      grantedAmount: '100',
      consumedAmount: '10',
      heldAmount: '25',
      remainingAmount: '65',
      expiredAmount: '0',
    });
    await ledger.client.voidPending({
      tenantId,
      idempotencyKey: 'void-1',
      pendingTransactionId: hold.transactionId,
      reason: '',
    });
    await ledger.client.reverseTransaction({
      tenantId,
      idempotencyKey: 'rev-1',
      transactionId: usage.transactionId,
      reason: 'refund',
      metadata: {},
    });
    grants = (await ledger.client.listGrants({ tenantId, walletAccountId: wallet, includeClosed: true }))
      .grants;
    expect(grants.map((g) => [g.grantId, g.remainingAmount, g.consumedAmount])).toEqual([
      [paid.grantId, '100', '0'],
      [promo.grantId, '30', '0'],
    ]);
    expect(await balanceOf(ledger.client, tenantId, wallet)).toMatchObject({ availableBalance: '130' });
    // System accounts stay one per type; grants are not among them.
    const system = await ledger.client.listSystemAccounts({ tenantId, assetCode: 'IDR' });
    expect(system.accounts.map((a) => a.type)).toEqual(
      expect.arrayContaining([A.ACCOUNT_TYPE_GRANT_CONTRA, A.ACCOUNT_TYPE_BREAKAGE]),
    );
    expect(system.accounts.filter((a) => a.type === A.ACCOUNT_TYPE_GRANT)).toEqual([]);
  });

  it('expires each remainder exactly once with three sweepers, also after a give-back into an expired grant', async () => {
    const tenantId = uniqueTenant('x');
    const [wallet] = (await setupWallets(ledger.client, tenantId, 1)) as [string];
    const others = await Promise.all([
      startLedgerHarness({ ...NO_SWEEP, DATABASE_URL: db.url }),
      startLedgerHarness({ ...NO_SWEEP, DATABASE_URL: db.url }),
    ]);
    try {
      const soon = new Date(Date.now() + 1_500);
      const grant = await openGrant(ledger.client, tenantId, wallet, 'short', {
        expiresAt: { seconds: String(Math.floor(soon.getTime() / 1000)), nanos: 0 } as never,
      });
      await fundGrant(ledger.client, tenantId, wallet, grant.grantId, 50n, 'fund');
      const usage = await useGrants(ledger.client, tenantId, wallet, [[grant.grantId, 20n]], 'use');
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, soon.getTime() - Date.now()) + 1_100));
      const sweepers = [ledger, ...others].map((instance) => instance.app.get(GrantExpirySweeper));
      await Promise.all([...sweepers, ...sweepers].map((sweeper) => sweeper.sweepOnce()));
      await Promise.all(sweepers.map((sweeper) => sweeper.sweepOnce()));
      const expiries = await ledger.sql<{ n: string }>(
        `SELECT count(*) AS n FROM ledger.transactions WHERE tenant_id = $1 AND action = 'GRANT_EXPIRY'`,
        [tenantId],
      );
      expect(expiries[0]!.n).toBe('1');
      expect(await balanceOf(ledger.client, tenantId, wallet)).toMatchObject({ postedBalance: '0' });
      const breakage = (await ledger.client.listSystemAccounts({ tenantId, assetCode: 'IDR' })).accounts.find(
        (a) => a.type === A.ACCOUNT_TYPE_BREAKAGE,
      );
      expect(breakage?.balance?.postedBalance).toBe('30');

      // A refund of the earlier usage gives back to the expired grant: that remainder expires at once.
      await ledger.client.reverseTransaction({
        tenantId,
        idempotencyKey: 'refund',
        transactionId: usage.transactionId,
        reason: 'refund',
        metadata: {},
      });
      await Promise.all([...sweepers, ...sweepers].map((sweeper) => sweeper.sweepOnce()));
      const [listed] = (
        await ledger.client.listGrants({ tenantId, walletAccountId: wallet, includeClosed: true })
      ).grants;
      expect(listed).toMatchObject({ remainingAmount: '0', expiredAmount: '50', consumedAmount: '0' });
      expect(await balanceOf(ledger.client, tenantId, wallet)).toMatchObject({ postedBalance: '0' });
      const report = await verify(db);
      expect(report.checks.filter((c) => c.violations.length > 0)).toEqual([]);
    } finally {
      await Promise.all(others.map((other) => other.stop()));
    }
  }, 60_000);

  it("ledger verify finds a wallet whose grants do not add up and a draw outside a grant's terms", async () => {
    const tenantId = uniqueTenant('v');
    const [wallet] = (await setupWallets(ledger.client, tenantId, 1)) as [string];
    const future = new Date(Date.now() + 3_600_000);
    const grant = await openGrant(ledger.client, tenantId, wallet, 'kyc-only', {
      productCodes: ['kyc'],
      effectiveAt: { seconds: String(Math.floor(future.getTime() / 1000)), nanos: 0 } as never,
    });
    // The ledger posts what it is given; verify proves the aggregator kept the rules.
    await fundGrant(ledger.client, tenantId, wallet, grant.grantId, 10n, 'fund');
    await useGrants(ledger.client, tenantId, wallet, [[grant.grantId, 4n]], 'early', {
      references: { product_code: 'esign' },
    });
    await post(ledger.client, tenantId, 'plain-credit', [
      sys(A.ACCOUNT_TYPE_CASH_CLEARING, DEBIT, 5n),
      acct(wallet, CREDIT, 5n),
    ]);
    const report = await verify(db);
    expect(report.ok).toBe(false);
    expect(violationsOf(report, 'grants-sum-to-wallet').join('\n')).toContain(wallet);
    expect(violationsOf(report, 'grants-consumed-within-terms').join('\n')).toContain(
      'before it is effective',
    );
  });
});
