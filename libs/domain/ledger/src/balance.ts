import type { NormalSide } from './accounts';

/** TigerBeetle's four running totals, never negative. */
export interface BalanceTotals {
  readonly debitsPosted: bigint;
  readonly creditsPosted: bigint;
  readonly debitsPending: bigint;
  readonly creditsPending: bigint;
}

export interface BalanceFigures {
  readonly postedBalance: bigint;
  readonly availableBalance: bigint;
}

/**
 * Posted balance in the account's normal direction, and what is available once pending entries
 * against that direction are held back. A wallet (credit-normal): posted = credits − debits,
 * available = posted − pending debits.
 */
export function computeBalance(totals: BalanceTotals, normalSide: NormalSide): BalanceFigures {
  if (normalSide === 'credit') {
    const postedBalance = totals.creditsPosted - totals.debitsPosted;
    return { postedBalance, availableBalance: postedBalance - totals.debitsPending };
  }
  const postedBalance = totals.debitsPosted - totals.creditsPosted;
  return { postedBalance, availableBalance: postedBalance - totals.creditsPending };
}
