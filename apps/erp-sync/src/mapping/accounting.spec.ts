import {
  hold,
  reversalOfUsage,
  tenantsConfig,
  topUp,
  transactionEvents,
  transfer,
  usage,
  wallet,
} from '../../test/event-fixtures';
import { mapLedgerEvent, type AccountingLine, type EventMapping } from './accounting';
import { ledgerEventSchema } from './ledger-event';
import { parseTenantsConfig, TenantConfigError } from './tenant-config';

const T = 'acme';
const tenants = tenantsConfig(T, { threshold: '1000000' });
const map = (event: Record<string, unknown>): EventMapping =>
  mapLedgerEvent(ledgerEventSchema.parse(event), tenants);
const lines = (m: EventMapping): Array<[string, string, string | null, string]> => {
  if (m.outcome !== 'mapped' || !m.accounting) throw new Error(`no accounting: ${JSON.stringify(m)}`);
  return m.accounting.lines.map((l: AccountingLine) => [
    l.role,
    l.account,
    l.customer,
    l.debitMinor > 0n ? `Dr ${l.debitMinor}` : `Cr ${l.creditMinor}`,
  ]);
};

describe('the accounting mapping', () => {
  it('credit grants: memo legs on grants and their contra never reach the ERP; an expiry books breakage', () => {
    const alice = wallet('w1', 'alice');
    const usageFromGrants = map(
      transactionEvents({
        tenant: T,
        action: 'USAGE',
        wallets: [alice],
        productCode: 'esign.basic',
        at: '2026-03-04T10:15:00Z',
        legs: [
          { type: 'WALLET', side: 'D', amount: 300n, wallet: 'w1' },
          { type: 'REVENUE', side: 'C', amount: 300n },
          { type: 'GRANT', side: 'D', amount: 200n },
          { type: 'GRANT', side: 'D', amount: 100n },
          { type: 'GRANT_CONTRA', side: 'C', amount: 300n },
        ],
      })[0]!,
    );
    expect(lines(usageFromGrants)).toEqual([
      ['customer_prepayment', '200', 'alice', 'Dr 300'],
      ['revenue', '400', null, 'Cr 300'],
    ]);
    const expiry = map(
      transactionEvents({
        tenant: T,
        action: 'GRANT_EXPIRY',
        wallets: [alice],
        at: '2026-03-05T00:00:00Z',
        legs: [
          { type: 'GRANT', side: 'D', amount: 50n },
          { type: 'GRANT_CONTRA', side: 'C', amount: 50n },
          { type: 'WALLET', side: 'D', amount: 50n, wallet: 'w1' },
          { type: 'BREAKAGE', side: 'C', amount: 50n },
        ],
      })[0]!,
    );
    // No breakage account in this tenant's mapping: breakage is booked to revenue.
    expect(lines(expiry)).toEqual([
      ['customer_prepayment', '200', 'alice', 'Dr 50'],
      ['breakage', '400', null, 'Cr 50'],
    ]);
  });

  it('top-up: Dr cash clearing / Cr customer prepayment, its own journal entry', () => {
    const m = map(topUp(T, wallet('w1', 'alice'), 50_000n, '2026-03-04T10:15:00Z')[0]!);
    expect(lines(m)).toEqual([
      ['cash_clearing', '100', null, 'Dr 50000'],
      ['customer_prepayment', '200', 'alice', 'Cr 50000'],
    ]);
    expect(m.outcome === 'mapped' && m.accounting?.journal).toMatchObject({
      kind: 'single',
      tranDate: '2026-03-04',
      currencyId: '5',
      subsidiary: '1',
      department: '7',
    });
  });

  it('usage with cost: Dr prepayment / Cr revenue and Dr cost of revenue / Cr payables, in the hourly summary of its product', () => {
    const m = map(
      usage(T, wallet('w1', 'alice'), 1_500n, 'esign.basic', 400n, '2026-03-04T10:59:59.999Z')[0]!,
    );
    expect(lines(m)).toEqual([
      ['customer_prepayment', '200', 'alice', 'Dr 1500'],
      ['revenue', '400', null, 'Cr 1500'],
      ['cost_of_revenue', '500', null, 'Dr 400'],
      ['payables', '210', null, 'Cr 400'],
    ]);
    const journal = m.outcome === 'mapped' ? m.accounting!.journal : undefined;
    expect(journal).toMatchObject({
      kind: 'usage_summary',
      externalId: expect.stringMatching(/^saldo-acme-usage-IDR-esign_basic-202603041000-[0-9a-f]{12}$/),
      tranDate: '2026-03-04',
    });
    expect(m.outcome === 'mapped' && m.accounting!.lines.find((l) => l.role === 'revenue')!.item).toBe('31');
  });

  it('usage in the next hour, or of another product, lands in another summary; at the threshold it goes alone', () => {
    const id = (e: Record<string, unknown>) => {
      const m = map(e);
      return m.outcome === 'mapped' ? m.accounting!.journal.externalId : m.reason;
    };
    const w = wallet('w1');
    const esign11 = id(usage(T, w, 10n, 'esign.basic', 0n, '2026-03-04T11:00:00Z')[0]!);
    expect(esign11).toMatch(/^saldo-acme-usage-IDR-esign_basic-202603041100-[0-9a-f]{12}$/);
    expect(id(usage(T, w, 10n, 'esign.basic', 0n, '2026-03-04T11:59:59Z')[0]!)).toBe(esign11);
    expect(id(usage(T, w, 10n, 'esign.basic', 0n, '2026-03-04T10:59:59Z')[0]!)).not.toBe(esign11);
    expect(id(usage(T, w, 10n, 'ekyc.check', 0n, '2026-03-04T11:00:00Z')[0]!)).toMatch(
      /^saldo-acme-usage-IDR-ekyc_check-202603041100-/,
    );
    expect(id(usage(T, w, 1_000_000n, 'esign.basic', 0n, '2026-03-04T11:00:00Z', 'tx-big')[0]!)).toBe(
      'saldo-acme-tx-tx-big',
    );
    expect(id(usage(T, w, 999_999n, 'esign.basic', 0n, '2026-03-04T11:00:00Z', 'tx-small')[0]!)).toBe(
      esign11,
    );
  });

  it('transfer: moves the prepayment from the sender to the receiver, the same from either part', () => {
    const [part1, part2] = transfer(T, wallet('w1', 'alice'), wallet('w2', 'bob'), 700n);
    const expected = [
      ['customer_prepayment', '200', 'alice', 'Dr 700'],
      ['customer_prepayment', '200', 'bob', 'Cr 700'],
    ];
    expect(lines(map(part1!))).toEqual(expected);
    expect(lines(map(part2!))).toEqual(expected);
  });

  it('reversal of a usage: exactly the reverse of what the usage recorded, as its own entry', () => {
    const m = map(reversalOfUsage(T, wallet('w1', 'alice'), 1_500n, 'esign.basic', 400n, 'tx-orig')[0]!);
    expect(lines(m)).toEqual([
      ['customer_prepayment', '200', 'alice', 'Cr 1500'],
      ['revenue', '400', null, 'Dr 1500'],
      ['cost_of_revenue', '500', null, 'Cr 400'],
      ['payables', '210', null, 'Dr 400'],
    ]);
    expect(m.outcome === 'mapped' && m.accounting!.journal.memo).toContain('reversal of tx-orig');
  });

  it('a hold posts nothing to the ERP, but still updates the CRM balance', () => {
    const m = map(hold(T, wallet('w1'), 300n, 'esign.basic')[0]!);
    expect(m).toMatchObject({ outcome: 'mapped', accounting: null });
    expect(m.balance).toMatchObject({ walletId: 'w1', version: 1n });
  });

  it('refuses what it cannot map, with the reason: unknown tenant, unknown asset, unknown product', () => {
    expect(
      mapLedgerEvent(ledgerEventSchema.parse(topUp('other', wallet('w1'), 1n)[0]), tenants),
    ).toMatchObject({ outcome: 'unmappable', reason: expect.stringContaining('tenant "other"') });
    const eur = topUp(T, wallet('w1'), 1n)[0] as { transaction: { assetCode: string } };
    eur.transaction.assetCode = 'EUR';
    expect(map(eur)).toMatchObject({ outcome: 'unmappable', reason: expect.stringContaining('asset EUR') });
    expect(map(usage(T, wallet('w1'), 1n, 'nope')[0]!)).toMatchObject({
      outcome: 'unmappable',
      reason: expect.stringContaining('product "nope"'),
    });
  });
});

describe('the tenant configuration', () => {
  it('names the tenant and field of every problem', () => {
    const bad = {
      acme: {
        ...tenantsConfig('acme')['acme'],
        accounts: { cashClearing: '100' },
        usageSummary: { periodMinutes: 7 },
      },
    };
    let error: unknown;
    try {
      parseTenantsConfig(bad, 'test');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TenantConfigError);
    const message = (error as Error).message;
    expect(message).toContain('acme.accounts.customerPrepayment');
    expect(message).toContain('acme.usageSummary.periodMinutes: must divide 1440');
  });
});
