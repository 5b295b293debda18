// Readable output: aligned tables and exact money. Amounts stay strings and bigints end to end;
// "major units" are written by moving the decimal point, never by dividing a float.
import { fromTimestamp } from '@saldo/grpc-kit';
import type { Timestamp } from '@saldo/proto';

/** Minor units as major units of a currency of `scale` digits: ("-1050", 2) → "-10.50". */
export function formatMinor(minor: string, scale: number): string {
  if (!/^-?[0-9]+$/.test(minor)) return minor;
  const negative = minor.startsWith('-');
  const digits = (negative ? minor.slice(1) : minor).replace(/^0+(?=\d)/, '');
  if (scale <= 0) return `${negative ? '-' : ''}${groupThousands(digits)}`;
  const padded = digits.padStart(scale + 1, '0');
  const whole = padded.slice(0, padded.length - scale);
  const fraction = padded.slice(padded.length - scale);
  return `${negative ? '-' : ''}${groupThousands(whole)}.${fraction}`;
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A table with a header row; columns padded to their widest cell (numbers right-aligned). */
export function table(
  headers: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  rightAligned: readonly number[] = [],
): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        rightAligned.includes(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n') + '\n';
}

/** Label: value lines, labels aligned. */
export function fields(pairs: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width + 1)}  ${value}`).join('\n') + '\n';
}

export function isoTime(value: Timestamp | undefined | null): string {
  const date = fromTimestamp(value ?? undefined);
  return date ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
}

/** JSON for scripts: bigints as strings, two-space indent, one document. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;
}

/** Enum names without their prefix and in lower case: WALLET_ROLE_MEMBER → member. */
export function enumLabel(value: string | number | undefined, prefix = ''): string {
  if (value === undefined || value === '') return '';
  const text = String(value);
  return (text.startsWith(prefix) ? text.slice(prefix.length) : text).toLowerCase().replace(/_/g, ' ');
}
