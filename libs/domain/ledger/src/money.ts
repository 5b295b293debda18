import { LedgerError } from './ledger-error';

/** The largest amount the ledger stores (PostgreSQL bigint). */
export const MAX_AMOUNT_MINOR = 9_223_372_036_854_775_807n;

const DIGITS = /^(0|[1-9][0-9]*)$/;

/**
 * Parses a wire amount: a base-10 integer of minor units as a string. Anything else — a sign,
 * decimals, an exponent, spaces, leading zeros, empty, beyond the ledger's range — is refused with
 * a message that names the field.
 */
export function parseAmount(raw: unknown, field: string, options: { allowZero?: boolean } = {}): bigint {
  if (typeof raw !== 'string' || raw === '') {
    throw LedgerError.invalid(field, 'is required: a whole number of minor units as a string, e.g. "15000"');
  }
  if (!DIGITS.test(raw)) {
    throw LedgerError.invalid(
      field,
      `must be a whole, non-negative number of minor units written with digits only (got "${truncate(raw)}")`,
    );
  }
  const value = BigInt(raw);
  if (value > MAX_AMOUNT_MINOR) {
    throw LedgerError.invalid(field, `must be at most ${MAX_AMOUNT_MINOR} minor units`);
  }
  if (value === 0n && !options.allowZero) {
    throw LedgerError.invalid(field, 'must be greater than zero');
  }
  return value;
}

/** An optional amount: empty means "not given". */
export function parseOptionalAmount(raw: unknown, field: string): bigint | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  return parseAmount(raw, field);
}

/** Renders minor units as a decimal string of major units, e.g. 15000 at scale 2 → "150.00". */
export function formatMinor(amount: bigint, scale: number): string {
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(scale + 1, '0');
  const major = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${major}` : major;
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
