import type { TenantId } from '@saldo/ledger-domain';
import { toTimestamp } from '@saldo/grpc-kit';
import { ledgerV1, transactionV1 } from '@saldo/proto';
import type { WalletRow, WalletStatus } from '../aggregator.repository';
import { pageSizeOf, requireWalletId } from '../input';
import type { WalletContext } from '../wallet-context';
import { grantSummaryOf } from './grants';
import {
  decodeToken,
  encodeToken,
  OWNER_TYPES_TO_WIRE,
  requireTokenPart,
  ROLES_TO_WIRE,
  UUID_PART,
} from '../wallet-rules';

export async function getWallet(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.GetWalletRequest,
): Promise<transactionV1.Wallet> {
  const wallet = await ctx.requireWallet(tenant, requireWalletId(request.walletId, 'wallet_id'), 'wallet_id');
  const funding = await ctx.fundingOf(tenant, wallet);
  const account = await ctx.ledger.getAccount({ tenantId: tenant, accountId: funding.accountId });
  return walletView(ctx, tenant, wallet, account);
}

export async function listChildWallets(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.ListChildWalletsRequest,
): Promise<transactionV1.ListChildWalletsResponse> {
  const parent = await ctx.requireWallet(tenant, requireWalletId(request.walletId, 'wallet_id'), 'wallet_id');
  const pageSize = pageSizeOf(request.pageSize, 50, 100);
  const after = request.pageToken
    ? requireTokenPart(decodeToken(request.pageToken, `children:${parent.id}`), UUID_PART)
    : undefined;
  const rows = await ctx.repository.listChildren(tenant, parent.id, after, pageSize + 1);
  const page = rows.slice(0, pageSize);
  const accounts = new Map<string, Promise<ledgerV1.Account>>();
  const accountOf = (accountId: string) => {
    if (!accounts.has(accountId))
      accounts.set(accountId, ctx.ledger.getAccount({ tenantId: tenant, accountId }));
    return accounts.get(accountId) as Promise<ledgerV1.Account>;
  };
  const wallets = await Promise.all(
    page.map(async (child) =>
      walletView(
        ctx,
        tenant,
        child,
        await accountOf(child.ledger_account_id ?? (parent.ledger_account_id as string)),
      ),
    ),
  );
  const last = page[page.length - 1];
  return {
    wallets,
    nextPageToken: rows.length > pageSize && last ? encodeToken(`children:${parent.id}`, last.id) : '',
  };
}

export async function walletView(
  ctx: WalletContext,
  tenant: TenantId,
  wallet: WalletRow,
  account: ledgerV1.Account,
): Promise<transactionV1.Wallet> {
  const balance = account.balance as ledgerV1.Balance;
  const usage = await ctx.repository.periodSpent(tenant, wallet.id, wallet.limit_period);
  // A member shows its organisation's grants (the account it spends).
  const grantSummary =
    wallet.credit_grants || wallet.role === 'member'
      ? await grantSummaryOf(ctx, tenant, account.accountId)
      : undefined;
  let available = BigInt(balance.availableBalance);
  if (wallet.spend_limit_minor !== null) {
    const remaining = BigInt(wallet.spend_limit_minor) - usage.spent;
    if (remaining < available) available = remaining;
  }
  return {
    walletId: wallet.id,
    // The ledger's split (its shadow credits), the same figures the Firestore mirror shows.
    confirmedBalance: balance.confirmedBalance,
    shadowBalance: balance.shadowBalance,
    ownerType: OWNER_TYPES_TO_WIRE[wallet.owner_type],
    ownerId: wallet.owner_id,
    currency: wallet.currency,
    currencyScale: account.assetScale,
    postedBalance: balance.postedBalance,
    pendingDebits: balance.debitsPending,
    availableBalance: available.toString(),
    version: balance.version,
    parentWalletId: wallet.parent_wallet_id ?? '',
    role: ROLES_TO_WIRE[wallet.role],
    overdraftLimit: wallet.role === 'member' ? '0' : account.overdraftLimit,
    spendLimit: wallet.spend_limit_minor ?? '',
    limitPeriod:
      wallet.limit_period === 'day'
        ? transactionV1.LimitPeriod.LIMIT_PERIOD_DAY
        : transactionV1.LimitPeriod.LIMIT_PERIOD_MONTH,
    periodSpent: usage.spent.toString(),
    periodStart: toTimestamp(usage.periodStart),
    metadata: wallet.metadata,
    createdAt: toTimestamp(wallet.created_at),
    replayed: false,
    status: STATUS_TO_WIRE[wallet.status] ?? transactionV1.WalletStatus.WALLET_STATUS_ACTIVE,
    externalReference: wallet.external_reference ?? '',
    creditGrants: wallet.credit_grants || grantSummary !== undefined,
    grantSummary,
  };
}

const STATUS_TO_WIRE: Readonly<Record<WalletStatus, transactionV1.WalletStatus>> = {
  active: transactionV1.WalletStatus.WALLET_STATUS_ACTIVE,
  frozen: transactionV1.WalletStatus.WALLET_STATUS_FROZEN,
  closed: transactionV1.WalletStatus.WALLET_STATUS_CLOSED,
};
