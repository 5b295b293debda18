import { status } from '@grpc/grpc-js';
import { decodeStatusDetails } from '@saldo/grpc-kit';
import { ledgerV1 } from '@saldo/proto';
import {
  balanceOf,
  entryCount,
  rejection,
  setupWallets,
  startLedgerHarness,
  topUp,
  transferRequest,
  uniqueTenant,
  type LedgerHarness,
} from './ledger-harness';

const { AccountType, EntrySide, EntryPhase, TransactionKind, TransactionStatus } = ledgerV1;
const CASH = { system: AccountType.ACCOUNT_TYPE_CASH_CLEARING };
const REVENUE = { system: AccountType.ACCOUNT_TYPE_REVENUE };

let ledger: LedgerHarness;

beforeAll(async () => {
  ledger = await startLedgerHarness();
}, 60_000);

afterAll(async () => {
  await ledger?.stop();
}, 60_000);

describe('authentication', () => {
  it('refuses calls without the service token or with a wrong one', async () => {
    const tenantId = uniqueTenant();
    for (const token of [undefined, 'wrong-token-wrong-token-wrong']) {
      const refused = await rejection(
        ledger.clientWithToken(token).defineAsset({ tenantId, code: 'IDR', scale: 0 }),
      );
      expect(refused.code).toBe(status.UNAUTHENTICATED);
      expect(refused.errorCode).toBe('UNAUTHENTICATED');
    }
    const [row] = await ledger.sql<{ n: string }>(
      'SELECT count(*) AS n FROM ledger.assets WHERE tenant_id = $1',
      [tenantId],
    );
    expect(row?.n).toBe('0');
  });
});

describe('assets and accounts', () => {
  it('defines an asset with its six system accounts, idempotently', async () => {
    const tenantId = uniqueTenant();
    const asset = await ledger.client.defineAsset({ tenantId, code: 'USD', scale: 2 });
    expect(asset).toMatchObject({ tenantId, code: 'USD', scale: 2 });
    await ledger.client.defineAsset({ tenantId, code: 'USD', scale: 2 });
    const { accounts } = await ledger.client.listSystemAccounts({ tenantId, assetCode: 'USD' });
    expect(accounts.map((a) => a.type).sort()).toEqual(
      [
        AccountType.ACCOUNT_TYPE_CASH_CLEARING,
        AccountType.ACCOUNT_TYPE_COST_OF_REVENUE,
        AccountType.ACCOUNT_TYPE_OPENING_BALANCES,
        AccountType.ACCOUNT_TYPE_PAYABLES,
        AccountType.ACCOUNT_TYPE_PROMOTIONS,
        AccountType.ACCOUNT_TYPE_REVENUE,
      ].sort(),
    );
    const conflict = await rejection(ledger.client.defineAsset({ tenantId, code: 'USD', scale: 0 }));
    expect(conflict).toMatchObject({
      code: status.ALREADY_EXISTS,
      errorCode: 'ASSET_CONFLICT',
      field: 'scale',
    });
    const bad = await rejection(ledger.client.defineAsset({ tenantId, code: 'usd', scale: 2 }));
    expect(bad).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'code' });
  });

  it('opens wallets idempotently and refuses a reused key with another request', async () => {
    const tenantId = uniqueTenant();
    await ledger.client.defineAsset({ tenantId, code: 'IDR', scale: 0 });
    const request = {
      tenantId,
      idempotencyKey: 'open-1',
      assetCode: 'IDR',
      type: AccountType.ACCOUNT_TYPE_WALLET,
      overdraftLimit: '500',
      externalRef: 'w-1',
      metadata: { owner_id: 'u-1' },
    };
    const first = await ledger.client.openAccount(request);
    expect(first).toMatchObject({ assetCode: 'IDR', assetScale: 0, overdraftLimit: '500', replayed: false });
    expect(first.balance).toMatchObject({ postedBalance: '0', availableBalance: '0', version: '0' });
    const replay = await ledger.client.openAccount(request);
    expect(replay.accountId).toBe(first.accountId);
    expect(replay.replayed).toBe(true);
    const reused = await rejection(ledger.client.openAccount({ ...request, overdraftLimit: '0' }));
    expect(reused).toMatchObject({
      code: status.ALREADY_EXISTS,
      errorCode: 'IDEMPOTENCY_CONFLICT',
      field: 'idempotency_key',
    });
    const unknownAsset = await rejection(
      ledger.client.openAccount({ ...request, idempotencyKey: 'open-2', assetCode: 'EUR' }),
    );
    expect(unknownAsset).toMatchObject({
      code: status.NOT_FOUND,
      errorCode: 'ASSET_NOT_FOUND',
      field: 'asset_code',
    });
    const system = await rejection(
      ledger.client.openAccount({
        ...request,
        idempotencyKey: 'open-3',
        type: AccountType.ACCOUNT_TYPE_REVENUE,
      }),
    );
    expect(system).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'type' });
  });

  it("hides other tenants' accounts as not found", async () => {
    const [wallet] = await setupWallets(ledger.client, uniqueTenant('owner'), 1, 100n);
    const intruder = uniqueTenant('intruder');
    await ledger.client.defineAsset({ tenantId: intruder, code: 'IDR', scale: 0 });
    expect(
      await rejection(ledger.client.getAccount({ tenantId: intruder, accountId: wallet! })),
    ).toMatchObject({
      code: status.NOT_FOUND,
      errorCode: 'ACCOUNT_NOT_FOUND',
    });
    const stolen = await rejection(
      ledger.client.postTransaction(transferRequest(intruder, 'steal', { id: wallet! }, CASH, 50n)),
    );
    expect(stolen).toMatchObject({ code: status.NOT_FOUND, errorCode: 'ACCOUNT_NOT_FOUND' });
    expect(await entryCount(ledger, intruder)).toBe(0);
  });
});

