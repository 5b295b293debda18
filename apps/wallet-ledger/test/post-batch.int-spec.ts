import { status } from '@grpc/grpc-js';
import { ledgerV1 } from '@saldo/proto';
import {
  balanceOf,
  entryCount,
  rejection,
  setupWallets,
  startLedgerHarness,
  transferRequest,
  uniqueTenant,
  type LedgerHarness,
} from './ledger-harness';

const { AccountType, TransactionKind, TransactionStatus } = ledgerV1;
const REVENUE = { system: AccountType.ACCOUNT_TYPE_REVENUE };
const CASH = { system: AccountType.ACCOUNT_TYPE_CASH_CLEARING };

jest.setTimeout(120_000);

let ledger: LedgerHarness;

beforeAll(async () => {
  ledger = await startLedgerHarness();
});

afterAll(async () => {
  await ledger?.stop();
});

/** What each outcome says, compactly: 'ok', 'replayed' or the error code. */
function summary(response: ledgerV1.PostBatchResponse): string[] {
  return response.outcomes.map((outcome) =>
    outcome.transaction ? (outcome.transaction.replayed ? 'replayed' : 'ok') : (outcome.error?.code ?? '?'),
  );
}

function post(request: ledgerV1.PostTransactionRequest): ledgerV1.BatchCommand {
  return { postTransaction: request };
}

