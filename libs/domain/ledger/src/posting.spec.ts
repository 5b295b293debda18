import fc from 'fast-check';
import { validateLegs, MAX_LEGS } from './posting';

const wallet = '6f1c2b1e-2f7d-4e2a-9d8e-0a1b2c3d4e5f';
const other = '7f1c2b1e-2f7d-4e2a-9d8e-0a1b2c3d4e5f';

describe('validateLegs', () => {
  it('accepts balanced legs naming accounts by id or system type', () => {
    const legs = validateLegs(
      [
        { accountId: wallet.toUpperCase(), side: 'debit', amount: '100' },
        { systemAccount: 'revenue', side: 'credit', amount: '100' },
      ],
      { assetCode: 'IDR' },
    );
    expect(legs).toEqual([
      { accountId: wallet, side: 'debit', amount: 100n },
      { systemAccount: 'revenue', side: 'credit', amount: 100n },
    ]);
  });

  it('refuses fewer than two legs, too many, and unbalanced totals', () => {
    expect(() => validateLegs([{ accountId: wallet, side: 'debit', amount: '1' }])).toThrow(
      /at least two legs/,
    );
    const many = Array.from(
      { length: MAX_LEGS + 1 },
      (_, i) => ({ accountId: wallet, side: i % 2 ? 'credit' : 'debit', amount: '1' }) as const,
    );
    expect(() => validateLegs(many)).toThrow(/at most 64 legs/);
    expect(() =>
      validateLegs([
        { accountId: wallet, side: 'debit', amount: '100' },
        { accountId: other, side: 'credit', amount: '99' },
      ]),
    ).toThrow(expect.objectContaining({ code: 'UNBALANCED_TRANSACTION' }));
  });

  it('refuses a leg naming two accounts or none, a bad id, a missing side, or a system leg without asset', () => {
    expect(() =>
      validateLegs([
        { side: 'debit', amount: '1' },
        { accountId: other, side: 'credit', amount: '1' },
      ]),
    ).toThrow(/exactly one/);
    expect(() =>
      validateLegs([
        { accountId: 'nope', side: 'debit', amount: '1' },
        { accountId: other, side: 'credit', amount: '1' },
      ]),
    ).toThrow(expect.objectContaining({ details: { field: 'legs[0].account_id' } }));
    expect(() =>
      validateLegs([
        { accountId: wallet, amount: '1' },
        { accountId: other, side: 'credit', amount: '1' },
      ]),
    ).toThrow(/legs\[0\]\.side/);
    expect(() =>
      validateLegs([
        { accountId: wallet, side: 'debit', amount: '1' },
        { systemAccount: 'revenue', side: 'credit', amount: '1' },
      ]),
    ).toThrow(/asset_code/);
  });

  it('any set of legs it accepts has equal debits and credits', () => {
    const leg = fc.record({
      accountId: fc.constantFrom(wallet, other),
      side: fc.constantFrom('debit' as const, 'credit' as const),
      amount: fc.bigInt({ min: 1n, max: 10n ** 12n }).map(String),
    });
    fc.assert(
      fc.property(fc.array(leg, { minLength: 2, maxLength: 8 }), (legs) => {
        let accepted;
        try {
          accepted = validateLegs(legs);
        } catch {
          return true;
        }
        const sum = (side: string) =>
          accepted.filter((l) => l.side === side).reduce((s, l) => s + l.amount, 0n);
        return sum('debit') === sum('credit');
      }),
    );
  });
});