describe('posting', () => {
  it('posts a balanced transaction and moves balances, versions and running totals', async () => {
    const tenantId = uniqueTenant();
    const [a, b] = await setupWallets(ledger.client, tenantId, 2);
    const top = await topUp(ledger.client, tenantId, a!, 1_000n, 'top-1');
    expect(top).toMatchObject({
      kind: TransactionKind.TRANSACTION_KIND_POSTED,
      status: TransactionStatus.TRANSACTION_STATUS_POSTED,
      action: 'TOP_UP',
      replayed: false,
    });
    expect(top.entries).toHaveLength(2);
    const walletEntry = top.entries.find((e) => e.accountId === a);
    expect(walletEntry).toMatchObject({
      side: EntrySide.ENTRY_SIDE_CREDIT,
      phase: EntryPhase.ENTRY_PHASE_POSTED,
      amount: '1000',
    });
    expect(walletEntry?.balanceAfter).toMatchObject({
      postedBalance: '1000',
      availableBalance: '1000',
      version: '1',
    });

    const moved = await ledger.client.postTransaction(
      transferRequest(tenantId, 'move-1', { id: a! }, { id: b! }, 400n, {
        references: { order: 'o-9' },
        metadata: { note: 'x' },
      }),
    );
    expect(moved.references).toEqual({ order: 'o-9' });
    expect(await balanceOf(ledger.client, tenantId, a!)).toMatchObject({
      postedBalance: '600',
      debitsPosted: '400',
      creditsPosted: '1000',
      version: '2',
    });
    expect(await balanceOf(ledger.client, tenantId, b!)).toMatchObject({
      postedBalance: '400',
      version: '1',
    });
    const cash = (await ledger.client.listSystemAccounts({ tenantId, assetCode: 'IDR' })).accounts.find(
      (acc) => acc.type === AccountType.ACCOUNT_TYPE_CASH_CLEARING,
    );
    expect(cash?.balance).toMatchObject({ postedBalance: '1000', debitsPosted: '1000' });
  });

  it('posts a multi-leg usage with its cost in one transaction', async () => {
    const tenantId = uniqueTenant();
    const [wallet] = await setupWallets(ledger.client, tenantId, 1, 1_000n);
    const leg = (
      party: { id?: string; system?: ledgerV1.AccountType },
      side: ledgerV1.EntrySide,
      amount: string,
    ) => ({
      accountId: party.id ?? '',
      systemAccount: party.system ?? AccountType.ACCOUNT_TYPE_UNSPECIFIED,
      side,
      amount,
    });
    const usage = await ledger.client.postTransaction({
      ...transferRequest(tenantId, 'usage-1', { id: wallet! }, REVENUE, 300n, { action: 'USAGE' }),
      legs: [
        leg({ id: wallet! }, EntrySide.ENTRY_SIDE_DEBIT, '300'),
        leg({ system: AccountType.ACCOUNT_TYPE_REVENUE }, EntrySide.ENTRY_SIDE_CREDIT, '300'),
        leg({ system: AccountType.ACCOUNT_TYPE_COST_OF_REVENUE }, EntrySide.ENTRY_SIDE_DEBIT, '120'),
        leg({ system: AccountType.ACCOUNT_TYPE_PAYABLES }, EntrySide.ENTRY_SIDE_CREDIT, '120'),
      ],
    });
    expect(usage.entries).toHaveLength(4);
    const system = (await ledger.client.listSystemAccounts({ tenantId, assetCode: 'IDR' })).accounts;
    const byType = Object.fromEntries(system.map((acc) => [acc.type, acc.balance?.postedBalance]));
    expect(byType[AccountType.ACCOUNT_TYPE_REVENUE]).toBe('300');
    expect(byType[AccountType.ACCOUNT_TYPE_COST_OF_REVENUE]).toBe('120');
    expect(byType[AccountType.ACCOUNT_TYPE_PAYABLES]).toBe('120');
  });

  it.each([
    ['-5', 'negative'],
    ['0', 'zero'],
    ['1.5', 'decimal'],
    ['1e3', 'exponent'],
    ['', 'empty'],
    [' 10', 'padded'],
    ['010', 'leading zero'],
    ['9223372036854775808', 'over the ledger range'],
  ])('refuses the amount %j (%s) naming the field, and changes nothing', async (amount) => {
    const tenantId = uniqueTenant();
    const [a] = await setupWallets(ledger.client, tenantId, 1, 100n);
    const before = await entryCount(ledger, tenantId);
    const refused = await rejection(
      ledger.client.postTransaction(transferRequest(tenantId, 'bad-amount', { id: a! }, REVENUE, amount)),
    );
    expect(refused).toMatchObject({
      code: status.INVALID_ARGUMENT,
      errorCode: 'INVALID_ARGUMENT',
      field: 'legs[0].amount',
    });
    expect(await entryCount(ledger, tenantId)).toBe(before);
  });

  it('refuses unbalanced, one-legged, mixed-asset and key-less postings', async () => {
    const tenantId = uniqueTenant();
    const [a] = await setupWallets(ledger.client, tenantId, 1, 100n);
    await ledger.client.defineAsset({ tenantId, code: 'USD', scale: 2 });
    const usd = await ledger.client.openAccount({
      tenantId,
      idempotencyKey: 'usd-1',
      assetCode: 'USD',
      type: AccountType.ACCOUNT_TYPE_WALLET,
      overdraftLimit: '0',
      externalRef: '',
      metadata: {},
    });
    const base = transferRequest(tenantId, 'k', { id: a! }, REVENUE, 10n);
    const unbalanced = await rejection(
      ledger.client.postTransaction({ ...base, legs: [base.legs[0]!, { ...base.legs[1]!, amount: '9' }] }),
    );
    expect(unbalanced).toMatchObject({
      code: status.INVALID_ARGUMENT,
      errorCode: 'UNBALANCED_TRANSACTION',
      field: 'legs',
    });
    const oneLeg = await rejection(ledger.client.postTransaction({ ...base, legs: [base.legs[0]!] }));
    expect(oneLeg).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'legs' });
    const mixed = await rejection(
      ledger.client.postTransaction(
        transferRequest(tenantId, 'mixed', { id: a! }, { id: usd.accountId }, 10n),
      ),
    );
    expect(mixed).toMatchObject({ code: status.INVALID_ARGUMENT, errorCode: 'ASSET_MISMATCH' });
    const keyless = await rejection(ledger.client.postTransaction({ ...base, idempotencyKey: '' }));
    expect(keyless).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'idempotency_key' });
    expect(await balanceOf(ledger.client, tenantId, a!)).toMatchObject({
      postedBalance: '100',
      version: '1',
    });
  });

  it('refuses a debit beyond available + overdraft atomically, with details', async () => {
    const tenantId = uniqueTenant();
    const [a, b] = await setupWallets(ledger.client, tenantId, 2, 100n);
    const refused = ledger.client.postTransaction(
      transferRequest(tenantId, 'too-much', { id: a! }, { id: b! }, 101n),
    );
    let error: { code: number; metadata: { get(k: string): unknown[] } } | undefined;
    await refused.catch((e) => (error = e));
    expect(error?.code).toBe(status.FAILED_PRECONDITION);
    const details = decodeStatusDetails(error!.metadata.get('grpc-status-details-bin')[0] as Buffer);
    expect(details).toMatchObject({ reason: 'INSUFFICIENT_FUNDS', facts: { shortfall: '1', account_id: a } });
    expect(details.fieldViolations[0]?.field).toBe('amount');
    expect(await balanceOf(ledger.client, tenantId, a!)).toMatchObject({
      postedBalance: '100',
      version: '1',
    });
    expect(await balanceOf(ledger.client, tenantId, b!)).toMatchObject({
      postedBalance: '100',
      version: '1',
    });

    const overdraft = await ledger.client.openAccount({
      tenantId,
      idempotencyKey: 'od',
      assetCode: 'IDR',
      type: AccountType.ACCOUNT_TYPE_WALLET,
      overdraftLimit: '50',
      externalRef: '',
      metadata: {},
    });
    await ledger.client.postTransaction(
      transferRequest(tenantId, 'od-1', { id: overdraft.accountId }, REVENUE, 50n),
    );
    expect(await balanceOf(ledger.client, tenantId, overdraft.accountId)).toMatchObject({
      postedBalance: '-50',
      availableBalance: '-50',
    });
    const beyond = await rejection(
      ledger.client.postTransaction(
        transferRequest(tenantId, 'od-2', { id: overdraft.accountId }, REVENUE, 1n),
      ),
    );
    expect(beyond).toMatchObject({ code: status.FAILED_PRECONDITION, errorCode: 'INSUFFICIENT_FUNDS' });
  });
});