describe('PostBatch: many writes in one call, one outcome each, in order', () => {
  it('decides every command in order; refusals, replays and key conflicts stay with their own command', async () => {
    const tenantId = uniqueTenant('batch');
    const [a, b] = await setupWallets(ledger.client, tenantId, 2, 10n);
    const response = await ledger.client.postBatch({
      commands: [
        post(transferRequest(tenantId, 'k1', { id: a! }, { id: b! }, 6n)),
        post(transferRequest(tenantId, 'k2', { id: a! }, { id: b! }, 6n)), // only 4 left: refused
        post(transferRequest(tenantId, 'k3', { id: a! }, REVENUE, 4n)), // exactly what is left
        post(transferRequest(tenantId, 'k1', { id: a! }, { id: b! }, 6n)), // same key, same request
        post(transferRequest(tenantId, 'k1', { id: a! }, { id: b! }, 7n)), // same key, another request
        post(transferRequest(tenantId, 'k4', { id: a! }, { id: b! }, 'x')), // invalid alone
        {}, // names no command
        post(transferRequest(tenantId, 'k5', { id: b! }, { id: a! }, 1n)),
      ],
    });
    expect(summary(response)).toEqual([
      'ok',
      'INSUFFICIENT_FUNDS',
      'ok',
      'replayed',
      'IDEMPOTENCY_CONFLICT',
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'ok',
    ]);
    const [first, refused, , replay, conflict, invalid, empty] = response.outcomes;
    expect(replay?.transaction?.transactionId).toBe(first?.transaction?.transactionId);
    expect(refused?.error).toMatchObject({ status: 'FAILED_PRECONDITION', field: 'amount' });
    expect(refused?.error?.message).toMatch(/insufficient funds/);
    expect(conflict?.error).toMatchObject({ status: 'ALREADY_EXISTS', field: 'idempotency_key' });
    expect(invalid?.error).toMatchObject({ status: 'INVALID_ARGUMENT' });
    expect(empty?.error).toMatchObject({ status: 'INVALID_ARGUMENT', field: 'commands[6]' });
    expect(first?.transaction?.entries.map((entry) => entry.balanceAfter?.postedBalance)).toEqual([
      '4',
      '16',
    ]);
    expect((await balanceOf(ledger.client, tenantId, a!)).availableBalance).toBe('1');
    expect((await balanceOf(ledger.client, tenantId, b!)).availableBalance).toBe('15');

    // A refused command did not use up its key: with money in place, the same key now posts.
    const retried = await ledger.client.postBatch({
      commands: [post(transferRequest(tenantId, 'k2', { id: b! }, { id: a! }, 6n))],
    });
    expect(summary(retried)).toEqual(['ok']);
  });

  it('carries holds, their post and void, reversals and shadow credits, across tenants', async () => {
    const tenantId = uniqueTenant('batch');
    const other = uniqueTenant('batch');
    const [a, b] = await setupWallets(ledger.client, tenantId, 2, 100n);
    const [c] = await setupWallets(ledger.client, other, 1, 100n);
    const first = await ledger.client.postBatch({
      commands: [
        post(transferRequest(tenantId, 'hold-1', { id: a! }, REVENUE, 30n, { pending: true })),
        post(transferRequest(tenantId, 'hold-2', { id: a! }, REVENUE, 20n, { pending: true })),
        post(transferRequest(tenantId, 'pay', { id: a! }, { id: b! }, 10n)),
        post(
          transferRequest(tenantId, 'doc-1', CASH, { id: b! }, 5n, {
            shadowDocumentId: 'INV-1',
            action: 'TOP_UP',
          }),
        ),
        post(
          transferRequest(tenantId, 'doc-1b', CASH, { id: b! }, 5n, {
            shadowDocumentId: 'INV-1',
            action: 'TOP_UP',
          }),
        ),
        post(transferRequest(other, 'pay', { id: c! }, REVENUE, 100n)), // same key, other tenant
      ],
    });
    expect(summary(first)).toEqual(['ok', 'ok', 'ok', 'ok', 'SHADOW_CREDIT_CONFLICT', 'ok']);
    const [hold1, hold2, pay] = first.outcomes.map((outcome) => outcome.transaction!);
    expect(hold1).toMatchObject({ kind: TransactionKind.TRANSACTION_KIND_PENDING });
    expect((await balanceOf(ledger.client, tenantId, a!)).availableBalance).toBe('40');

    const second = await ledger.client.postBatch({
      commands: [
        {
          postPending: {
            tenantId,
            idempotencyKey: 'cap-1',
            pendingTransactionId: hold1!.transactionId,
            amount: '25',
            metadata: {},
          },
        },
        {
          voidPending: {
            tenantId,
            idempotencyKey: 'void-1',
            pendingTransactionId: hold1!.transactionId,
            reason: '',
          },
        },
        {
          voidPending: {
            tenantId,
            idempotencyKey: 'void-2',
            pendingTransactionId: hold2!.transactionId,
            reason: 'x',
          },
        },
        {
          reverseTransaction: {
            tenantId,
            idempotencyKey: 'rev',
            transactionId: pay!.transactionId,
            reason: '',
            metadata: {},
          },
        },
        {
          reverseTransaction: {
            tenantId,
            idempotencyKey: 'rev-2',
            transactionId: pay!.transactionId,
            reason: '',
            metadata: {},
          },
        },
        {
          reverseTransaction: {
            tenantId: other,
            idempotencyKey: 'rev',
            transactionId: pay!.transactionId,
            reason: '',
            metadata: {},
          },
        },
      ],
    });
    expect(summary(second)).toEqual([
      'ok',
      'HOLD_NOT_PENDING',
      'ok',
      'ok',
      'NOT_REVERSIBLE',
      'TRANSACTION_NOT_FOUND',
    ]);
    expect(second.outcomes[0]?.transaction).toMatchObject({
      kind: TransactionKind.TRANSACTION_KIND_POST_PENDING,
      status: TransactionStatus.TRANSACTION_STATUS_POSTED,
      pendingTransactionId: hold1!.transactionId,
    });
    // 100 − 25 captured (the rest of hold 1 released, hold 2 voided), the payment of 10 reversed.
    expect((await balanceOf(ledger.client, tenantId, a!)).availableBalance).toBe('75');
    expect((await balanceOf(ledger.client, tenantId, b!)).postedBalance).toBe('105');
    expect((await balanceOf(ledger.client, other, c!)).availableBalance).toBe('0');
  });

  it('posts 1,000 transfers in one call and refuses an empty or oversized call as a whole', async () => {
    const tenantId = uniqueTenant('batch');
    const wallets = await setupWallets(ledger.client, tenantId, 4, 1_000n);
    const before = await entryCount(ledger, tenantId);
    const commands = Array.from({ length: 1_000 }, (_, i) =>
      post(transferRequest(tenantId, `t-${i}`, { id: wallets[i % 4]! }, { id: wallets[(i + 1) % 4]! }, 1n)),
    );
    const response = await ledger.client.postBatch({ commands }, { deadlineMs: 60_000 });
    expect(new Set(summary(response))).toEqual(new Set(['ok']));
    expect(await entryCount(ledger, tenantId)).toBe(before + 2_000);
    for (const wallet of wallets) {
      expect((await balanceOf(ledger.client, tenantId, wallet)).availableBalance).toBe('1000');
    }
    for (const size of [0, 1_001]) {
      const oversized = Array.from({ length: size }, (_, i) => commands[i % commands.length]!);
      const refused = await rejection(ledger.client.postBatch({ commands: oversized }));
      expect(refused).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'commands' });
    }
  });
});
