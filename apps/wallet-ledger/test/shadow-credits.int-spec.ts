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

const { AccountType, ShadowCreditState } = ledgerV1;
const CASH = { system: AccountType.ACCOUNT_TYPE_CASH_CLEARING };
const REVENUE = { system: AccountType.ACCOUNT_TYPE_REVENUE };

let ledger: LedgerHarness;

beforeAll(async () => {
  ledger = await startLedgerHarness();
}, 60_000);

afterAll(async () => {
  await ledger?.stop();
}, 60_000);

/** A document top-up: cash clearing → wallet, the credit marked shadow until the ERP confirms. */
function documentTopUp(
  tenantId: string,
  wallet: string,
  amount: bigint,
  document: string,
  key = `doc-${document}`,
) {
  return ledger.client.postTransaction(
    transferRequest(tenantId, key, CASH, { id: wallet }, amount, {
      action: 'TOP_UP',
      shadowDocumentId: document,
    }),
  );
}

function split(balance: ledgerV1.Balance) {
  return {
    posted: balance.postedBalance,
    shadow: balance.shadowBalance,
    confirmed: balance.confirmedBalance,
  };
}

describe('shadow credits', () => {
  it('shows a document top-up as shadow until confirmed, in GetBalance and GetAccount, and as of a past time', async () => {
    const tenantId = uniqueTenant();
    const [wallet] = (await setupWallets(ledger.client, tenantId, 1, 50n)) as [string];
    expect(split(await balanceOf(ledger.client, tenantId, wallet))).toEqual({
      posted: '50',
      shadow: '0',
      confirmed: '50',
    });

    const topUp = await documentTopUp(tenantId, wallet, 100n, 'INV-1');
    expect(split(await balanceOf(ledger.client, tenantId, wallet))).toEqual({
      posted: '150',
      shadow: '100',
      confirmed: '50',
    });
    const account = await ledger.client.getAccount({ tenantId, accountId: wallet });
    expect(split(account.balance as ledgerV1.Balance)).toEqual({
      posted: '150',
      shadow: '100',
      confirmed: '50',
    });
    // The money is usable at once: spending draws on shadow money first.
    await ledger.client.postTransaction(
      transferRequest(tenantId, 'use-1', { id: wallet }, REVENUE, 90n, { action: 'USAGE' }),
    );
    expect(split(await balanceOf(ledger.client, tenantId, wallet))).toEqual({
      posted: '60',
      shadow: '60',
      confirmed: '0',
    });
    const beforeConfirmation = new Date();
    await new Promise((resolve) => setTimeout(resolve, 20));

    const confirmed = await ledger.client.confirmShadowCredit({
      tenantId,
      transactionId: topUp.transactionId,
      reason: 'invoice INV-1 paid',
    });
    expect(confirmed).toMatchObject({
      transactionId: topUp.transactionId,
      accountId: wallet,
      documentId: 'INV-1',
      amount: '100',
      state: ShadowCreditState.SHADOW_CREDIT_STATE_CONFIRMED,
      reason: 'invoice INV-1 paid',
      replayed: false,
    });
    expect(confirmed.settledAt).toBeDefined();
    expect(split(await balanceOf(ledger.client, tenantId, wallet))).toEqual({
      posted: '60',
      shadow: '0',
      confirmed: '60',
    });
    // A confirmation moves no money: no new version, no entries.
    expect((await balanceOf(ledger.client, tenantId, wallet)).version).toBe('3');
    // History keeps what was shadow then.
    const past = await ledger.client.getBalance({
      tenantId,
      accountId: wallet,
      asOf: {
        seconds: String(Math.floor(beforeConfirmation.getTime() / 1000)),
        nanos: (beforeConfirmation.getTime() % 1000) * 1e6,
      },
    });
    expect(split(past)).toEqual({ posted: '60', shadow: '60', confirmed: '0' });

    // Confirming again is harmless and says so.
    const again = await ledger.client.confirmShadowCredit({
      tenantId,
      transactionId: topUp.transactionId,
      reason: '',
    });
    expect(again).toMatchObject({ state: ShadowCreditState.SHADOW_CREDIT_STATE_CONFIRMED, replayed: true });
    expect(again.reason).toBe('invoice INV-1 paid');
  });

  it('settles the credit as reversed when its transaction is reversed; a reversed credit cannot be confirmed', async () => {
    const tenantId = uniqueTenant();
    const [wallet] = (await setupWallets(ledger.client, tenantId, 1)) as [string];
    const topUp = await documentTopUp(tenantId, wallet, 70n, 'SO-7');
    await ledger.client.reverseTransaction({
      tenantId,
      idempotencyKey: 'reject-SO-7',
      transactionId: topUp.transactionId,
      reason: 'sales order cancelled',
      metadata: {},
    });
    expect(split(await balanceOf(ledger.client, tenantId, wallet))).toEqual({
      posted: '0',
      shadow: '0',
      confirmed: '0',
    });
    const [row] = await ledger.sql<{ state: string }>(
      'SELECT state FROM ledger.shadow_credits WHERE transaction_id = $1',
      [topUp.transactionId],
    );
    expect(row?.state).toBe('reversed');
    const refused = await rejection(
      ledger.client.confirmShadowCredit({ tenantId, transactionId: topUp.transactionId, reason: '' }),
    );
    expect(refused).toMatchObject({ code: status.FAILED_PRECONDITION, errorCode: 'SHADOW_CREDIT_CONFLICT' });
    expect(refused.message).toContain('was reversed');
  });

  it('a confirmed credit reversed later (a document cancelled after confirmation) ends reversed', async () => {
    const tenantId = uniqueTenant();
    const [wallet] = (await setupWallets(ledger.client, tenantId, 1)) as [string];
    const topUp = await documentTopUp(tenantId, wallet, 30n, 'INV-30');
    await ledger.client.confirmShadowCredit({ tenantId, transactionId: topUp.transactionId, reason: 'ok' });
    await ledger.client.reverseTransaction({
      tenantId,
      idempotencyKey: 'cancel-INV-30',
      transactionId: topUp.transactionId,
      reason: '',
      metadata: {},
    });
    const [row] = await ledger.sql<{ state: string; settled_at: Date | null }>(
      'SELECT state, settled_at FROM ledger.shadow_credits WHERE transaction_id = $1',
      [topUp.transactionId],
    );
    expect(row?.state).toBe('reversed');
    expect(row?.settled_at).not.toBeNull();
  });

  it('refuses bad shadow credits with a clear error and changes nothing', async () => {
    const tenantId = uniqueTenant();
    const [a, b] = (await setupWallets(ledger.client, tenantId, 2, 10n)) as [string, string];
    const before = await entryCount(ledger, tenantId);

    const hold = await rejection(
      ledger.client.postTransaction(
        transferRequest(tenantId, 'hold', CASH, { id: a }, 5n, { pending: true, shadowDocumentId: 'INV-H' }),
      ),
    );
    expect(hold).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'shadow_document_id' });

    // A shadow credit belongs to exactly one wallet: crediting two is refused.
    const twoWallets = await rejection(
      ledger.client.postTransaction({
        ...transferRequest(tenantId, 'two', CASH, { id: a }, 4n, { shadowDocumentId: 'INV-2W' }),
        legs: [
          {
            accountId: '',
            systemAccount: AccountType.ACCOUNT_TYPE_CASH_CLEARING,
            side: ledgerV1.EntrySide.ENTRY_SIDE_DEBIT,
            amount: '4',
          },
          {
            accountId: a,
            systemAccount: AccountType.ACCOUNT_TYPE_UNSPECIFIED,
            side: ledgerV1.EntrySide.ENTRY_SIDE_CREDIT,
            amount: '2',
          },
          {
            accountId: b,
            systemAccount: AccountType.ACCOUNT_TYPE_UNSPECIFIED,
            side: ledgerV1.EntrySide.ENTRY_SIDE_CREDIT,
            amount: '2',
          },
        ],
      }),
    );
    expect(twoWallets).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'shadow_document_id' });
    expect(twoWallets.message).toContain('exactly one wallet');

    const noWallet = await rejection(
      ledger.client.postTransaction(
        transferRequest(tenantId, 'none', { id: a }, REVENUE, 1n, { shadowDocumentId: 'INV-NW' }),
      ),
    );
    expect(noWallet).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'shadow_document_id' });

    const tooLong = await rejection(documentTopUp(tenantId, a, 1n, 'x'.repeat(129), 'too-long'));
    expect(tooLong).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'shadow_document_id' });

    expect(await entryCount(ledger, tenantId)).toBe(before);
    // The refused requests did not use up their keys: the same key works for a valid request.
    await documentTopUp(tenantId, a, 3n, 'INV-OK', 'two');

    // One credit per document: a second posting of the same document under another key is refused.
    const duplicate = await rejection(documentTopUp(tenantId, b, 3n, 'INV-OK', 'another-key'));
    expect(duplicate).toMatchObject({
      code: status.FAILED_PRECONDITION,
      errorCode: 'SHADOW_CREDIT_CONFLICT',
      field: 'shadow_document_id',
    });
    expect(split(await balanceOf(ledger.client, tenantId, b))).toEqual({
      posted: '10',
      shadow: '0',
      confirmed: '10',
    });

    const unknown = await rejection(
      ledger.client.confirmShadowCredit({
        tenantId,
        transactionId: '00000000-0000-4000-8000-000000000000',
        reason: '',
      }),
    );
    expect(unknown).toMatchObject({ code: status.NOT_FOUND, field: 'transaction_id' });
  });

  it('keeps tenants apart: another tenant cannot confirm or see the credit', async () => {
    const tenantId = uniqueTenant();
    const [wallet] = (await setupWallets(ledger.client, tenantId, 1)) as [string];
    const topUp = await documentTopUp(tenantId, wallet, 5n, 'INV-T');
    const other = uniqueTenant();
    const refused = await rejection(
      ledger.client.confirmShadowCredit({ tenantId: other, transactionId: topUp.transactionId, reason: '' }),
    );
    expect(refused.code).toBe(status.NOT_FOUND);
    expect(split(await balanceOf(ledger.client, tenantId, wallet)).shadow).toBe('5');
  });

  it('replays a document top-up by its key without a second credit', async () => {
    const tenantId = uniqueTenant();
    const [wallet] = (await setupWallets(ledger.client, tenantId, 1)) as [string];
    const first = await documentTopUp(tenantId, wallet, 8n, 'INV-R');
    const replay = await documentTopUp(tenantId, wallet, 8n, 'INV-R');
    expect(replay).toMatchObject({ transactionId: first.transactionId, replayed: true });
    expect(split(await balanceOf(ledger.client, tenantId, wallet))).toEqual({
      posted: '8',
      shadow: '8',
      confirmed: '0',
    });
  });

  it('the database refuses to unsettle, rewrite or delete a shadow credit', async () => {
    const tenantId = uniqueTenant();
    const [wallet] = (await setupWallets(ledger.client, tenantId, 1)) as [string];
    const topUp = await documentTopUp(tenantId, wallet, 9n, 'INV-G');
    await ledger.client.confirmShadowCredit({ tenantId, transactionId: topUp.transactionId, reason: '' });
    for (const statement of [
      `UPDATE ledger.shadow_credits SET state = 'shadow', settled_at = NULL WHERE transaction_id = $1`,
      `UPDATE ledger.shadow_credits SET amount = 1 WHERE transaction_id = $1`,
      `DELETE FROM ledger.shadow_credits WHERE transaction_id = $1`,
    ]) {
      await expect(ledger.sql(statement, [topUp.transactionId])).rejects.toThrow(/shadow credit/);
    }
    await expect(ledger.sql('TRUNCATE ledger.shadow_credits')).rejects.toThrow(/not allowed/);
  });
});
