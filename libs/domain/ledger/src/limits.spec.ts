import fc from 'fast-check';
import { LedgerError } from './ledger-error';
import { AmountLimits, DEFAULT_MAX_AMOUNT_PER_ACTION } from './limits';
import { MAX_AMOUNT_MINOR } from './money';
import { validateLegs } from './posting';

describe('AmountLimits', () => {
  it('parses a default and per-asset overrides, and names what is wrong', () => {
    const limits = AmountLimits.parse('1000', 'USD=50, IDR=7000');
    expect(limits.maxFor('USD')).toBe(50n);
    expect(limits.maxFor('IDR')).toBe(7000n);
    expect(limits.maxFor('EUR')).toBe(1000n);
    expect(() => AmountLimits.parse('0', '')).toThrow(/whole number/);
    expect(() => AmountLimits.parse('1', 'usd=5')).toThrow(/ASSET=max/);
    expect(() => AmountLimits.parse('9223372036854775808', '')).toThrow(/out of range/);
  });

  it('the default is far below 2^63: 9,000 maximal actions cannot reach the bigint range', () => {
    expect(DEFAULT_MAX_AMOUNT_PER_ACTION * 9_000n < MAX_AMOUNT_MINOR).toBe(true);
  });

  it('property: any amount above the maximum is AMOUNT_LIMIT_EXCEEDED on the field, any other passes', () => {
    fc.assert(
      fc.property(fc.bigInt(1n, MAX_AMOUNT_MINOR), fc.bigInt(1n, MAX_AMOUNT_MINOR), (max, amount) => {
        const limits = new AmountLimits(max);
        if (amount <= max) return limits.check(amount, 'USD', 'amount') === amount;
        try {
          limits.check(amount, 'USD', 'amount');
          return false;
        } catch (error) {
          return (
            error instanceof LedgerError &&
            error.code === 'AMOUNT_LIMIT_EXCEEDED' &&
            error.details.field === 'amount' &&
            error.details.facts?.['max_amount'] === max.toString()
          );
        }
      }),
    );
  });

  it('validateLegs refuses a leg above the asset maximum, naming the leg', () => {
    const limits = new AmountLimits(1_000n, new Map([['USD', 100n]]));
    const legs = [
      { systemAccount: 'cash_clearing' as const, side: 'debit' as const, amount: '101' },
      { accountId: '00000000-0000-4000-8000-000000000001', side: 'credit' as const, amount: '101' },
    ];
    expect(() => validateLegs(legs, { assetCode: 'USD', limits })).toThrow(
      expect.objectContaining({
        code: 'AMOUNT_LIMIT_EXCEEDED',
        details: expect.objectContaining({ field: 'legs[0].amount' }),
      }),
    );
    expect(validateLegs(legs, { assetCode: 'EUR', limits })).toHaveLength(2);
  });
});
