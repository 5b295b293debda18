import type { LedgerEventBody } from './ledger-event';
import type { TenantAccounting } from './tenant-config';
import {
  assertBalanced,
  externalId,
  MappingError,
  netLines,
  type AccountingLine,
  type TransactionAccounting,
} from './accounting';

/**
 * Postings of a legacy migration (apps/migrator): the opening balance of each imported wallet and
 * each legacy change replayed until cutover, all against the tenant's opening_balances account.
 * The ERP sees the migration once: every such posting (and a rollback's reversals, which keep the
 * action) lands in ONE journal per tenant and currency, `saldo-<tenant>-opening-<asset>`, upserted
 * with its full lines as postings arrive — Dr the opening-balances account of the tenant's mapping
 * (equity or a clearing account), Cr customer prepayment, netted at tenant level (no line per
 * customer, no revenue, no top-up per wallet). Before cutover the legacy system still books its
 * own revenue, so replayed usage is a balance movement here, not revenue.
 */
export const MIGRATION_ACTIONS: ReadonlySet<string> = new Set(['MIGRATION_OPENING', 'MIGRATION_CATCH_UP']);

export function migrationAccountingOf(
  event: LedgerEventBody,
  tenant: TenantAccounting,
  currencyId: string,
): TransactionAccounting | null {
  const tx = event.transaction;
  if (!tx) return null;
  const opening = tenant.accounts.openingBalances;
  if (!opening)
    throw new MappingError(
      "a migration posting needs accounts.openingBalances in the tenant's configuration (opening-balance equity or a clearing account)",
    );
  const raw = tx.entries
    .filter((e) => e.phase === 'ENTRY_PHASE_POSTED')
    .map((entry): AccountingLine => {
      const wallet = entry.accountType === 'ACCOUNT_TYPE_WALLET';
      if (!wallet && entry.accountType !== 'ACCOUNT_TYPE_OPENING_BALANCES')
        throw new MappingError(`a migration posting touches an account of type ${entry.accountType}`);
      const amount = BigInt(entry.amount);
      const debit = entry.side === 'ENTRY_SIDE_DEBIT';
      return {
        role: wallet ? 'customer_prepayment' : 'opening_balances',
        account: wallet ? tenant.accounts.customerPrepayment : opening,
        customer: null,
        item: null,
        debitMinor: debit ? amount : 0n,
        creditMinor: debit ? 0n : amount,
      };
    });
  const lines = netLines(raw);
  if (lines.length === 0) return null; // a replayed transfer nets to nothing at tenant level
  assertBalanced(lines, tx.transactionId);
  return {
    transactionId: tx.transactionId,
    journal: {
      externalId: externalId(['saldo', event.tenantId, 'opening', tx.assetCode]),
      // A journal that collects many transactions and is rewritten whole (like a usage summary).
      kind: 'usage_summary',
      tenantId: event.tenantId,
      assetCode: tx.assetCode,
      assetScale: tx.assetScale,
      currencyId,
      subsidiary: tenant.subsidiary,
      department: tenant.department ?? null,
      tranDate: tx.createdAt.slice(0, 10),
      memo: `Saldo opening balances ${tx.assetCode} (migrated from a legacy wallet system)`,
      productCode: null,
      periodStart: null,
    },
    lines,
  };
}