describe('idempotency', () => {
  it('replays the original result and refuses a different request under the same key', async () => {
    const tenantId = uniqueTenant();
    const [a, b] = await setupWallets(ledger.client, tenantId, 2, 100n);
    const request = transferRequest(tenantId, 'pay-1', { id: a! }, { id: b! }, 30n);
    const first = await ledger.client.postTransaction(request);
    const again = await ledger.client.postTransaction(request);
    expect(again.transactionId).toBe(first.transactionId);
    expect(again.replayed).toBe(true);
    expect(again.entries).toEqual(first.entries);
    expect(await balanceOf(ledger.client, tenantId, a!)).toMatchObject({ postedBalance: '70', version: '2' });
    const different = await rejection(
      ledger.client.postTransaction({ ...request, legs: request.legs.map((l) => ({ ...l, amount: '31' })) }),
    );
    expect(different).toMatchObject({ code: status.ALREADY_EXISTS, errorCode: 'IDEMPOTENCY_CONFLICT' });
    const otherOperation = await rejection(
      ledger.client.reverseTransaction({
        tenantId,
        idempotencyKey: 'pay-1',
        transactionId: first.transactionId,
        reason: '',
        metadata: {},
      }),
    );
    expect(otherOperation).toMatchObject({ code: status.ALREADY_EXISTS, errorCode: 'IDEMPOTENCY_CONFLICT' });
  });

  it('posts once under 25 concurrent duplicates of one request', async () => {
    const tenantId = uniqueTenant();
    const [a, b] = await setupWallets(ledger.client, tenantId, 2, 100n);
    const request = transferRequest(tenantId, 'dup', { id: a! }, { id: b! }, 10n);
    const results = await Promise.all(
      Array.from({ length: 25 }, () => ledger.client.postTransaction(request)),
    );
    expect(new Set(results.map((r) => r.transactionId)).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(await balanceOf(ledger.client, tenantId, a!)).toMatchObject({ postedBalance: '90', version: '2' });
  });

  it('keys are per tenant: two tenants may use the same key', async () => {
    const [t1, t2] = [uniqueTenant(), uniqueTenant()];
    const [a1] = await setupWallets(ledger.client, t1, 1);
    const [a2] = await setupWallets(ledger.client, t2, 1);
    const r1 = await topUp(ledger.client, t1, a1!, 5n, 'same-key');
    const r2 = await topUp(ledger.client, t2, a2!, 7n, 'same-key');
    expect(r1.transactionId).not.toBe(r2.transactionId);
    expect(r2.replayed).toBe(false);
  });
});

describe('concurrency', () => {
  it('100 parallel debits of 1 on a wallet holding 37: exactly 37 succeed, balance 0', async () => {
    const tenantId = uniqueTenant();
    const [wallet] = await setupWallets(ledger.client, tenantId, 1, 37n);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) =>
        ledger.client.postTransaction(transferRequest(tenantId, `debit-${i}`, { id: wallet! }, REVENUE, 1n)),
      ),
    );
    const ok = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(ok).toHaveLength(37);
    expect(refused.every((o) => (o.reason as { code: number }).code === status.FAILED_PRECONDITION)).toBe(
      true,
    );
    expect(await balanceOf(ledger.client, tenantId, wallet!)).toMatchObject({
      postedBalance: '0',
      availableBalance: '0',
      version: '38',
    });
  });

  it('transfers in both directions between the same wallets never deadlock or lose money', async () => {
    const tenantId = uniqueTenant();
    const [a, b] = await setupWallets(ledger.client, tenantId, 2, 1_000n);
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        ledger.client.postTransaction(
          transferRequest(
            tenantId,
            `x-${i}`,
            { id: i % 2 ? a! : b! },
            { id: i % 2 ? b! : a! },
            BigInt(1 + (i % 7)),
          ),
        ),
      ),
    );
    const [ba, bb] = [
      await balanceOf(ledger.client, tenantId, a!),
      await balanceOf(ledger.client, tenantId, b!),
    ];
    expect(BigInt(ba.postedBalance) + BigInt(bb.postedBalance)).toBe(2_000n);
  });
});

