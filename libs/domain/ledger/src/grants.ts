/**
 * Credit grants: which grants of a wallet pay for a debit, and how much each (docs/grants.md).
 * Pure: the caller reads the grants with their remainders under the wallet's lock and the ledger
 * refuses any leg that would take a grant below zero, so a stale read can only be refused.
 */
export const GRANT_CATEGORIES = ['paid', 'promotional'] as const;
export type GrantCategory = (typeof GRANT_CATEGORIES)[number];

/** Lower is consumed first (Stripe's convention); 50 unless a grant says otherwise. */
export const DEFAULT_GRANT_PRIORITY = 50;

export interface GrantTerms {
  readonly grantId: string;
  readonly priority: number;
  readonly effectiveAt: Date;
  /** null: never expires. */
  readonly expiresAt: Date | null;
  /** Empty: pays for anything; else only for a debit naming one of these products. */
  readonly productCodes: readonly string[];
  readonly createdAt: Date;
  /** What the grant can still give: granted − consumed − expired − held. */
  readonly remaining: bigint;
}

export interface GrantAllocation {
  readonly grantId: string;
  readonly amount: bigint;
}

/** A grant pays for a debit at `now` when it is in force and covers the product (if any). */
export function isGrantApplicable(grant: GrantTerms, productCode: string, now: Date): boolean {
  if (grant.effectiveAt.getTime() > now.getTime()) return false;
  if (grant.expiresAt !== null && grant.expiresAt.getTime() <= now.getTime()) return false;
  return grant.productCodes.length === 0 || grant.productCodes.includes(productCode);
}

/** Consumption order: priority, then soonest expiry (never-expiring last), then oldest, then id. */
export function compareGrantConsumption(a: GrantTerms, b: GrantTerms): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const ea = a.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const eb = b.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  if (ea !== eb) return ea < eb ? -1 : 1;
  const ca = a.createdAt.getTime();
  const cb = b.createdAt.getTime();
  if (ca !== cb) return ca - cb;
  return a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0;
}

/**
 * Draws `amount` from the applicable grants in consumption order. `shortfall` > 0 means the
 * applicable grants cannot cover it (the allocations then take everything they have).
 */
export function allocateGrants(
  grants: readonly GrantTerms[],
  amount: bigint,
  productCode: string,
  now: Date,
): { allocations: GrantAllocation[]; shortfall: bigint } {
  if (amount <= 0n) throw new RangeError(`amount must be positive, got ${amount}`);
  const allocations: GrantAllocation[] = [];
  let left = amount;
  const usable = grants.filter((g) => g.remaining > 0n && isGrantApplicable(g, productCode, now));
  for (const grant of [...usable].sort(compareGrantConsumption)) {
    if (left === 0n) break;
    const take = grant.remaining < left ? grant.remaining : left;
    allocations.push({ grantId: grant.grantId, amount: take });
    left -= take;
  }
  return { allocations, shortfall: left };
}
