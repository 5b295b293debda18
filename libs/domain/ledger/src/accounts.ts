/** Account types as stored (lower snake case). The wire enum maps onto these one to one. */
export const ACCOUNT_TYPES = [
  'wallet',
  'cash_clearing',
  'revenue',
  'cost_of_revenue',
  'payables',
  'promotions',
  'opening_balances',
  'grant',
  'grant_contra',
  'breakage',
] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];

/**
 * One of each per tenant and asset, named by type in a leg. The grant contra and breakage accounts
 * are created by the asset's first credit grant; a grant account is never a system account.
 */
export const SYSTEM_ACCOUNT_TYPES = ACCOUNT_TYPES.filter((t) => t !== 'wallet' && t !== 'grant') as Exclude<
  AccountType,
  'wallet' | 'grant'
>[];

export type NormalSide = 'debit' | 'credit';

/**
 * Which side increases an account. Wallets and payables are liabilities of the tenant, revenue is
 * income: credit-normal. Cash clearing is an asset; cost of revenue, promotions and opening
 * balances are expenses or contra equity: debit-normal. A credit grant is part of a wallet
 * (credit-normal), its contra debit-normal, breakage (expired prepaid credit) income: credit-normal.
 */
export function normalSideOf(type: AccountType): NormalSide {
  switch (type) {
    case 'wallet':
    case 'revenue':
    case 'payables':
    case 'grant':
    case 'breakage':
      return 'credit';
    case 'cash_clearing':
    case 'cost_of_revenue':
    case 'promotions':
    case 'opening_balances':
    case 'grant_contra':
      return 'debit';
  }
}
