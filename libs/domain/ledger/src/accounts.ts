/** Account types as stored (lower snake case). The wire enum maps onto these one to one. */
export const ACCOUNT_TYPES = [
  'wallet',
  'cash_clearing',
  'revenue',
  'cost_of_revenue',
  'payables',
  'promotions',
  'opening_balances',
] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];

/** One of each per tenant and asset, created with the asset. */
export const SYSTEM_ACCOUNT_TYPES = ACCOUNT_TYPES.filter((t) => t !== 'wallet') as Exclude<
  AccountType,
  'wallet'
>[];

export type NormalSide = 'debit' | 'credit';

/**
 * Which side increases an account. Wallets and payables are liabilities of the tenant, revenue is
 * income: credit-normal. Cash clearing is an asset; cost of revenue, promotions and opening
 * balances are expenses or contra equity: debit-normal.
 */
export function normalSideOf(type: AccountType): NormalSide {
  switch (type) {
    case 'wallet':
    case 'revenue':
    case 'payables':
      return 'credit';
    case 'cash_clearing':
    case 'cost_of_revenue':
    case 'promotions':
    case 'opening_balances':
      return 'debit';
  }
}
