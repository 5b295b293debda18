import { derivedUuid, mapWallet, parseMapping, toMinor } from './mapping';
import { parseCsv } from './csv-source';
import { SIMULATOR_MAPPING } from '../simulator/simulator-schema';

describe('legacy amounts to minor units', () => {
  it('scales exactly, both ways', () => {
    expect(toMinor('12340000', 4, 2)).toBe(123400n);
    expect(toMinor('-500', 4, 2)).toBe(-5n);
    expect(toMinor('7', 0, 2)).toBe(700n);
    expect(toMinor('15.000', 0, 0)).toBe(15n);
  });
  it('refuses what would round, and what is not a number', () => {
    expect(toMinor('12345', 4, 2)).toMatch(/finer than the currency's 2 decimal/);
    expect(toMinor('1.5', 0, 0)).toMatch(/not a whole number/);
    expect(toMinor('1e5', 0, 0)).toMatch(/not a decimal/);
  });
});

describe('mapping a legacy wallet', () => {
  const record = { id: '9', owner: 'bob', currency: 'USD', model: 'M', parentId: '5', overdraft: '0' };
  const balance = { exists: true, balance: '0' };
  it('derives stable ids per tenant, and a member spends its organisation (no account)', () => {
    const mapped = mapWallet('t1', SIMULATOR_MAPPING, record, balance, () => 'enterprise');
    expect(mapped).toMatchObject({
      role: 'member',
      accountId: null,
      parentWalletId: derivedUuid('wallet', 't1', '5'),
    });
    expect(derivedUuid('wallet', 't1', '9')).toBe(derivedUuid('wallet', 't1', '9'));
    expect(derivedUuid('wallet', 't1', '9')).not.toBe(derivedUuid('wallet', 't2', '9'));
    expect(derivedUuid('wallet', 't1', '9')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
  it('says why it cannot map', () => {
    expect(
      mapWallet('t', SIMULATOR_MAPPING, record, { exists: true, balance: '100' }, () => 'enterprise'),
    ).toMatchObject({ kind: 'member_with_balance' });
    expect(mapWallet('t', SIMULATOR_MAPPING, record, balance, () => 'reseller')).toMatchObject({
      kind: 'bad_parent',
    });
    expect(mapWallet('t', SIMULATOR_MAPPING, record, balance, () => undefined)).toMatchObject({
      kind: 'bad_parent',
    });
    expect(
      mapWallet('t', SIMULATOR_MAPPING, { ...record, model: 'Q' }, balance, () => undefined),
    ).toMatchObject({ kind: 'unknown_model' });
    expect(
      mapWallet(
        't',
        SIMULATOR_MAPPING,
        { ...record, model: 'P', parentId: null },
        { exists: true, balance: '-100' },
        () => undefined,
      ),
    ).toMatchObject({ kind: 'below_overdraft' });
  });
  it('validates a mapping file and names the bad field', () => {
    expect(() =>
      parseMapping(
        { ...SIMULATOR_MAPPING, wallets: { ...SIMULATOR_MAPPING.wallets, table: 'x; drop' } },
        'm.json',
      ),
    ).toThrow(/m.json: wallets.table/);
    expect(() => parseMapping({ ...SIMULATOR_MAPPING, amountScale: -1 }, 'm.json')).toThrow(/amountScale/);
  });
});

describe('CSV', () => {
  it('parses RFC 4180 quoting', () => {
    expect(parseCsv('a,b\n"x, y","say ""hi"""\r\n3,\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['3', ''],
    ]);
  });
});
