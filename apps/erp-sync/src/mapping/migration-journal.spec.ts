import { tenantsConfig, transactionEvents, wallet } from '../../test/event-fixtures';
import { mapLedgerEvent, type EventMapping } from './accounting';
import { ledgerEventSchema } from './ledger-event';
import type { TenantsConfig } from './tenant-config';

const T = 'acme';
const base = tenantsConfig(T);
const tenants = { [T]: { ...base[T]!, accounts: { ...base[T]!.accounts, openingBalances: '3000' } } };
const map = (event: Record<string, unknown>, config: TenantsConfig = tenants): EventMapping =>
  mapLedgerEvent(ledgerEventSchema.parse(event), config);
const opening = (w: ReturnType<typeof wallet>, amount: bigint, action = 'MIGRATION_OPENING', at?: string) =>
  transactionEvents({
    tenant: T,
    action,
    wallets: [w],
    at,
    legs:
      amount > 0n
        ? [
            { type: 'OPENING_BALANCES', side: 'D', amount },
            { type: 'WALLET', side: 'C', amount, wallet: w.walletId },
          ]
        : [
            { type: 'WALLET', side: 'D', amount: -amount, wallet: w.walletId },
            { type: 'OPENING_BALANCES', side: 'C', amount: -amount },
          ],
  })[0]!;

describe('migration postings in the ERP', () => {
  it('every opening and replayed change of a tenant and currency lands in ONE opening-balance journal, tenant-level lines', () => {
    const a = map(opening(wallet('w1', 'alice'), 50_000n, 'MIGRATION_OPENING', '2026-03-04T10:00:00Z'));
    const b = map(opening(wallet('w2', 'bob'), 7_000n, 'MIGRATION_OPENING', '2026-03-05T11:00:00Z'));
    const c = map(opening(wallet('w1', 'alice'), -2_000n, 'MIGRATION_CATCH_UP'));
    const journals = [a, b, c].map((m) => (m.outcome === 'mapped' ? m.accounting?.journal : undefined));
    expect(new Set(journals.map((j) => j?.externalId))).toEqual(new Set(['saldo-acme-opening-IDR']));
    expect(journals[0]).toMatchObject({ kind: 'usage_summary', currencyId: '5', tranDate: '2026-03-04' });
    const lines = a.outcome === 'mapped' ? a.accounting?.lines : [];
    expect(lines).toEqual([
      {
        role: 'opening_balances',
        account: '3000',
        customer: null,
        item: null,
        debitMinor: 50_000n,
        creditMinor: 0n,
      },
      {
        role: 'customer_prepayment',
        account: '200',
        customer: null,
        item: null,
        debitMinor: 0n,
        creditMinor: 50_000n,
      },
    ]);
    // No revenue, no cash clearing: the migration is not a sale or a top-up.
    for (const m of [a, b, c])
      expect(
        m.outcome === 'mapped' &&
          m.accounting?.lines.some((l) => ['revenue', 'cash_clearing'].includes(l.role)),
      ).toBe(false);
  });

  it('needs the tenant to name its opening-balances account (else a dead record with the reason)', () => {
    expect(map(opening(wallet('w1'), 10n), tenantsConfig(T))).toMatchObject({
      outcome: 'unmappable',
      reason: expect.stringMatching(/accounts.openingBalances/),
    });
  });
});
