import { fromTimestamp, toTimestamp } from '@saldo/grpc-kit';
import {
  allocateGrants,
  compareGrantConsumption,
  LedgerError,
  parseAmount,
  requestFingerprint,
  type GrantTerms,
  type TenantId,
} from '@saldo/ledger-domain';
import type { ledgerV1, transactionV1 } from '@saldo/proto';
import type { WalletRow } from '../aggregator.repository';
import { callerMetadata, optionalText, requirePublicKey, requireWalletId } from '../input';
import { referencesOf } from '../transaction-view';
import type { Funding, WalletContext } from '../wallet-context';
import { A, CREDIT, DEBIT, ledgerKey, rule } from '../wallet-rules';

/**
 * Credit grants (docs/grants.md) on the aggregator's side: which grant a credit opens and which
 * grants pay for a debit. The ledger enforces each grant's remainder; `ledger verify` proves the
 * rest. A grant in its last GRANT_EXPIRY_MARGIN_MS is not drawn on, so a posting that commits a
 * moment after it was decided never draws on an expired grant.
 */
export const GRANT_EXPIRY_MARGIN_MS = 30_000;

export type GrantTermsInput = Pick<
  ledgerV1.OpenGrantRequest,
  'category' | 'priority' | 'effectiveAt' | 'expiresAt' | 'productCodes' | 'source' | 'sourceRef'
>;

const PAID_TOP_UP: GrantTermsInput = {
  category: 'paid',
  priority: 0,
  effectiveAt: undefined,
  expiresAt: undefined,
  productCodes: [],
  source: 'top_up',
  sourceRef: '',
};

/** Whether credits and debits of this funding move grants. */
export const hasGrants = (funding: Funding) => funding.funder.credit_grants;

/**
 * The legs that put a credit into a new grant of `account` (grant contra → grant), or none when
 * the wallet has no grants. The grant is opened under a key derived from the caller's, so a retry
 * funds the same grant; a grant whose funding posting is refused holds nothing and is not listed.
 */
export async function grantCreditLegs(
  ctx: WalletContext,
  tenant: TenantId,
  wallet: WalletRow,
  account: string,
  amount: string,
  key: string,
  terms: GrantTermsInput = PAID_TOP_UP,
): Promise<ledgerV1.Leg[]> {
  if (!wallet.credit_grants) return [];
  const grant = await ctx.ledger.openGrant({
    tenantId: tenant,
    // Its own key beside the posting's (`agg:<key>`): a retry funds the same grant.
    idempotencyKey: `agg:grant:${key}`,
    walletAccountId: account,
    ...terms,
  });
  return [
    { accountId: '', systemAccount: A.ACCOUNT_TYPE_GRANT_CONTRA, side: DEBIT, amount },
    { accountId: grant.grantId, systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED, side: CREDIT, amount },
  ];
}

/**
 * The legs that draw `amount` from the funding's grants in consumption order (grant → grant
 * contra), or none without grants. Refused with INSUFFICIENT_GRANTS naming the shortfall when the
 * grants that apply to the product cannot cover it, whatever other credit the wallet holds.
 */
export async function grantDebitLegs(
  ctx: WalletContext,
  tenant: TenantId,
  funding: Funding,
  amount: bigint,
  productCode: string,
): Promise<ledgerV1.Leg[]> {
  if (!hasGrants(funding)) return [];
  const { grants } = await ctx.ledger.listGrants({
    tenantId: tenant,
    walletAccountId: funding.accountId,
    includeClosed: false,
  });
  const now = new Date();
  const safeUntil = now.getTime() + GRANT_EXPIRY_MARGIN_MS;
  const { allocations, shortfall } = allocateGrants(
    grants.map((g) => {
      const terms = termsOf(g);
      // A grant about to expire is left alone (see GRANT_EXPIRY_MARGIN_MS).
      const expiring = terms.expiresAt !== null && terms.expiresAt.getTime() <= safeUntil;
      return expiring ? { ...terms, remaining: 0n } : terms;
    }),
    amount,
    productCode,
    now,
  );
  if (shortfall > 0n) {
    throw new LedgerError(
      'INSUFFICIENT_GRANTS',
      `amount: the credit grants that apply${productCode ? ` to product ${productCode}` : ''} are ${shortfall} short`,
      { field: 'amount', facts: { shortfall: shortfall.toString(), product_code: productCode } },
    );
  }
  return [
    ...allocations.map((a) => ({
      accountId: a.grantId,
      systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
      side: DEBIT,
      amount: a.amount.toString(),
    })),
    { accountId: '', systemAccount: A.ACCOUNT_TYPE_GRANT_CONTRA, side: CREDIT, amount: amount.toString() },
  ];
}

