import { splitShadow } from './balance';

describe('splitShadow', () => {
  it('shows open shadow credits as shadow while the balance covers them', () => {
    expect(splitShadow(150n, 100n)).toEqual({ shadowBalance: 100n, confirmedBalance: 50n });
  });

  it('draws spending from shadow money first: shadow never exceeds what is left', () => {
    expect(splitShadow(60n, 100n)).toEqual({ shadowBalance: 60n, confirmedBalance: 0n });
  });

  it('never shows negative shadow: an overdrawn wallet is all confirmed (negative) balance', () => {
    expect(splitShadow(-40n, 100n)).toEqual({ shadowBalance: 0n, confirmedBalance: -40n });
  });

  it('is all confirmed without open shadow credits', () => {
    expect(splitShadow(9_223_372_036_854_775_807n, 0n)).toEqual({
      shadowBalance: 0n,
      confirmedBalance: 9_223_372_036_854_775_807n,
    });
  });
});
