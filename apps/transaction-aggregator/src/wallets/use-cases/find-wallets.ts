import { LedgerError, type TenantId } from '@saldo/ledger-domain';
import type { transactionV1 } from '@saldo/proto';
import { optionalText, pageSizeOf, requireWalletId } from '../input';
import { LifecycleRepository } from '../lifecycle.repository';
import type { WalletContext } from '../wallet-context';
import { decodeToken, encodeToken } from '../wallet-rules';
import { walletView } from './wallet-views';

/** FindWallets: by owner id, external reference and/or parent (at least one), oldest id first. */
export async function findWallets(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.FindWalletsRequest,
): Promise<transactionV1.FindWalletsResponse> {
  const filter = {
    ownerId: optionalText(request.ownerId, 'owner_id', 128) || undefined,
    externalReference: optionalText(request.externalReference, 'external_reference', 128) || undefined,
    parentWalletId: request.parentWalletId
      ? requireWalletId(request.parentWalletId, 'parent_wallet_id')
      : undefined,
  };
  if (!filter.ownerId && !filter.externalReference && !filter.parentWalletId)
    throw LedgerError.invalid('owner_id', 'give owner_id, external_reference or parent_wallet_id');
  const scope = `find:${filter.ownerId ?? ''}:${filter.externalReference ?? ''}:${filter.parentWalletId ?? ''}`;
  const pageSize = pageSizeOf(request.pageSize, 50, 200);
  const after = request.pageToken ? decodeToken(request.pageToken, scope) : undefined;
  const rows = await new LifecycleRepository(ctx.repository).findWallets(tenant, filter, after, pageSize + 1);
  const page = rows.slice(0, pageSize);
  const wallets = await Promise.all(
    page.map(async (wallet) => {
      const funding = await ctx.fundingOf(tenant, wallet);
      return walletView(
        ctx,
        tenant,
        wallet,
        await ctx.ledger.getAccount({ tenantId: tenant, accountId: funding.accountId }),
      );
    }),
  );
  const last = page[page.length - 1];
  return { wallets, nextPageToken: rows.length > pageSize && last ? encodeToken(scope, last.id) : '' };
}
