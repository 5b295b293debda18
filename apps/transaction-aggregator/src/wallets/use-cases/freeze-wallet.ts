import { LedgerError, type TenantId } from '@saldo/ledger-domain';
import type { transactionV1 } from '@saldo/proto';
import { optionalText, requirePublicKey, requireWalletId } from '../input';
import type { WalletContext } from '../wallet-context';
import { requireWritable } from '../wallet-status';
import { changeWallet } from './wallet-change';

/** FreezeWallet: no more debits (usage, holds, captures, outgoing transfers); credits still arrive. */
export function freezeWallet(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.FreezeWalletRequest,
): Promise<transactionV1.Wallet> {
  return setFrozen(ctx, tenant, request, true);
}

/** UnfreezeWallet: debits allowed again. */
export function unfreezeWallet(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.UnfreezeWalletRequest,
): Promise<transactionV1.Wallet> {
  return setFrozen(ctx, tenant, request, false);
}

async function setFrozen(
  ctx: WalletContext,
  tenant: TenantId,
  request: { idempotencyKey: string; walletId: string; reason: string },
  frozen: boolean,
): Promise<transactionV1.Wallet> {
  const key = requirePublicKey(request.idempotencyKey);
  const walletId = requireWalletId(request.walletId, 'wallet_id');
  const reason = optionalText(request.reason, 'reason', 256);
  const action = frozen ? 'FreezeWallet' : 'UnfreezeWallet';
  return changeWallet(
    ctx,
    tenant,
    walletId,
    { wallet_id: walletId, reason },
    { key, action, reason, status: frozen ? 'frozen' : 'active' },
    (locked) => {
      requireWritable('wallet_id', locked);
      // Idempotent in effect too: freezing a frozen wallet is a no-op change, recorded.
      if (!frozen && locked.status !== 'frozen' && locked.status !== 'active')
        throw new LedgerError('WALLET_RULE_VIOLATION', `wallet_id: wallet ${walletId} is ${locked.status}`, {
          field: 'wallet_id',
        });
    },
  );
}