describe('holds', () => {
  async function reserve(tenantId: string, wallet: string, amount: bigint, key: string, timeoutSeconds = 0) {
    return ledger.client.postTransaction(
      transferRequest(tenantId, key, { id: wallet }, REVENUE, amount, {
        pending: true,
        timeoutSeconds,
        action: 'RESERVE',
      }),
    );
  }

  it('holds funds, posts part of a hold once and releases the rest', async () => {
    const tenantId = uniqueTenant();
    const [wallet] = await setupWallets(ledger.client, tenantId, 1, 100n);
    const hold = await reserve(tenantId, wallet!, 80n, 'hold-1');
    expect(hold).toMatchObject({
      kind: TransactionKind.TRANSACTION_KIND_PENDING,
      status: TransactionStatus.TRANSACTION_STATUS_PENDING,
    });
    expect(await balanceOf(ledger.client, tenantId, wallet!)).toMatchObject({
      postedBalance: '100',
      debitsPending: '80',
      availableBalance: '20',
    });
    expect(await rejection(reserve(tenantId, wallet!, 21n, 'hold-2'))).toMatchObject({
      errorCode: 'INSUFFICIENT_FUNDS',
    });

    const tooMuch = await rejection(
      ledger.client.postPending({
        tenantId,
        idempotencyKey: 'cap-0',
        pendingTransactionId: hold.transactionId,
        amount: '81',
        metadata: {},
      }),
    );
    expect(tooMuch).toMatchObject({ code: status.FAILED_PRECONDITION, errorCode: 'AMOUNT_EXCEEDS_HOLD' });

    const capture = await ledger.client.postPending({
      tenantId,
      idempotencyKey: 'cap-1',
      pendingTransactionId: hold.transactionId,
      amount: '60',
      metadata: {},
    });
    expect(capture).toMatchObject({
      kind: TransactionKind.TRANSACTION_KIND_POST_PENDING,
      pendingTransactionId: hold.transactionId,
    });
    expect(await balanceOf(ledger.client, tenantId, wallet!)).toMatchObject({
      postedBalance: '40',
      debitsPending: '0',
      availableBalance: '40',
    });
    const held = await ledger.client.getTransaction({ tenantId, transactionId: hold.transactionId });
    expect(held).toMatchObject({
      status: TransactionStatus.TRANSACTION_STATUS_POSTED,
      resolvedByTransactionId: capture.transactionId,
    });

    const twice = await rejection(
      ledger.client.postPending({
        tenantId,
        idempotencyKey: 'cap-2',
        pendingTransactionId: hold.transactionId,
        amount: '',
        metadata: {},
      }),
    );
    expect(twice).toMatchObject({ code: status.FAILED_PRECONDITION, errorCode: 'HOLD_NOT_PENDING' });
    const voidAfter = await rejection(
      ledger.client.voidPending({
        tenantId,
        idempotencyKey: 'void-1',
        pendingTransactionId: hold.transactionId,
        reason: 'late',
      }),
    );
    expect(voidAfter).toMatchObject({ code: status.FAILED_PRECONDITION, errorCode: 'HOLD_NOT_PENDING' });
  });

  it('voids a hold once; a voided hold can never be posted', async () => {
    const tenantId = uniqueTenant();
    const [wallet] = await setupWallets(ledger.client, tenantId, 1, 100n);
    const hold = await reserve(tenantId, wallet!, 70n, 'hold');
    const voided = await ledger.client.voidPending({
      tenantId,
      idempotencyKey: 'void',
      pendingTransactionId: hold.transactionId,
      reason: 'cancelled',
    });
    expect(voided).toMatchObject({
      kind: TransactionKind.TRANSACTION_KIND_VOID_PENDING,
      metadata: { reason: 'cancelled' },
    });
    expect(voided.entries.every((e) => e.phase === EntryPhase.ENTRY_PHASE_RELEASE)).toBe(true);
    expect(await balanceOf(ledger.client, tenantId, wallet!)).toMatchObject({
      postedBalance: '100',
      availableBalance: '100',
    });
    expect(
      await rejection(
        ledger.client.voidPending({
          tenantId,
          idempotencyKey: 'void-again',
          pendingTransactionId: hold.transactionId,
          reason: '',
        }),
      ),
    ).toMatchObject({ errorCode: 'HOLD_NOT_PENDING' });
    expect(
      await rejection(
        ledger.client.postPending({
          tenantId,
          idempotencyKey: 'post',
          pendingTransactionId: hold.transactionId,
          amount: '',
          metadata: {},
        }),
      ),
    ).toMatchObject({ errorCode: 'HOLD_NOT_PENDING' });
    const notAHold = await rejection(
      ledger.client.voidPending({
        tenantId,
        idempotencyKey: 'v3',
        pendingTransactionId: voided.transactionId,
        reason: '',
      }),
    );
    expect(notAHold).toMatchObject({ code: status.FAILED_PRECONDITION, errorCode: 'HOLD_NOT_PENDING' });
  });

  it('races a capture against a void: exactly one wins', async () => {
    const tenantId = uniqueTenant();
    const [wallet] = await setupWallets(ledger.client, tenantId, 1, 100n);
    for (let round = 0; round < 5; round += 1) {
      const hold = await reserve(tenantId, wallet!, 10n, `race-${round}`);
      const outcomes = await Promise.allSettled([
        ledger.client.postPending({
          tenantId,
          idempotencyKey: `rp-${round}`,
          pendingTransactionId: hold.transactionId,
          amount: '',
          metadata: {},
        }),
        ledger.client.voidPending({
          tenantId,
          idempotencyKey: `rv-${round}`,
          pendingTransactionId: hold.transactionId,
          reason: '',
        }),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    }
    const balance = await balanceOf(ledger.client, tenantId, wallet!);
    expect(balance.debitsPending).toBe('0');
  });
});

describe('reversal', () => {
  it('reverses a posted transaction once, with a linked transaction', async () => {
    const tenantId = uniqueTenant();
    const [a, b] = await setupWallets(ledger.client, tenantId, 2, 100n);
    const payment = await ledger.client.postTransaction(
      transferRequest(tenantId, 'pay', { id: a! }, { id: b! }, 30n),
    );
    const reversal = await ledger.client.reverseTransaction({
      tenantId,
      idempotencyKey: 'rev',
      transactionId: payment.transactionId,
      reason: 'refund',
      metadata: {},
    });
    expect(reversal).toMatchObject({
      kind: TransactionKind.TRANSACTION_KIND_REVERSAL,
      reversesTransactionId: payment.transactionId,
    });
    expect(
      await ledger.client.getTransaction({ tenantId, transactionId: payment.transactionId }),
    ).toMatchObject({
      status: TransactionStatus.TRANSACTION_STATUS_REVERSED,
      reversedByTransactionId: reversal.transactionId,
    });
    expect(await balanceOf(ledger.client, tenantId, a!)).toMatchObject({
      postedBalance: '100',
      version: '3',
    });
    expect(
      await rejection(
        ledger.client.reverseTransaction({
          tenantId,
          idempotencyKey: 'rev-2',
          transactionId: payment.transactionId,
          reason: '',
          metadata: {},
        }),
      ),
    ).toMatchObject({ code: status.FAILED_PRECONDITION, errorCode: 'NOT_REVERSIBLE' });
    expect(
      await rejection(
        ledger.client.reverseTransaction({
          tenantId,
          idempotencyKey: 'rev-3',
          transactionId: reversal.transactionId,
          reason: '',
          metadata: {},
        }),
      ),
    ).toMatchObject({ errorCode: 'NOT_REVERSIBLE' });
    const hold = await ledger.client.postTransaction(
      transferRequest(tenantId, 'h', { id: a! }, REVENUE, 5n, { pending: true }),
    );
    const open = await rejection(
      ledger.client.reverseTransaction({
        tenantId,
        idempotencyKey: 'rev-4',
        transactionId: hold.transactionId,
        reason: '',
        metadata: {},
      }),
    );
    expect(open).toMatchObject({ errorCode: 'NOT_REVERSIBLE' });
    expect(open.message).toMatch(/is a hold: void it instead/);
    const capture = await ledger.client.postPending({
      tenantId,
      idempotencyKey: 'cap',
      pendingTransactionId: hold.transactionId,
      amount: '',
      metadata: {},
    });
    const captured = await rejection(
      ledger.client.reverseTransaction({
        tenantId,
        idempotencyKey: 'rev-5',
        transactionId: hold.transactionId,
        reason: '',
        metadata: {},
      }),
    );
    expect(captured.message).toContain(
      `captured by transaction ${capture.transactionId}: reverse that capture instead`,
    );
    await ledger.client.reverseTransaction({
      tenantId,
      idempotencyKey: 'rev-6',
      transactionId: capture.transactionId,
      reason: '',
      metadata: {},
    });
    expect(await balanceOf(ledger.client, tenantId, a!)).toMatchObject({ postedBalance: '100' });
  });

  it('refuses a reversal that would overdraw the wallet that received the money', async () => {
    const tenantId = uniqueTenant();
    const [a] = await setupWallets(ledger.client, tenantId, 1);
    const top = await topUp(ledger.client, tenantId, a!, 50n, 'top');
    await ledger.client.postTransaction(transferRequest(tenantId, 'spend', { id: a! }, REVENUE, 40n));
    const refused = await rejection(
      ledger.client.reverseTransaction({
        tenantId,
        idempotencyKey: 'rev',
        transactionId: top.transactionId,
        reason: '',
        metadata: {},
      }),
    );
    expect(refused).toMatchObject({ code: status.FAILED_PRECONDITION, errorCode: 'INSUFFICIENT_FUNDS' });
    expect(await ledger.client.getTransaction({ tenantId, transactionId: top.transactionId })).toMatchObject({
      status: TransactionStatus.TRANSACTION_STATUS_POSTED,
    });
  });
});

describe('reads', () => {
  it('answers the balance as of a past time', async () => {
    const tenantId = uniqueTenant();
    const [a] = await setupWallets(ledger.client, tenantId, 1);
    const beforeAnything = new Date();
    await new Promise((r) => setTimeout(r, 20));
    await topUp(ledger.client, tenantId, a!, 100n, 'top-1');
    await new Promise((r) => setTimeout(r, 20));
    const between = new Date();
    await new Promise((r) => setTimeout(r, 20));
    await topUp(ledger.client, tenantId, a!, 50n, 'top-2');
    const asOf = (date: Date) =>
      ledger.client.getBalance({
        tenantId,
        accountId: a!,
        asOf: { seconds: String(Math.floor(date.getTime() / 1000)), nanos: (date.getTime() % 1000) * 1e6 },
      });
    expect(await asOf(beforeAnything)).toMatchObject({ postedBalance: '0', version: '0' });
    expect(await asOf(between)).toMatchObject({ postedBalance: '100', version: '1' });
    expect(await balanceOf(ledger.client, tenantId, a!)).toMatchObject({
      postedBalance: '150',
      version: '2',
    });
  });

  it('pages through entries and transactions with cursors, newest first, without gaps or repeats', async () => {
    const tenantId = uniqueTenant();
    const [a] = await setupWallets(ledger.client, tenantId, 1);
    for (let i = 0; i < 11; i += 1) await topUp(ledger.client, tenantId, a!, BigInt(i + 1), `top-${i}`);
    const hold = await ledger.client.postTransaction(
      transferRequest(tenantId, 'hold', { id: a! }, REVENUE, 5n, { pending: true }),
    );
    await ledger.client.postPending({
      tenantId,
      idempotencyKey: 'cap',
      pendingTransactionId: hold.transactionId,
      amount: '3',
      metadata: {},
    });

    const entries: string[] = [];
    let token = '';
    do {
      const page = await ledger.client.listAccountEntries({
        tenantId,
        accountId: a!,
        pageSize: 4,
        pageToken: token,
      });
      entries.push(...page.entries.map((e) => e.entryId));
      token = page.nextPageToken;
    } while (token);
    expect(entries).toHaveLength(14); // 11 top-ups, 1 hold, release + post of the capture
    expect([...entries].sort((x, y) => Number(BigInt(y) - BigInt(x)))).toEqual(entries);

    const transactions: string[] = [];
    token = '';
    do {
      const page = await ledger.client.listAccountTransactions({
        tenantId,
        accountId: a!,
        pageSize: 5,
        pageToken: token,
      });
      transactions.push(...page.transactions.map((t) => t.transactionId));
      token = page.nextPageToken;
    } while (token);
    expect(transactions).toHaveLength(13);
    expect(new Set(transactions).size).toBe(13);

    expect(
      await rejection(
        ledger.client.listAccountEntries({ tenantId, accountId: a!, pageSize: 4, pageToken: 'bm9wZQ' }),
      ),
    ).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'page_token' });
    const other = uniqueTenant();
    expect(
      await rejection(ledger.client.getTransaction({ tenantId: other, transactionId: hold.transactionId })),
    ).toMatchObject({ code: status.NOT_FOUND, errorCode: 'TRANSACTION_NOT_FOUND' });
  });
});

