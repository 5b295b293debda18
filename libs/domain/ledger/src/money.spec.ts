import { formatMinor, MAX_AMOUNT_MINOR, parseAmount, parseOptionalAmount } from './money';
import { LedgerError } from './ledger-error';

describe('parseAmount', () => {
  it('accepts base-10 integers of minor units up to the bigint range', () => {
    expect(parseAmount('15000', 'amount')).toBe(15000n);
    expect(parseAmount('9223372036854775807', 'amount')).toBe(MAX_AMOUNT_MINOR);
    expect(parseAmount('0', 'overdraft_limit', { allowZero: true })).toBe(0n);
  });

  it.each(['', '-1', '+1', '1.0', '1e3', '0x10', ' 1', '1 ', '01', '9223372036854775808', '١٢', 'NaN'])(
    'refuses %j with INVALID_ARGUMENT naming the field',
    (raw) => {
      let error: unknown;
      try {
        parseAmount(raw, 'legs[0].amount');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LedgerError);
      expect((error as LedgerError).code).toBe('INVALID_ARGUMENT');
      expect((error as LedgerError).details.field).toBe('legs[0].amount');
      expect((error as LedgerError).message).toMatch(/^legs\[0\]\.amount: /);
    },
  );

  it('refuses zero unless allowed, and non-strings', () => {
    expect(() => parseAmount('0', 'amount')).toThrow(/greater than zero/);
    expect(() => parseAmount(15 as unknown as string, 'amount')).toThrow(/is required/);
  });

  it('treats an empty optional amount as absent', () => {
    expect(parseOptionalAmount('', 'amount')).toBeUndefined();
    expect(parseOptionalAmount('7', 'amount')).toBe(7n);
  });

  it('formats minor units as major units without floating point', () => {
    expect(formatMinor(15000n, 2)).toBe('150.00');
    expect(formatMinor(5n, 2)).toBe('0.05');
    expect(formatMinor(-1234n, 3)).toBe('-1.234');
    expect(formatMinor(9223372036854775807n, 0)).toBe('9223372036854775807');
  });
});
