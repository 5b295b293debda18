// The shared steps of a lifecycle write (UpdateWallet, Freeze/Unfreeze, CloseWallet): claim the
// caller's idempotency key in the operations journal (same key + same request → the wallet as it
// is now, replayed; a different request → ALREADY_EXISTS), apply the change with its audit row
// under the wallet's lock, complete the claim.
import { requestFingerprint, type TenantId } from '@saldo/ledger-domain';
import type { transactionV1 } from '@saldo/proto';
import type { WalletRow } from '../aggregator.repository';
import { LifecycleRepository, type WalletChange, type WalletChangeOverride } from '../lifecycle.repository';
import type { WalletContext } from '../wallet-context';
import { getWallet } from './wallet-views';

export async function changeWallet(
  ctx: WalletContext,
  tenant: TenantId,
  walletId: string,
  command: object,
  change: WalletChange,
  check: (locked: WalletRow) => WalletChangeOverride | void | Promise<WalletChangeOverride | void>,
): Promise<transactionV1.Wallet> {
  await ctx.requireWallet(tenant, walletId, 'wallet_id');
  const claimed = await ctx.repository.claim(tenant, {
    key: change.key,
    action: change.action,
    requestHash: requestFingerprint(change.action, command),
    resultId: walletId,
    walletId,
  });
  if (claimed.kind === 'replay') return { ...(await getWallet(ctx, tenant, { walletId })), replayed: true };
  await ctx.settle(tenant, change.key, async () => {
    await new LifecycleRepository(ctx.repository).change(tenant, walletId, change, check);
    return walletId;
  });
  return getWallet(ctx, tenant, { walletId });
}
