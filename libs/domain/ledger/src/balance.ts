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

export interface ShadowSplit {
  /** The part of the posted balance that unconfirmed shadow credits account for. */
  readonly shadowBalance: bigint;
  /** postedBalance − shadowBalance. */
  readonly confirmedBalance: bigint;
}

/**
 * Splits a wallet's posted balance into confirmed and shadow money. Spending draws on shadow money
 * first (it is usable at once), so shadow is at most what is left of the balance, never below zero:
 * 100 of shadow credits on a balance of 60 shows 60 shadow, 0 confirmed.
 */
export function splitShadow(postedBalance: bigint, openShadowCredits: bigint): ShadowSplit {
  const remaining = postedBalance > 0n ? postedBalance : 0n;
  const shadowBalance = openShadowCredits < remaining ? openShadowCredits : remaining;
  return { shadowBalance, confirmedBalance: postedBalance - shadowBalance };
}
