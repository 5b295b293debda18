import { LedgerError, parseAmount, requestFingerprint, type TenantId } from '@saldo/ledger-domain';
import type { transactionV1 } from '@saldo/proto';
import { callerMetadata, MAX_HOLD_SECONDS, optionalText, requirePublicKey, requireWalletId } from '../input';
import { referencesOf } from '../transaction-view';
import type { WalletContext } from '../wallet-context';
import { requireDebitable } from '../wallet-status';
import type { WritePlan } from '../write-plan';
import { A, CREDIT, DEBIT, ledgerKey } from '../wallet-rules';
import { grantDebitLegs, hasGrants } from './grants';

export async function reserve(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.ReserveRequest,
): Promise<transactionV1.Transaction> {
  return ctx.execute(await planReserve(ctx, tenant, request));
}

/** A hold is lean unless the wallet is a member (its spend limit is checked under the journal's lock). */
export async function planReserve(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.ReserveRequest,
): Promise<WritePlan> {
  const key = requirePublicKey(request.idempotencyKey);
  const walletId = requireWalletId(request.walletId, 'wallet_id');
  const amount = parseAmount(request.amount, 'amount');
  const productCode = optionalText(request.productCode, 'product_code', 64);
  const expiresIn = request.expiresInSeconds;
  if (!Number.isInteger(expiresIn) || expiresIn < 0 || expiresIn > MAX_HOLD_SECONDS) {
    throw LedgerError.invalid('expires_in_seconds', `must be 0 (never) to ${MAX_HOLD_SECONDS} (one year)`);
  }
  const metadata = callerMetadata(request.metadata);
  const funding = await ctx.fundingOf(tenant, await ctx.requireWallet(tenant, walletId, 'wallet_id'));
  requireDebitable('wallet_id', funding.wallet, funding.funder);
  const command = {
    wallet_id: walletId,
    amount: amount.toString(),
    product_code: productCode,
    expires_in_seconds: expiresIn,
    metadata,
  };
  // A hold reserves from the grants the way a usage would draw; a void gives it back.
  const grantLegs = await grantDebitLegs(ctx, tenant, funding, amount, productCode);
  return ctx.planPosting(
    // Grants take the journal: a retry must replay, not draw again on other grants.
    { lean: funding.wallet.role !== 'member' && !hasGrants(funding) },
    tenant,
    {
      key,
      action: 'Reserve',
      requestHash: requestFingerprint('Reserve', command),
      walletId,
      spend: ctx.spendOf(funding, amount),
      holdExpiresInSeconds: expiresIn,
    },
    {
      tenantId: tenant,
      idempotencyKey: ledgerKey(key),
      assetCode: funding.wallet.currency,
      legs: [
        {
          accountId: funding.accountId,
          systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
          side: DEBIT,
          amount: command.amount,
        },
        { accountId: '', systemAccount: A.ACCOUNT_TYPE_REVENUE, side: CREDIT, amount: command.amount },
        ...grantLegs,
      ],
      pending: true,
      timeoutSeconds: expiresIn,
      action: 'USAGE',
      references: referencesOf({ ...ctx.refsOf(funding), product_code: productCode }),
      metadata,
    },
  );
}
