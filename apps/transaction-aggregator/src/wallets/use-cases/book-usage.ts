import { parseAmount, parseOptionalAmount, requestFingerprint, type TenantId } from '@saldo/ledger-domain';
import type { ledgerV1, transactionV1 } from '@saldo/proto';
import { callerMetadata, optionalText, requirePublicKey, requireWalletId } from '../input';
import { referencesOf } from '../transaction-view';
import type { WalletContext } from '../wallet-context';
import { requireDebitable } from '../wallet-status';
import type { WritePlan } from '../write-plan';
import { A, CREDIT, DEBIT, ledgerKey } from '../wallet-rules';
import { grantDebitLegs, hasGrants } from './grants';

export async function bookUsage(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.BookUsageRequest,
): Promise<transactionV1.Transaction> {
  return ctx.execute(await planBookUsage(ctx, tenant, request));
}

/** Usage is lean unless the wallet is a member (its spend limit is checked under the journal's lock). */
export async function planBookUsage(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.BookUsageRequest,
): Promise<WritePlan> {
  const key = requirePublicKey(request.idempotencyKey);
  const walletId = requireWalletId(request.walletId, 'wallet_id');
  const amount = parseAmount(request.amount, 'amount');
  const productCode = optionalText(request.productCode, 'product_code', 64);
  const cost = parseOptionalAmount(request.costAmount, 'cost_amount');
  const metadata = callerMetadata(request.metadata);
  const funding = await ctx.fundingOf(tenant, await ctx.requireWallet(tenant, walletId, 'wallet_id'));
  requireDebitable('wallet_id', funding.wallet, funding.funder);
  if (cost !== undefined) ctx.limits.check(cost, funding.wallet.currency, 'cost_amount');
  const command = {
    wallet_id: walletId,
    amount: amount.toString(),
    product_code: productCode,
    cost_amount: cost?.toString() ?? '',
    metadata,
  };
  const legs: ledgerV1.Leg[] = [
    {
      accountId: funding.accountId,
      systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
      side: DEBIT,
      amount: command.amount,
    },
    { accountId: '', systemAccount: A.ACCOUNT_TYPE_REVENUE, side: CREDIT, amount: command.amount },
  ];
  // A wallet with credit grants draws on them in consumption order (docs/grants.md).
  legs.push(...(await grantDebitLegs(ctx, tenant, funding, amount, productCode)));
  if (cost !== undefined) {
    legs.push(
      {
        accountId: '',
        systemAccount: A.ACCOUNT_TYPE_COST_OF_REVENUE,
        side: DEBIT,
        amount: command.cost_amount,
      },
      { accountId: '', systemAccount: A.ACCOUNT_TYPE_PAYABLES, side: CREDIT, amount: command.cost_amount },
    );
  }
  return ctx.planPosting(
    // Grants take the journal: a retry must replay, not draw again on other grants.
    { lean: funding.wallet.role !== 'member' && !hasGrants(funding) },
    tenant,
    {
      key,
      action: 'BookUsage',
      requestHash: requestFingerprint('BookUsage', command),
      walletId,
      spend: ctx.spendOf(funding, amount),
    },
    {
      tenantId: tenant,
      idempotencyKey: ledgerKey(key),
      assetCode: funding.wallet.currency,
      legs,
      pending: false,
      timeoutSeconds: 0,
      action: 'USAGE',
      references: referencesOf({
        ...ctx.refsOf(funding),
        product_code: productCode,
        cost_amount: command.cost_amount,
      }),
      metadata,
    },
  );
}