describe('database guards', () => {
  it('entries are append-only and balances cannot drift from entries, even for direct SQL', async () => {
    const tenantId = uniqueTenant();
    const [a, b] = await setupWallets(ledger.client, tenantId, 2, 100n);
    await expect(
      ledger.sql('UPDATE ledger.entries SET amount = amount + 1 WHERE account_id = $1', [a]),
    ).rejects.toThrow(/append-only/);
    await expect(ledger.sql('DELETE FROM ledger.entries WHERE account_id = $1', [a])).rejects.toThrow(
      /append-only/,
    );
    await expect(ledger.sql('TRUNCATE ledger.entries CASCADE')).rejects.toThrow(/append-only/);
    await expect(
      ledger.sql(
        'UPDATE ledger.accounts SET credits_posted = credits_posted + 1000, version = version + 1 WHERE id = $1',
        [a],
      ),
    ).rejects.toThrow(/do not match its entries/);
    await expect(
      ledger.sql('UPDATE ledger.accounts SET debits_posted = 1000 WHERE id = $1', [b]),
    ).rejects.toThrow();
    await expect(
      ledger.sql(`UPDATE ledger.transactions SET status = 'pending' WHERE tenant_id = $1`, [tenantId]),
    ).rejects.toThrow(/cannot change/);
    expect(await balanceOf(ledger.client, tenantId, a!)).toMatchObject({
      postedBalance: '100',
      version: '1',
    });
  });
});
