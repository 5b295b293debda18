import { requestFingerprint, type TenantId } from '@saldo/ledger-domain';
import { ledgerV1, type transactionV1 } from '@saldo/proto';
import type { OperationClaim } from '../aggregator.repository';
import { optionalText, requirePublicKey, requireWalletId } from '../input';
import { walletAmountOf } from '../transaction-view';
import type { WalletContext } from '../wallet-context';
import { requireWritable } from '../wallet-status';
import { ledgerKey } from '../wallet-rules';

export async function voidTransaction(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.VoidRequest,
): Promise<transactionV1.Transaction> {
  const key = requirePublicKey(request.idempotencyKey);
  const targetId = requireWalletId(request.transactionId, 'transaction_id');
  const reason = optionalText(request.reason, 'reason', 256);
  const target = await ctx.requireOwnTransaction(tenant, targetId);
  const isHold = target.kind === ledgerV1.TransactionKind.TRANSACTION_KIND_PENDING;
  requireWritable(
    'transaction_id',
    await ctx.requireWallet(tenant, target.references['wallet_id'] as string, 'transaction_id'),
  );
  const command = { transaction_id: targetId, reason };
  const claim: OperationClaim = {
    key,
    action: 'Void',
    requestHash: requestFingerprint('Void', command),
    walletId: target.references['wallet_id'],
    resolvesHoldId: isHold ? targetId : undefined,
    spend: await ctx.adjustmentOf(tenant, targetId, -walletAmountOf(target)),
  };
  const ledgerIdempotencyKey = ledgerKey(key);
  const result = await ctx.run(tenant, claim, () =>
    isHold
      ? ctx.write({
          voidPending: {
            tenantId: tenant,
            idempotencyKey: ledgerIdempotencyKey,
            pendingTransactionId: targetId,
            reason,
          },
        })
      : ctx.write({
          reverseTransaction: {
            tenantId: tenant,
            idempotencyKey: ledgerIdempotencyKey,
            transactionId: targetId,
            reason,
            metadata: {},
          },
        }),
  );
  const document = target.references['erp_document'];
  if (!isHold && document && target.action === 'TOP_UP') {
    // A reversed document top-up is no longer shadow, whoever reversed it (the ERP's rejection or the tenant).
    await ctx.repository.resolveShadowTopUp(
      tenant,
      document,
      ['pending_confirmation', 'confirmed', 'rejected_unrecoverable', 'written_off'],
      {
        state: 'rejected',
        reason: reason || 'reversed',
        reversalId: result.transactionId,
      },
    );
  }
  return result;
}
