// TransactionService end to end: the real aggregator and wallet-ledger processes over gRPC, on
// PostgreSQL and Redis. Every method, each wallet model, auth and tenant isolation, bad input,
// idempotent replays.
import { status } from '@grpc/grpc-js';
import {
  checkHealth,
  AGGREGATOR_SCRIPT,
  Api,
  apiKey,
  cli,
  ROOT,
  sql,
  startStack,
  tenantId,
  type Stack,
} from '@saldo/test-support';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

jest.setTimeout(60_000);

const TENANT_A = tenantId('agg-a');
const TENANT_B = tenantId('agg-b');
const KEY_A = apiKey();
const KEY_B = apiKey();

let stack: Stack;
let api: Api;
let apiB: Api;
let n = 0;
const key = (label: string) => `${label}-${(n += 1)}-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  stack = await startStack('agg_e2e', { SALDO_API_KEYS: `${TENANT_A}=${KEY_A},${TENANT_B}=${KEY_B}` });
  api = new Api(stack.aggregatorTarget, KEY_A);
  apiB = new Api(stack.aggregatorTarget, KEY_B);
}, 120_000);

afterAll(async () => {
  api?.close();
  apiB?.close();
  await stack?.stop();
});

async function openWallet(fields: Record<string, unknown> = {}, client = api) {
  return client.call('OpenWallet', {
    idempotencyKey: key('open'),
    ownerType: 'PERSONAL',
    ownerId: `user-${n}`,
    currency: 'IDR',
    ...fields,
  });
}

async function topUp(walletId: string, amount: string, client = api) {
  return client.call('TopUp', { idempotencyKey: key('topup'), walletId, amount });
}

async function wallet(walletId: string, client = api) {
  return client.call('GetWallet', { walletId });
}

/** The ledger's own balance of a tenant's system account, read from its table. */
async function systemBalance(
  tenant: string,
  type: string,
  asset = 'IDR',
): Promise<{ debits: bigint; credits: bigint }> {
  const rows = await sql<{ d: string; c: string }>(
    stack.database.url,
    `SELECT debits_posted::text AS d, credits_posted::text AS c FROM ledger.accounts WHERE tenant_id = $1 AND asset_code = $2 AND type = $3`,
    [tenant, asset, type],
  );
  return rows[0] ? { debits: BigInt(rows[0].d), credits: BigInt(rows[0].c) } : { debits: 0n, credits: 0n };
}

async function ledgerTransactionCount(tenant: string): Promise<number> {
  const rows = await sql<{ n: string }>(
    stack.database.url,
    `SELECT count(*)::text AS n FROM ledger.transactions WHERE tenant_id = $1`,
    [tenant],
  );
  return Number(rows[0]?.n);
}

describe('the server', () => {
  it('serves gRPC health for the whole server and for TransactionService', async () => {
    expect(await checkHealth(stack.aggregatorTarget)).toBe('SERVING');
    expect(await checkHealth(stack.aggregatorTarget, 'saldo.transaction.v1.TransactionService')).toBe(
      'SERVING',
    );
  });

  it('refuses to start with a bad configuration, naming the variable and hiding secrets', () => {
    const env = {
      ...process.env,
      ...stack.env,
      SALDO_KEY_ENCRYPTION_KEY: 'too-short-secret',
      AGGREGATOR_GRPC_URL: 'nowhere',
    };
    const result = spawnSync(process.execPath, [path.join(ROOT, AGGREGATOR_SCRIPT)], {
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('SALDO_KEY_ENCRYPTION_KEY: must be at least 32 characters');
    expect(result.stderr).toContain('AGGREGATOR_GRPC_URL: expected host:port');
    expect(result.stderr).not.toContain('too-short-secret');
  });
});

describe('authentication and tenant isolation', () => {
  it('refuses calls without a key or with a wrong key as UNAUTHENTICATED', async () => {
    expect((await api.fail('GetWallet', { walletId: randomUUID() }, null)).code).toBe(status.UNAUTHENTICATED);
    expect((await api.fail('GetWallet', { walletId: randomUUID() }, 'not-a-key-of-anyone')).code).toBe(
      status.UNAUTHENTICATED,
    );
    const noWrite = await api.fail(
      'TopUp',
      { idempotencyKey: key('x'), walletId: randomUUID(), amount: '1' },
      `${KEY_A}x`,
    );
    expect(noWrite.code).toBe(status.UNAUTHENTICATED);
  });

  it('accepts keys created by the operator CLI and refuses them once revoked; the table holds no key in clear', async () => {
    const tenant = tenantId('agg-cli');
    const created = cli(['api-keys', 'create', '--tenant', tenant], stack.env);
    expect(created.code).toBe(0);
    const newKey = /key:\s+(\S+)/.exec(created.stdout)?.[1] as string;
    const keyId = /key id:\s+(\S+)/.exec(created.stdout)?.[1] as string;
    expect(newKey).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    const opened = await openWallet({}, new Api(stack.aggregatorTarget, newKey));
    expect(opened.walletId).toMatch(/^[0-9a-f-]{36}$/);

    const stored = await sql<{ key_hash: Buffer; key_ciphertext: Buffer }>(
      stack.database.url,
      `SELECT key_hash, key_ciphertext FROM aggregator.api_keys WHERE id = $1`,
      [keyId],
    );
    expect(stored[0]?.key_hash.length).toBe(32);
    expect(stored[0]?.key_ciphertext.toString('latin1')).not.toContain(newKey);

    expect(cli(['api-keys', 'revoke', keyId], stack.env).code).toBe(0);
    const after = await new Api(stack.aggregatorTarget, newKey).fail('GetWallet', {
      walletId: opened.walletId,
    });
    expect(after.code).toBe(status.UNAUTHENTICATED);
    expect(cli(['api-keys', 'revoke', keyId], stack.env).code).toBe(1);
  });

  it("shows another tenant's wallets and transactions as NOT_FOUND and never moves their money", async () => {
    const mine = await openWallet();
    const topped = await topUp(mine.walletId, '1000');
    const hold = await api.call('Reserve', {
      idempotencyKey: key('hold'),
      walletId: mine.walletId,
      amount: '100',
    });
    const theirs = await openWallet({}, apiB);

    const attempts: Array<[string, Record<string, unknown>]> = [
      ['GetWallet', { walletId: mine.walletId }],
      ['TopUp', { idempotencyKey: key('b'), walletId: mine.walletId, amount: '5' }],
      ['BookUsage', { idempotencyKey: key('b'), walletId: mine.walletId, amount: '5' }],
      ['Reserve', { idempotencyKey: key('b'), walletId: mine.walletId, amount: '5' }],
      [
        'Transfer',
        { idempotencyKey: key('b'), fromWalletId: mine.walletId, toWalletId: theirs.walletId, amount: '5' },
      ],
      [
        'Transfer',
        { idempotencyKey: key('b'), fromWalletId: theirs.walletId, toWalletId: mine.walletId, amount: '5' },
      ],
      ['Capture', { idempotencyKey: key('b'), transactionId: hold.transactionId }],
      ['Void', { idempotencyKey: key('b'), transactionId: topped.transactionId }],
      ['GetTransaction', { transactionId: topped.transactionId }],
      ['ListTransactions', { walletId: mine.walletId }],
      ['ListChildWallets', { walletId: mine.walletId }],
      [
        'OpenWallet',
        {
          idempotencyKey: key('b'),
          ownerType: 'PERSONAL',
          ownerId: 'x',
          currency: 'IDR',
          parentWalletId: mine.walletId,
        },
      ],
    ];
    for (const [method, request] of attempts) {
      const error = await apiB.fail(method, request);
      expect([method, error.codeName]).toEqual([method, 'NOT_FOUND']);
    }
    const after = await wallet(mine.walletId);
    expect([after.postedBalance, after.availableBalance]).toEqual(['1000', '900']);
  });
});

describe('personal wallets: every method', () => {
  it('opens a wallet, tops it up, books usage with its cost in one ledger transaction, and shows balances', async () => {
    const opened = await openWallet({ metadata: { plan: 'basic' } });
    expect(opened).toMatchObject({
      ownerType: 'PERSONAL',
      role: 'WALLET_ROLE_STANDALONE',
      currency: 'IDR',
      currencyScale: 0,
      postedBalance: '0',
      replayed: false,
    });
    const revenueBefore = await systemBalance(TENANT_A, 'revenue');
    const costBefore = await systemBalance(TENANT_A, 'cost_of_revenue');
    const payablesBefore = await systemBalance(TENANT_A, 'payables');

    const top = await api.call('TopUp', {
      idempotencyKey: key('t'),
      walletId: opened.walletId,
      amount: '15000',
      reference: 'pg-123',
    });
    expect(top).toMatchObject({
      type: 'TOP_UP',
      status: 'POSTED',
      walletId: opened.walletId,
      amount: '15000',
      currency: 'IDR',
      reference: 'pg-123',
    });
    const usage = await api.call('BookUsage', {
      idempotencyKey: key('u'),
      walletId: opened.walletId,
      amount: '4000',
      productCode: 'esign',
      costAmount: '1500',
      metadata: { document: 'd-1' },
    });
    expect(usage).toMatchObject({
      type: 'USAGE',
      status: 'POSTED',
      amount: '4000',
      productCode: 'esign',
      costAmount: '1500',
      metadata: { document: 'd-1' },
    });
    expect(usage.createdAt.seconds).toMatch(/^\d+$/);

    const legs = await sql<{ type: string; side: string; amount: string }>(
      stack.database.url,
      `SELECT a.type, e.side, e.amount::text FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id WHERE e.transaction_id = $1 ORDER BY e.id`,
      [usage.transactionId],
    );
    expect(legs).toEqual([
      { type: 'wallet', side: 'debit', amount: '4000' },
      { type: 'revenue', side: 'credit', amount: '4000' },
      { type: 'cost_of_revenue', side: 'debit', amount: '1500' },
      { type: 'payables', side: 'credit', amount: '1500' },
    ]);
    expect((await systemBalance(TENANT_A, 'revenue')).credits - revenueBefore.credits).toBe(4000n);
    expect((await systemBalance(TENANT_A, 'cost_of_revenue')).debits - costBefore.debits).toBe(1500n);
    expect((await systemBalance(TENANT_A, 'payables')).credits - payablesBefore.credits).toBe(1500n);

    const view = await wallet(opened.walletId);
    expect(view).toMatchObject({
      postedBalance: '11000',
      availableBalance: '11000',
      pendingDebits: '0',
      periodSpent: '4000',
    });
    expect(Number(view.version)).toBeGreaterThanOrEqual(2);
  });

  it('reserves, captures part of a hold (the rest is released), and captures at most once', async () => {
    const w = await openWallet();
    await topUp(w.walletId, '1000');
    const hold = await api.call('Reserve', {
      idempotencyKey: key('r'),
      walletId: w.walletId,
      amount: '600',
      productCode: 'ekyc',
      expiresInSeconds: 600,
    });
    expect(hold).toMatchObject({ type: 'RESERVE', status: 'PENDING', amount: '600', productCode: 'ekyc' });
    expect(hold.expiresAt).toBeTruthy();
    expect(await wallet(w.walletId)).toMatchObject({
      postedBalance: '1000',
      pendingDebits: '600',
      availableBalance: '400',
    });

    const over = await api.fail('Capture', {
      idempotencyKey: key('c'),
      transactionId: hold.transactionId,
      amount: '601',
    });
    expect([over.codeName, over.field]).toEqual(['FAILED_PRECONDITION', 'amount']);
    const captured = await api.call('Capture', {
      idempotencyKey: key('c'),
      transactionId: hold.transactionId,
      amount: '450',
    });
    expect(captured).toMatchObject({
      type: 'CAPTURE',
      status: 'POSTED',
      amount: '450',
      relatedTransactionId: hold.transactionId,
      walletId: w.walletId,
    });
    expect(await wallet(w.walletId)).toMatchObject({
      postedBalance: '550',
      pendingDebits: '0',
      availableBalance: '550',
      periodSpent: '450',
    });
    expect(await api.call('GetTransaction', { transactionId: hold.transactionId })).toMatchObject({
      status: 'POSTED',
      resolvedByTransactionId: captured.transactionId,
    });

    const again = await api.fail('Capture', { idempotencyKey: key('c'), transactionId: hold.transactionId });
    expect(again.codeName).toBe('FAILED_PRECONDITION');
    expect(await wallet(w.walletId)).toMatchObject({ postedBalance: '550' });
  });

  it('captures a hold in full when no amount is given', async () => {
    const w = await openWallet();
    await topUp(w.walletId, '300');
    const hold = await api.call('Reserve', { idempotencyKey: key('r'), walletId: w.walletId, amount: '300' });
    const captured = await api.call('Capture', {
      idempotencyKey: key('c'),
      transactionId: hold.transactionId,
    });
    expect(captured).toMatchObject({ type: 'CAPTURE', amount: '300' });
    expect(await wallet(w.walletId)).toMatchObject({ postedBalance: '0', availableBalance: '0' });
  });

  it('voids a hold (released) and reverses a posted usage with a new linked transaction', async () => {
    const w = await openWallet();
    await topUp(w.walletId, '1000');
    const hold = await api.call('Reserve', { idempotencyKey: key('r'), walletId: w.walletId, amount: '200' });
    const voided = await api.call('Void', {
      idempotencyKey: key('v'),
      transactionId: hold.transactionId,
      reason: 'cancelled',
    });
    expect(voided).toMatchObject({
      type: 'VOID',
      status: 'POSTED',
      amount: '200',
      relatedTransactionId: hold.transactionId,
    });
    expect(await api.call('GetTransaction', { transactionId: hold.transactionId })).toMatchObject({
      status: 'VOIDED',
    });
    expect(await wallet(w.walletId)).toMatchObject({
      postedBalance: '1000',
      availableBalance: '1000',
      periodSpent: '0',
    });
    expect(
      (await api.fail('Capture', { idempotencyKey: key('c'), transactionId: hold.transactionId })).codeName,
    ).toBe('FAILED_PRECONDITION');

    const usage = await api.call('BookUsage', {
      idempotencyKey: key('u'),
      walletId: w.walletId,
      amount: '250',
      costAmount: '100',
    });
    const reversal = await api.call('Void', {
      idempotencyKey: key('v'),
      transactionId: usage.transactionId,
      reason: 'refund',
    });
    expect(reversal).toMatchObject({
      type: 'REVERSAL',
      status: 'POSTED',
      amount: '250',
      relatedTransactionId: usage.transactionId,
    });
    expect(await api.call('GetTransaction', { transactionId: usage.transactionId })).toMatchObject({
      status: 'REVERSED',
      resolvedByTransactionId: reversal.transactionId,
    });
    expect(await wallet(w.walletId)).toMatchObject({ postedBalance: '1000', periodSpent: '0' });
    expect(
      (await api.fail('Void', { idempotencyKey: key('v'), transactionId: usage.transactionId })).codeName,
    ).toBe('FAILED_PRECONDITION');
  });

  it('transfers between personal wallets and lists transactions newest first, page by page', async () => {
    const from = await openWallet();
    const to = await openWallet();
    await topUp(from.walletId, '500');
    const transfer = await api.call('Transfer', {
      idempotencyKey: key('tr'),
      fromWalletId: from.walletId,
      toWalletId: to.walletId,
      amount: '200',
    });
    expect(transfer).toMatchObject({
      type: 'TRANSFER',
      walletId: from.walletId,
      counterpartyWalletId: to.walletId,
      amount: '200',
    });
    expect((await wallet(from.walletId)).postedBalance).toBe('300');
    expect((await wallet(to.walletId)).postedBalance).toBe('200');
    await api.call('BookUsage', { idempotencyKey: key('u'), walletId: from.walletId, amount: '10' });

    const first = await api.call('ListTransactions', { walletId: from.walletId, pageSize: 2 });
    expect(first.transactions.map((t: { type: string }) => t.type)).toEqual(['USAGE', 'TRANSFER']);
    expect(first.nextPageToken).not.toBe('');
    const second = await api.call('ListTransactions', {
      walletId: from.walletId,
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    expect(second.transactions.map((t: { type: string }) => t.type)).toEqual(['TOP_UP']);
    expect(second.nextPageToken).toBe('');
    const bad = await api.fail('ListTransactions', { walletId: to.walletId, pageToken: first.nextPageToken });
    expect([bad.codeName, bad.field]).toEqual(['INVALID_ARGUMENT', 'page_token']);
  });

  it('refuses spending beyond the balance (and the overdraft limit) with FAILED_PRECONDITION, changing nothing', async () => {
    const w = await openWallet({ overdraftLimit: '100' });
    await topUp(w.walletId, '50');
    const before = await ledgerTransactionCount(TENANT_A);
    const refused = await api.fail('BookUsage', {
      idempotencyKey: key('u'),
      walletId: w.walletId,
      amount: '151',
    });
    expect([refused.codeName, refused.reason]).toEqual(['FAILED_PRECONDITION', 'INSUFFICIENT_FUNDS']);
    expect(await ledgerTransactionCount(TENANT_A)).toBe(before);
    const ok = await api.call('BookUsage', { idempotencyKey: key('u'), walletId: w.walletId, amount: '150' });
    expect(ok.status).toBe('POSTED');
    expect(await wallet(w.walletId)).toMatchObject({
      postedBalance: '-100',
      availableBalance: '-100',
      overdraftLimit: '100',
    });
  });

  it('refuses unknown currencies and unknown wallets', async () => {
    const currency = await api.fail('OpenWallet', {
      idempotencyKey: key('o'),
      ownerType: 'PERSONAL',
      ownerId: 'u',
      currency: 'XYZ',
    });
    expect([currency.codeName, currency.field]).toEqual(['INVALID_ARGUMENT', 'currency']);
    const owner = await api.fail('OpenWallet', { idempotencyKey: key('o'), ownerId: 'u', currency: 'IDR' });
    expect([owner.codeName, owner.field]).toEqual(['INVALID_ARGUMENT', 'owner_type']);
    const missing = await api.fail('TopUp', {
      idempotencyKey: key('t'),
      walletId: randomUUID(),
      amount: '1',
    });
    expect([missing.codeName, missing.field]).toEqual(['NOT_FOUND', 'wallet_id']);
    const unknownTx = await api.fail('GetTransaction', { transactionId: randomUUID() });
    expect(unknownTx.codeName).toBe('NOT_FOUND');
  });
});

describe('bad input is INVALID_ARGUMENT naming the field, and changes nothing', () => {
  const badAmounts: Array<[string, string]> = [
    ['negative', '-5'],
    ['zero', '0'],
    ['decimal', '10.5'],
    ['exponent', '1e3'],
    ['over the ledger range', '9223372036854775808'],
    ['empty', ''],
    ['leading zero', '007'],
    ['spaces', ' 10'],
  ];

  it.each(badAmounts)('refuses a %s amount on every write that takes one', async (_label, amount) => {
    const w = await openWallet();
    const other = await openWallet();
    await topUp(w.walletId, '1000');
    const hold = await api.call('Reserve', { idempotencyKey: key('r'), walletId: w.walletId, amount: '100' });
    const before = await ledgerTransactionCount(TENANT_A);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['TopUp', { idempotencyKey: key('t'), walletId: w.walletId, amount }, 'amount'],
      ['BookUsage', { idempotencyKey: key('u'), walletId: w.walletId, amount }, 'amount'],
      [
        'BookUsage',
        {
          idempotencyKey: key('u'),
          walletId: w.walletId,
          amount: '10',
          costAmount: amount === '' ? '-1' : amount,
        },
        'cost_amount',
      ],
      [
        'Transfer',
        { idempotencyKey: key('tr'), fromWalletId: w.walletId, toWalletId: other.walletId, amount },
        'amount',
      ],
      ['Reserve', { idempotencyKey: key('r'), walletId: w.walletId, amount }, 'amount'],
    ];
    if (amount !== '')
      cases.push([
        'Capture',
        { idempotencyKey: key('c'), transactionId: hold.transactionId, amount },
        'amount',
      ]);
    if (amount !== '' && amount !== '0') {
      cases.push([
        'OpenWallet',
        {
          idempotencyKey: key('o'),
          ownerType: 'PERSONAL',
          ownerId: 'u',
          currency: 'IDR',
          overdraftLimit: amount,
        },
        'overdraft_limit',
      ]);
    }
    for (const [method, request, field] of cases) {
      const error = await api.fail(method, request);
      expect([method, error.codeName, error.field]).toEqual([method, 'INVALID_ARGUMENT', field]);
      expect(error.message).toContain(field);
    }
    expect(await ledgerTransactionCount(TENANT_A)).toBe(before);
    expect(await wallet(w.walletId)).toMatchObject({ postedBalance: '1000', availableBalance: '900' });
  });

  it('refuses writes without an idempotency key, bad ids, and bad metadata', async () => {
    const w = await openWallet();
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['TopUp', { walletId: w.walletId, amount: '10' }, 'idempotency_key'],
      ['TopUp', { idempotencyKey: 'has space', walletId: w.walletId, amount: '10' }, 'idempotency_key'],
      ['TopUp', { idempotencyKey: 'k'.repeat(101), walletId: w.walletId, amount: '10' }, 'idempotency_key'],
      ['BookUsage', { walletId: w.walletId, amount: '10' }, 'idempotency_key'],
      ['Transfer', { fromWalletId: w.walletId, toWalletId: w.walletId, amount: '10' }, 'idempotency_key'],
      ['Reserve', { walletId: w.walletId, amount: '10' }, 'idempotency_key'],
      ['Capture', { transactionId: randomUUID() }, 'idempotency_key'],
      ['Void', { transactionId: randomUUID() }, 'idempotency_key'],
      ['OpenWallet', { ownerType: 'PERSONAL', ownerId: 'u', currency: 'IDR' }, 'idempotency_key'],
      ['TopUp', { idempotencyKey: key('t'), walletId: 'not-a-uuid', amount: '10' }, 'wallet_id'],
      ['TopUp', { idempotencyKey: key('t'), amount: '10' }, 'wallet_id'],
      [
        'Transfer',
        { idempotencyKey: key('t'), fromWalletId: w.walletId, toWalletId: w.walletId, amount: '10' },
        'to_wallet_id',
      ],
      [
        'TopUp',
        { idempotencyKey: key('t'), walletId: w.walletId, amount: '10', metadata: { 'bad key!': 'x' } },
        'metadata.bad key!',
      ],
      [
        'Reserve',
        { idempotencyKey: key('r'), walletId: w.walletId, amount: '10', expiresInSeconds: 400 * 24 * 3600 },
        'expires_in_seconds',
      ],
      ['OpenWallet', { idempotencyKey: key('o'), ownerType: 'PERSONAL', currency: 'IDR' }, 'owner_id'],
    ];
    for (const [method, request, field] of cases) {
      const error = await api.fail(method, request);
      expect([method, error.codeName, error.field]).toEqual([method, 'INVALID_ARGUMENT', field]);
    }
    expect(await wallet(w.walletId)).toMatchObject({ postedBalance: '0', version: '0' });
  });
});

describe('idempotency over gRPC', () => {
  it('replays a write with the same key (same transaction, posted once) and refuses the key for a different request', async () => {
    const w = await openWallet();
    const request = { idempotencyKey: key('same'), walletId: w.walletId, amount: '700', reference: 'inv-1' };
    const first = await api.call('TopUp', request);
    const second = await api.call('TopUp', request);
    expect(second.transactionId).toBe(first.transactionId);
    expect([first.replayed, second.replayed]).toEqual([false, true]);
    expect((await wallet(w.walletId)).postedBalance).toBe('700');

    const changed = await api.fail('TopUp', { ...request, amount: '701' });
    expect([changed.codeName, changed.field]).toEqual(['ALREADY_EXISTS', 'idempotency_key']);
    const otherMethod = await api.fail('BookUsage', {
      idempotencyKey: request.idempotencyKey,
      walletId: w.walletId,
      amount: '700',
    });
    expect(otherMethod.codeName).toBe('ALREADY_EXISTS');
    const metadataChanged = await api.fail('TopUp', { ...request, metadata: { a: 'b' } });
    expect(metadataChanged.codeName).toBe('ALREADY_EXISTS');
    expect((await wallet(w.walletId)).postedBalance).toBe('700');
  });

  it('replays concurrent duplicates as one posting', async () => {
    const w = await openWallet();
    const request = { idempotencyKey: key('dup'), walletId: w.walletId, amount: '25' };
    const results = await Promise.all(Array.from({ length: 8 }, () => api.call('TopUp', request)));
    expect(new Set(results.map((r) => r.transactionId)).size).toBe(1);
    expect((await wallet(w.walletId)).postedBalance).toBe('25');
  });

  it('replays OpenWallet, Reserve, Capture and Void', async () => {
    const openRequest = {
      idempotencyKey: key('ow'),
      ownerType: 'PERSONAL',
      ownerId: 'same',
      currency: 'USD',
    };
    const opened = await api.call('OpenWallet', openRequest);
    const reopened = await api.call('OpenWallet', openRequest);
    expect(reopened.walletId).toBe(opened.walletId);
    expect(reopened.replayed).toBe(true);
    expect(opened.currencyScale).toBe(2);
    expect((await api.fail('OpenWallet', { ...openRequest, currency: 'IDR' })).codeName).toBe(
      'ALREADY_EXISTS',
    );

    await topUp(opened.walletId, '1000');
    const reserve = { idempotencyKey: key('rs'), walletId: opened.walletId, amount: '300' };
    const hold = await api.call('Reserve', reserve);
    expect((await api.call('Reserve', reserve)).transactionId).toBe(hold.transactionId);
    const capture = { idempotencyKey: key('cp'), transactionId: hold.transactionId, amount: '100' };
    const captured = await api.call('Capture', capture);
    expect(await api.call('Capture', capture)).toMatchObject({
      transactionId: captured.transactionId,
      replayed: true,
    });
    const voidRequest = { idempotencyKey: key('vd'), transactionId: captured.transactionId };
    const reversal = await api.call('Void', voidRequest);
    expect(await api.call('Void', voidRequest)).toMatchObject({
      transactionId: reversal.transactionId,
      replayed: true,
    });
    expect(await wallet(opened.walletId)).toMatchObject({ postedBalance: '1000', availableBalance: '1000' });
  });

  it('does not use up a key on a definitive refusal: the same request succeeds once funds arrive', async () => {
    const w = await openWallet();
    const request = { idempotencyKey: key('later'), walletId: w.walletId, amount: '80' };
    expect((await api.fail('BookUsage', request)).reason).toBe('INSUFFICIENT_FUNDS');
    await topUp(w.walletId, '100');
    const booked = await api.call('BookUsage', request);
    expect(booked.replayed).toBe(false);
    expect((await api.call('BookUsage', request)).transactionId).toBe(booked.transactionId);
    expect((await wallet(w.walletId)).postedBalance).toBe('20');
  });
});

describe('enterprise wallets', () => {
  it("lets members spend the organisation's balance within their limit per period, attributed and visible per member", async () => {
    const org = await openWallet({ ownerType: 'ENTERPRISE', ownerId: 'acme' });
    const alice = await openWallet({
      ownerType: 'PERSONAL',
      ownerId: 'alice',
      parentWalletId: org.walletId,
      spendLimit: '500',
      limitPeriod: 'LIMIT_PERIOD_MONTH',
    });
    const bob = await openWallet({ ownerType: 'PERSONAL', ownerId: 'bob', parentWalletId: org.walletId });
    expect(alice).toMatchObject({
      role: 'WALLET_ROLE_MEMBER',
      parentWalletId: org.walletId,
      spendLimit: '500',
      periodSpent: '0',
    });
    await topUp(org.walletId, '1000');
    expect(await wallet(alice.walletId)).toMatchObject({ postedBalance: '1000', availableBalance: '500' });

    const usage = await api.call('BookUsage', {
      idempotencyKey: key('a'),
      walletId: alice.walletId,
      amount: '300',
      productCode: 'esign',
    });
    expect(usage).toMatchObject({ walletId: alice.walletId, fundingWalletId: org.walletId, amount: '300' });
    expect((await wallet(org.walletId)).postedBalance).toBe('700');
    const over = await api.fail('BookUsage', {
      idempotencyKey: key('a'),
      walletId: alice.walletId,
      amount: '201',
    });
    expect([over.codeName, over.reason, over.field]).toEqual([
      'FAILED_PRECONDITION',
      'SPEND_LIMIT_EXCEEDED',
      'amount',
    ]);
    const hold = await api.call('Reserve', {
      idempotencyKey: key('a'),
      walletId: alice.walletId,
      amount: '150',
    });
    expect(await wallet(alice.walletId)).toMatchObject({ periodSpent: '450', availableBalance: '50' });
    await api.call('Capture', { idempotencyKey: key('a'), transactionId: hold.transactionId, amount: '100' });
    expect(await wallet(alice.walletId)).toMatchObject({
      periodSpent: '400',
      availableBalance: '100',
      postedBalance: '600',
    });

    // Bob has no limit but the organisation's balance still bounds him.
    expect(
      (await api.fail('BookUsage', { idempotencyKey: key('b'), walletId: bob.walletId, amount: '601' }))
        .reason,
    ).toBe('INSUFFICIENT_FUNDS');
    await api.call('BookUsage', { idempotencyKey: key('b'), walletId: bob.walletId, amount: '50' });

    const members = await api.call('ListChildWallets', { walletId: org.walletId });
    const byOwner = Object.fromEntries(
      members.wallets.map((m: { ownerId: string; periodSpent: string }) => [m.ownerId, m.periodSpent]),
    );
    expect(byOwner).toEqual({ alice: '400', bob: '50' });
    const aliceTxs = await api.call('ListTransactions', { walletId: alice.walletId });
    expect(
      aliceTxs.transactions.map((t: { type: string; amount: string }) => `${t.type}:${t.amount}`),
    ).toEqual(['CAPTURE:100', 'RESERVE:150', 'USAGE:300']);
    const orgTxs = await api.call('ListTransactions', { walletId: org.walletId });
    expect(orgTxs.transactions.map((t: { walletId: string }) => t.walletId)).toContain(bob.walletId);

    // A member has no balance of its own.
    expect(
      (await api.fail('TopUp', { idempotencyKey: key('t'), walletId: alice.walletId, amount: '5' })).reason,
    ).toBe('WALLET_RULE_VIOLATION');
    expect(
      (
        await api.fail('Transfer', {
          idempotencyKey: key('t'),
          fromWalletId: alice.walletId,
          toWalletId: bob.walletId,
          amount: '5',
        })
      ).reason,
    ).toBe('WALLET_RULE_VIOLATION');
    expect(
      (
        await api.fail('OpenWallet', {
          idempotencyKey: key('o'),
          ownerType: 'ENTERPRISE',
          ownerId: 'x',
          currency: 'IDR',
          parentWalletId: org.walletId,
        })
      ).field,
    ).toBe('owner_type');
    expect(
      (
        await api.fail('OpenWallet', {
          idempotencyKey: key('o'),
          ownerType: 'PERSONAL',
          ownerId: 'x',
          currency: 'USD',
          parentWalletId: org.walletId,
        })
      ).field,
    ).toBe('currency');
  });

  it('keeps the limit under concurrent spending: exactly limit / amount usages go through', async () => {
    const org = await openWallet({ ownerType: 'ENTERPRISE', ownerId: 'para' });
    const member = await openWallet({
      ownerType: 'PERSONAL',
      ownerId: 'm',
      parentWalletId: org.walletId,
      spendLimit: '500',
      limitPeriod: 'LIMIT_PERIOD_DAY',
    });
    await topUp(org.walletId, '10000');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        api.call('BookUsage', { idempotencyKey: key('c'), walletId: member.walletId, amount: '100' }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    for (const o of outcomes)
      if (o.status === 'rejected')
        expect((o.reason as { reason: string }).reason).toBe('SPEND_LIMIT_EXCEEDED');
    expect(await wallet(member.walletId)).toMatchObject({
      periodSpent: '500',
      availableBalance: '0',
      limitPeriod: 'LIMIT_PERIOD_DAY',
    });
    expect((await wallet(org.walletId)).postedBalance).toBe('9500');
  });

  it("gives back a member's limit when its usage is reversed or its hold is voided", async () => {
    const org = await openWallet({ ownerType: 'ENTERPRISE', ownerId: 'rev' });
    const member = await openWallet({
      ownerType: 'PERSONAL',
      ownerId: 'm',
      parentWalletId: org.walletId,
      spendLimit: '100',
    });
    await topUp(org.walletId, '1000');
    const usage = await api.call('BookUsage', {
      idempotencyKey: key('u'),
      walletId: member.walletId,
      amount: '100',
    });
    await api.call('Void', { idempotencyKey: key('v'), transactionId: usage.transactionId });
    const hold = await api.call('Reserve', {
      idempotencyKey: key('r'),
      walletId: member.walletId,
      amount: '100',
    });
    await api.call('Void', { idempotencyKey: key('v'), transactionId: hold.transactionId });
    expect(await wallet(member.walletId)).toMatchObject({ periodSpent: '0', availableBalance: '100' });
    expect((await wallet(org.walletId)).postedBalance).toBe('1000');
  });
});

describe('enterprise holds that lapse', () => {
  it("stops counting a member's lapsed hold against its limit", async () => {
    const org = await openWallet({ ownerType: 'ENTERPRISE', ownerId: 'lapse' });
    const member = await openWallet({
      ownerType: 'PERSONAL',
      ownerId: 'm',
      parentWalletId: org.walletId,
      spendLimit: '100',
    });
    await topUp(org.walletId, '1000');
    await api.call('Reserve', {
      idempotencyKey: key('r'),
      walletId: member.walletId,
      amount: '100',
      expiresInSeconds: 1,
    });
    expect(
      (await api.fail('BookUsage', { idempotencyKey: key('u'), walletId: member.walletId, amount: '1' }))
        .reason,
    ).toBe('SPEND_LIMIT_EXCEEDED');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await wallet(member.walletId)).periodSpent).toBe('0');
    await api.call('BookUsage', { idempotencyKey: key('u'), walletId: member.walletId, amount: '100' });
    expect((await wallet(member.walletId)).periodSpent).toBe('100');
  });
});

describe('reseller wallets', () => {
  it('funds only its own clients by transfer; clients spend only their own balance; the reseller sees their usage', async () => {
    const reseller = await openWallet({ ownerType: 'RESELLER', ownerId: 'agency' });
    const client = await openWallet({
      ownerType: 'PERSONAL',
      ownerId: 'client-1',
      parentWalletId: reseller.walletId,
    });
    const clientCo = await openWallet({
      ownerType: 'ENTERPRISE',
      ownerId: 'client-2',
      parentWalletId: reseller.walletId,
    });
    const stranger = await openWallet({ ownerType: 'PERSONAL', ownerId: 'stranger' });
    expect(client.role).toBe('WALLET_ROLE_CLIENT');
    await topUp(reseller.walletId, '1000');
    await topUp(stranger.walletId, '1000');

    await api.call('Transfer', {
      idempotencyKey: key('f'),
      fromWalletId: reseller.walletId,
      toWalletId: client.walletId,
      amount: '400',
    });
    await api.call('BookUsage', { idempotencyKey: key('u'), walletId: client.walletId, amount: '300' });
    const overdraw = await api.fail('BookUsage', {
      idempotencyKey: key('u'),
      walletId: client.walletId,
      amount: '101',
    });
    expect(overdraw.reason).toBe('INSUFFICIENT_FUNDS');
    expect((await wallet(reseller.walletId)).postedBalance).toBe('600');

    const toStranger = await api.fail('Transfer', {
      idempotencyKey: key('f'),
      fromWalletId: reseller.walletId,
      toWalletId: stranger.walletId,
      amount: '1',
    });
    expect([toStranger.codeName, toStranger.reason, toStranger.field]).toEqual([
      'FAILED_PRECONDITION',
      'WALLET_RULE_VIOLATION',
      'to_wallet_id',
    ]);
    const fromStranger = await api.fail('Transfer', {
      idempotencyKey: key('f'),
      fromWalletId: stranger.walletId,
      toWalletId: client.walletId,
      amount: '1',
    });
    expect(fromStranger.reason).toBe('WALLET_RULE_VIOLATION');
    const clientToOther = await api.fail('Transfer', {
      idempotencyKey: key('f'),
      fromWalletId: client.walletId,
      toWalletId: clientCo.walletId,
      amount: '1',
    });
    expect(clientToOther.reason).toBe('WALLET_RULE_VIOLATION');
    const subReseller = await api.fail('OpenWallet', {
      idempotencyKey: key('o'),
      ownerType: 'RESELLER',
      ownerId: 'sub',
      currency: 'IDR',
      parentWalletId: reseller.walletId,
    });
    expect(subReseller.field).toBe('owner_type');
    await api.call('Transfer', {
      idempotencyKey: key('f'),
      fromWalletId: client.walletId,
      toWalletId: reseller.walletId,
      amount: '50',
    });

    const clients = await api.call('ListChildWallets', { walletId: reseller.walletId, pageSize: 1 });
    expect(clients.wallets).toHaveLength(1);
    const rest = await api.call('ListChildWallets', {
      walletId: reseller.walletId,
      pageSize: 1,
      pageToken: clients.nextPageToken,
    });
    const all = [...clients.wallets, ...rest.wallets];
    const view = all.find((w: { walletId: string }) => w.walletId === client.walletId);
    expect(view).toMatchObject({ periodSpent: '300', postedBalance: '50', role: 'WALLET_ROLE_CLIENT' });
    const usage = await api.call('ListTransactions', { walletId: client.walletId });
    expect(usage.transactions.map((t: { type: string }) => t.type)).toEqual([
      'TRANSFER',
      'USAGE',
      'TRANSFER',
    ]);
    expect(await wallet(reseller.walletId)).toMatchObject({ postedBalance: '650' });
    expect(await wallet(stranger.walletId)).toMatchObject({ postedBalance: '1000' });
  });
});
