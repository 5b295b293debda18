import { LedgerError, type TenantId } from '@saldo/ledger-domain';
import { ledgerV1, type transactionV1 } from '@saldo/proto';
import { optionalText, requirePublicKey, requireWalletId } from '../input';
import { LifecycleRepository } from '../lifecycle.repository';
import type { WalletContext } from '../wallet-context';
import { changeWallet } from './wallet-change';

/**
 * CloseWallet: final. Only at zero posted balance with no pending hold (for a member: no open
 * hold of its own) and no open child wallet; afterwards every write naming it is refused.
 */
export async function closeWallet(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.CloseWalletRequest,
): Promise<transactionV1.Wallet> {
  const key = requirePublicKey(request.idempotencyKey);
  const walletId = requireWalletId(request.walletId, 'wallet_id');
  const reason = optionalText(request.reason, 'reason', 256);
  const wallet = await ctx.requireWallet(tenant, walletId, 'wallet_id');
  const refuse = (why: string, facts: Record<string, string> = {}) =>
    new LedgerError('WALLET_RULE_VIOLATION', `wallet_id: wallet ${walletId} cannot be closed: ${why}`, {
      field: 'wallet_id',
      facts,
    });
  return changeWallet(
    ctx,
    tenant,
    walletId,
    { wallet_id: walletId, reason },
    { key, action: 'CloseWallet', reason, status: 'closed' },
    async (locked) => {
      if (locked.status === 'closed') return undefined;
      const lifecycle = new LifecycleRepository(ctx.repository);
      if ((await lifecycle.openChildren(tenant, walletId)) > 0)
        throw refuse('it has open child wallets; close them first');
      if (wallet.role === 'member') {
        const open = await lifecycle.openHoldsOf(tenant, walletId);
        if (open > 0) throw refuse('it has an open hold', { open_holds: String(open) });
        return undefined;
      }
      const account = await ctx.ledger.getAccount({
        tenantId: tenant,
        accountId: locked.ledger_account_id as string,
      });
      const balance = account.balance as ledgerV1.Balance;
      if (balance.postedBalance !== '0')
        throw refuse('its balance is not zero', { posted_balance: balance.postedBalance });
      if (balance.debitsPending !== '0' || balance.creditsPending !== '0')
        throw refuse('it has an open hold', { pending_debits: balance.debitsPending });
      return undefined;
    },
  );
}
