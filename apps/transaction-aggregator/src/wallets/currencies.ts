import { CURRENCY_SCALES, LedgerError } from '@saldo/ledger-domain';

export { CURRENCY_SCALES };

export function currencyScale(raw: unknown, field = 'currency'): { code: string; scale: number } {
  if (typeof raw !== 'string' || raw === '') throw LedgerError.invalid(field, 'is required, e.g. "IDR"');
  const scale = Object.hasOwn(CURRENCY_SCALES, raw) ? CURRENCY_SCALES[raw] : undefined;
  if (scale === undefined) {
    throw LedgerError.invalid(
      field,
      `"${raw.slice(0, 16)}" is not supported; use one of ${Object.keys(CURRENCY_SCALES).join(', ')}`,
    );
  }
  return { code: raw, scale };
}
