import type { AccountType } from './accounts';
import { LedgerError } from './ledger-error';
import type { AmountLimits } from './limits';
import { parseAmount } from './money';

export type Side = 'debit' | 'credit';
export type SystemAccountType = Exclude<AccountType, 'wallet' | 'grant'>;

/** A leg as it arrives: names an account by id or a system account by type. */
export interface LegInput {
  readonly accountId?: string;
  readonly systemAccount?: SystemAccountType;
  readonly side?: Side;
  readonly amount?: string;
}

export interface ValidLeg {
  readonly accountId?: string;
  readonly systemAccount?: SystemAccountType;
  readonly side: Side;
  readonly amount: bigint;
}

/** Bounded, like everything: a posting with more legs is a batch job, not a transaction. */
export const MAX_LEGS = 64;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Checks the shape of a posting before any I/O: 2..64 legs, each naming exactly one account, a
 * side and a positive amount, and total debits equal to total credits (a necessary condition for
 * balance per asset, which the database checks again once it knows each account's asset).
 */
export function validateLegs(
  legs: readonly LegInput[],
  options: { assetCode?: string; limits?: AmountLimits } = {},
): ValidLeg[] {
  if (legs.length < 2) throw LedgerError.invalid('legs', 'a transaction needs at least two legs');
  if (legs.length > MAX_LEGS) throw LedgerError.invalid('legs', `at most ${MAX_LEGS} legs per transaction`);
  const valid = legs.map((leg, index) => validateLeg(leg, `legs[${index}]`, options.assetCode));
  // The per-action maximum of the asset (issue 11 #5), on every leg.
  valid.forEach((leg, index) =>
    options.limits?.check(leg.amount, options.assetCode, `legs[${index}].amount`),
  );
  let debits = 0n;
  let credits = 0n;
  for (const leg of valid) {
    if (leg.side === 'debit') debits += leg.amount;
    else credits += leg.amount;
  }
  if (debits !== credits) {
    throw new LedgerError(
      'UNBALANCED_TRANSACTION',
      `legs: debits (${debits}) must equal credits (${credits})`,
      { field: 'legs', facts: { debits: debits.toString(), credits: credits.toString() } },
    );
  }
  return valid;
}

function validateLeg(leg: LegInput, field: string, assetCode: string | undefined): ValidLeg {
  const hasId = Boolean(leg.accountId);
  const hasSystem = Boolean(leg.systemAccount);
  if (hasId === hasSystem) {
    throw LedgerError.invalid(field, 'name exactly one of account_id or system_account');
  }
  if (hasId && !UUID.test(leg.accountId ?? '')) {
    throw LedgerError.invalid(`${field}.account_id`, 'must be an account id (a UUID)');
  }
  if (hasSystem && !assetCode) {
    throw LedgerError.invalid('asset_code', 'is required when a leg names a system account');
  }
  if (leg.side !== 'debit' && leg.side !== 'credit') {
    throw LedgerError.invalid(`${field}.side`, 'must be DEBIT or CREDIT');
  }
  return {
    ...(hasId ? { accountId: (leg.accountId ?? '').toLowerCase() } : { systemAccount: leg.systemAccount }),
    side: leg.side,
    amount: parseAmount(leg.amount, `${field}.amount`),
  };
}