/** GrantCredit: credit with terms of its own, from promotions (promotional) or cash clearing (paid). */
export async function grantCredit(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.GrantCreditRequest,
): Promise<transactionV1.Transaction> {
  const key = requirePublicKey(request.idempotencyKey);
  const walletId = requireWalletId(request.walletId, 'wallet_id');
  const amount = parseAmount(request.amount, 'amount');
  const category = request.category || 'promotional';
  if (category !== 'promotional' && category !== 'paid')
    throw LedgerError.invalid('category', 'must be promotional or paid');
  const reason = optionalText(request.reason, 'reason', 256);
  const metadata = callerMetadata(request.metadata);
  const wallet = await ctx.requireWallet(tenant, walletId, 'wallet_id');
  if (!wallet.credit_grants)
    throw rule('wallet_id', 'the wallet was not opened with credit_grants: use TopUp for plain balance');
  const account = wallet.ledger_account_id as string;
  const terms: GrantTermsInput = {
    category,
    priority: request.priority,
    effectiveAt: request.effectiveAt,
    expiresAt: request.expiresAt,
    productCodes: request.productCodes,
    source: category === 'promotional' ? 'promotion' : 'top_up',
    sourceRef: reason,
  };
  const command = {
    wallet_id: walletId,
    amount: amount.toString(),
    category,
    priority: request.priority,
    effective_at: fromTimestamp(request.effectiveAt)?.toISOString() ?? '',
    expires_at: fromTimestamp(request.expiresAt)?.toISOString() ?? '',
    product_codes: [...request.productCodes].sort(),
    reason,
    metadata,
  };
  const requestHash = requestFingerprint('GrantCredit', command);
  const from = category === 'promotional' ? A.ACCOUNT_TYPE_PROMOTIONS : A.ACCOUNT_TYPE_CASH_CLEARING;
  const grantLegs = await grantCreditLegs(ctx, tenant, wallet, account, command.amount, key, terms);
  return ctx.post(
    tenant,
    { key, action: 'GrantCredit', requestHash, walletId },
    {
      tenantId: tenant,
      idempotencyKey: ledgerKey(key),
      assetCode: wallet.currency,
      legs: [
        { accountId: '', systemAccount: from, side: DEBIT, amount: command.amount },
        {
          accountId: account,
          systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
          side: CREDIT,
          amount: command.amount,
        },
        ...grantLegs,
      ],
      pending: false,
      timeoutSeconds: 0,
      action: category === 'promotional' ? 'PROMOTION' : 'TOP_UP',
      references: referencesOf({
        wallet_id: walletId,
        funding_wallet_id: walletId,
        wallet_account_id: account,
        reference: reason,
      }),
      metadata,
    },
  );
}

/** ListGrants: a wallet's grants (its organisation's for a member), in consumption order. */
export async function listGrants(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.ListGrantsRequest,
): Promise<transactionV1.ListGrantsResponse> {
  const wallet = await ctx.requireWallet(tenant, requireWalletId(request.walletId, 'wallet_id'), 'wallet_id');
  const funding = await ctx.fundingOf(tenant, wallet);
  const { grants } = await ctx.ledger.listGrants({
    tenantId: tenant,
    walletAccountId: funding.accountId,
    includeClosed: request.includeClosed,
  });
  return { grants: inConsumptionOrder(grants).map((g) => publicGrant(g, funding.funder.id)) };
}

/** GetWallet's summary of the grants of `account`, or undefined when it has none. */
export async function grantSummaryOf(
  ctx: WalletContext,
  tenant: TenantId,
  account: string,
): Promise<transactionV1.GrantSummary | undefined> {
  const { grants } = await ctx.ledger.listGrants({
    tenantId: tenant,
    walletAccountId: account,
    includeClosed: false,
  });
  if (grants.length === 0) return undefined;
  const sum = (category: string) =>
    grants.filter((g) => g.category === category).reduce((s, g) => s + BigInt(g.remainingAmount), 0n);
  const expiring = grants
    .filter((g) => g.expiresAt && BigInt(g.remainingAmount) > 0n)
    .sort(
      (a, b) => (fromTimestamp(a.expiresAt)?.getTime() ?? 0) - (fromTimestamp(b.expiresAt)?.getTime() ?? 0),
    );
  const next = expiring[0];
  const nextAt = next ? fromTimestamp(next.expiresAt)?.getTime() : undefined;
  return {
    paidRemaining: sum('paid').toString(),
    promotionalRemaining: sum('promotional').toString(),
    nextExpiryAt: next?.expiresAt,
    nextExpiryAmount: expiring
      .filter((g) => fromTimestamp(g.expiresAt)?.getTime() === nextAt)
      .reduce((s, g) => s + BigInt(g.remainingAmount), 0n)
      .toString(),
    openGrants: grants.length,
  };
}

/** The domain's view of a ledger grant: the one consumption order lives in @saldo/ledger-domain. */
function termsOf(g: ledgerV1.Grant): GrantTerms {
  return {
    grantId: g.grantId,
    priority: g.priority,
    effectiveAt: fromTimestamp(g.effectiveAt) ?? new Date(0),
    expiresAt: fromTimestamp(g.expiresAt) ?? null,
    productCodes: g.productCodes,
    createdAt: fromTimestamp(g.createdAt) ?? new Date(0),
    remaining: BigInt(g.remainingAmount),
  };
}

function inConsumptionOrder(grants: ledgerV1.Grant[]): ledgerV1.Grant[] {
  const terms = new Map(grants.map((g) => [g, termsOf(g)]));
  return [...grants].sort((a, b) => compareGrantConsumption(terms.get(a)!, terms.get(b)!));
}

function publicGrant(g: ledgerV1.Grant, walletId: string): transactionV1.Grant {
  return {
    grantId: g.grantId,
    walletId,
    category: g.category,
    priority: g.priority,
    effectiveAt: g.effectiveAt,
    expiresAt: g.expiresAt,
    productCodes: g.productCodes,
    source: g.source,
    grantedAmount: g.grantedAmount,
    remainingAmount: g.remainingAmount,
    heldAmount: g.heldAmount,
    consumedAmount: g.consumedAmount,
    expiredAmount: g.expiredAmount,
    createdAt: g.createdAt ?? toTimestamp(new Date(0)),
  };
}
