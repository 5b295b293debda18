import { LedgerError, parseOptionalAmount, requestFingerprint, type TenantId } from '@saldo/ledger-domain';
import { ledgerV1, type transactionV1 } from '@saldo/proto';
import type { OperationClaim } from '../aggregator.repository';
import { requirePublicKey, requireWalletId } from '../input';
import { walletAmountOf } from '../transaction-view';
import type { WalletContext } from '../wallet-context';
import { requireDebitable } from '../wallet-status';
import { ledgerKey } from '../wallet-rules';

export async function capture(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.CaptureRequest,
): Promise<transactionV1.Transaction> {
  const key = requirePublicKey(request.idempotencyKey);
  const holdId = requireWalletId(request.transactionId, 'transaction_id');
  const amount = parseOptionalAmount(request.amount, 'amount');
  const hold = await ctx.requireOwnTransaction(tenant, holdId);
  if (hold.kind !== ledgerV1.TransactionKind.TRANSACTION_KIND_PENDING) {
    throw new LedgerError(
      'HOLD_NOT_PENDING',
      `transaction_id: transaction ${holdId} is not a hold (Reserve)`,
      { field: 'transaction_id' },
    );
  }
  const held = walletAmountOf(hold);
  if (amount !== undefined && amount > held) {
    throw new LedgerError(
      'AMOUNT_EXCEEDS_HOLD',
      `amount: ${amount} is more than the ${held} the hold holds`,
      {
        field: 'amount',
        facts: { held: held.toString() },
      },
    );
  }
  const holder = await ctx.requireWallet(tenant, hold.references['wallet_id'] as string, 'transaction_id');
  requireDebitable('transaction_id', holder, (await ctx.fundingOf(tenant, holder)).funder);
  const command = { transaction_id: holdId, amount: amount?.toString() ?? '' };
  const claim: OperationClaim = {
    key,
    action: 'Capture',
    requestHash: requestFingerprint('Capture', command),
    walletId: hold.references['wallet_id'],
    resolvesHoldId: holdId,
    spend: await ctx.adjustmentOf(tenant, holdId, (amount ?? held) - held),
  };
  return ctx.run(tenant, claim, () =>
    ctx.write({
      postPending: {
        tenantId: tenant,
        idempotencyKey: ledgerKey(key),
        pendingTransactionId: holdId,
        amount: command.amount,
        metadata: {},
      },
    }),
  );
}
