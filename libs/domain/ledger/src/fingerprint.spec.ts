import { requestFingerprint } from './fingerprint';
import { computeBalance } from './balance';

describe('requestFingerprint', () => {
  it('ignores key order and undefined fields, but not values or the operation', () => {
    const a = requestFingerprint('post', { b: 1, a: { y: '2', x: [1, 2] }, c: undefined });
    expect(requestFingerprint('post', { a: { x: [1, 2], y: '2' }, b: 1 })).toBe(a);
    expect(requestFingerprint('post', { a: { x: [2, 1], y: '2' }, b: 1 })).not.toBe(a);
    expect(requestFingerprint('void', { a: { x: [1, 2], y: '2' }, b: 1 })).not.toBe(a);
    expect(requestFingerprint('post', { amount: 10n })).toBe(requestFingerprint('post', { amount: '10' }));
  });
});

describe('computeBalance', () => {
  const totals = { debitsPosted: 30n, creditsPosted: 100n, debitsPending: 20n, creditsPending: 5n };
  it('credit-normal (wallets): posted = credits − debits, available holds back pending debits', () => {
    expect(computeBalance(totals, 'credit')).toEqual({ postedBalance: 70n, availableBalance: 50n });
  });
  it('debit-normal: posted = debits − credits, available holds back pending credits', () => {
    expect(computeBalance(totals, 'debit')).toEqual({ postedBalance: -70n, availableBalance: -75n });
  });
});
