// Exact money for people: minor units (the API's integers) shown in major units by moving the
// decimal point, never through a float.

const MINOR = /^-?[0-9]+$/;

/** Minor units in major units: ("12000", 2) → "120.00", ("-5", 2) → "-0.05", ("15000", 0) → "15000". */
export function formatMajor(minor: string | bigint, scale: number): string {
  const text = typeof minor === 'bigint' ? minor.toString() : minor.trim() || '0';
  if (!MINOR.test(text)) throw new RangeError(`not an integer amount of minor units: "${text}"`);
  const negative = text.startsWith('-');
  const digits = (negative ? text.slice(1) : text).replace(/^0+(?=\d)/, '');
  if (scale <= 0) return `${negative && digits !== '0' ? '-' : ''}${digits}`;
  const padded = digits.padStart(scale + 1, '0');
  const sign = negative && /[1-9]/.test(digits) ? '-' : '';
  return `${sign}${padded.slice(0, padded.length - scale)}.${padded.slice(padded.length - scale)}`;
}

/** How Saldo shows an amount everywhere: "120.00 USD (12000 minor units)". */
export function formatAmount(minor: string | bigint, scale: number, currency: string): string {
  const text = typeof minor === 'bigint' ? minor.toString() : minor.trim() || '0';
  return `${formatMajor(text, scale)} ${currency} (${text} minor units)`;
}

/**
 * Major units as minor units: ("120.00", 2) → 12000n, ("120", 2) → 12000n, ("0.5", 2) → 50n.
 * More decimals than the currency has are refused, never rounded.
 */
export function toMinorUnits(major: string, scale: number): bigint {
  const match = /^(-?)([0-9]+)(?:\.([0-9]+))?$/.exec(major.trim());
  if (!match) throw new RangeError(`not a decimal amount: "${major}"`);
  const [, sign, whole, fraction = ''] = match;
  if (fraction.length > scale)
    throw new RangeError(`"${major}" has more than ${scale} decimal${scale === 1 ? '' : 's'}`);
  const minor = BigInt(`${whole}${fraction.padEnd(scale, '0')}`);
  return sign ? -minor : minor;
}
