import { createHash } from 'node:crypto';
import type { LedgerEventBody, WalletStateBody } from './ledger-event';
import { MIGRATION_ACTIONS, migrationAccountingOf } from './migration-journal';
import type { TenantAccounting, TenantsConfig } from './tenant-config';

/**
 * THE mapping from ledger movements to ERP journal lines. Every rule finance relies on lives here:
 *
 * - Each posted ledger entry becomes a line on the ERP account of its ledger account's role
 *   (wallet → customer prepayment / deferred revenue, with the customer; cash clearing, revenue,
 *   cost of revenue, payables, promotions, opening balances → the tenant's accounts), on the same
 *   side. Pending and release entries (holds) move no money in the ERP: a hold is recorded when it
 *   is captured, for the captured amount.
 *   So: top-up = Dr cash clearing / Cr prepayment(customer); usage = Dr prepayment(customer) /
 *   Cr revenue, and with a cost Dr cost of revenue / Cr payables; transfer = Dr prepayment(sender) /
 *   Cr prepayment(receiver); a reversal (void of a posted action) carries the mirrored entries of
 *   the original, so it is exactly the reverse of what was recorded.
 * - Usage (action USAGE, posted or captured) below the tenant's threshold goes into one summary
 *   journal entry per tenant, asset, product and period; everything else (top-ups, transfers,
 *   reversals, large usage) gets a journal entry of its own. External ids are deterministic, so a
 *   replay lands on the same NetSuite record.
 * - Lines of one journal are netted per (account, customer, item): a summary carries one
 *   prepayment line per customer and one revenue line per item.
 */

export type AccountRole =
  | 'cash_clearing'
  | 'customer_prepayment'
  | 'revenue'
  | 'cost_of_revenue'
  | 'payables'
  | 'promotions'
  | 'opening_balances'
  | 'breakage';

export interface AccountingLine {
  role: AccountRole;
  account: string;
  /** The customer (wallet owner) of a prepayment line. */
  customer: string | null;
  item: string | null;
  /** Exactly one of the two is positive. */
  debitMinor: bigint;
  creditMinor: bigint;
}

export interface JournalHeader {
  externalId: string;
  kind: 'usage_summary' | 'single';
  tenantId: string;
  assetCode: string;
  assetScale: number;
  currencyId: string;
  subsidiary: string;
  department: string | null;
  /** YYYY-MM-DD (UTC) of the transaction, or of the summary period's start. */
  tranDate: string;
  memo: string;
  productCode: string | null;
  periodStart: string | null;
}

export interface TransactionAccounting {
  transactionId: string;
  journal: JournalHeader;
  lines: AccountingLine[];
}

export interface BalanceSnapshot {
  tenantId: string;
  walletId: string;
  ownerId: string;
  ownerType: string;
  currency: string;
  assetScale: number;
  postedBalanceMinor: string;
  availableBalanceMinor: string;
  version: bigint;
  /** When this change was a usage: its time (the CRM's "last usage"). */
  usageAt: string | null;
  occurredAt: string;
}

export type EventMapping =
  | { outcome: 'mapped'; accounting: TransactionAccounting | null; balance: BalanceSnapshot | null }
  | { outcome: 'unmappable'; reason: string; balance: BalanceSnapshot | null };

export class MappingError extends Error {}

const ROLE_OF_ACCOUNT_TYPE: Record<string, AccountRole> = {
  ACCOUNT_TYPE_WALLET: 'customer_prepayment',
  ACCOUNT_TYPE_CASH_CLEARING: 'cash_clearing',
  ACCOUNT_TYPE_REVENUE: 'revenue',
  ACCOUNT_TYPE_COST_OF_REVENUE: 'cost_of_revenue',
  ACCOUNT_TYPE_PAYABLES: 'payables',
  ACCOUNT_TYPE_PROMOTIONS: 'promotions',
  ACCOUNT_TYPE_OPENING_BALANCES: 'opening_balances',
  ACCOUNT_TYPE_BREAKAGE: 'breakage',
};

/**
 * Credit grants' memo legs (a grant and its contra) say which grant paid, not where money went:
 * the wallet's own legs already carry the money, so finance never sees them (docs/grants.md).
 */
const MEMO_ACCOUNT_TYPES = new Set(['ACCOUNT_TYPE_GRANT', 'ACCOUNT_TYPE_GRANT_CONTRA']);

const USAGE_ACTIONS = new Set(['USAGE']);
const BALANCE_EVENTS = new Set([
  'LEDGER_EVENT_TYPE_WALLET_OPENED',
  'LEDGER_EVENT_TYPE_TRANSACTION_POSTED',
  'LEDGER_EVENT_TYPE_TRANSACTION_PENDING',
  'LEDGER_EVENT_TYPE_TRANSACTION_POSTED_FROM_PENDING',
  'LEDGER_EVENT_TYPE_TRANSACTION_VOIDED',
  'LEDGER_EVENT_TYPE_TRANSACTION_REVERSED',
]);

export function mapLedgerEvent(event: LedgerEventBody, tenants: TenantsConfig): EventMapping {
  const balance = balanceOf(event);
  const tenant = tenants[event.tenantId];
  if (!event.transaction) return { outcome: 'mapped', accounting: null, balance };
  if (!tenant)
    return {
      outcome: 'unmappable',
      reason: `tenant "${event.tenantId}" has no accounting configuration`,
      balance,
    };
  try {
    return { outcome: 'mapped', accounting: accountingOf(event, tenant), balance };
  } catch (error) {
    if (error instanceof MappingError) return { outcome: 'unmappable', reason: error.message, balance };
    throw error;
  }
}

function accountingOf(event: LedgerEventBody, tenant: TenantAccounting): TransactionAccounting | null {
  const tx = event.transaction!;
  const posted = tx.entries.filter(
    (e) => e.phase === 'ENTRY_PHASE_POSTED' && !MEMO_ACCOUNT_TYPES.has(e.accountType),
  );
  if (posted.length === 0) return null; // a hold placed or released: nothing for finance yet
  const currencyId = tenant.currencies[tx.assetCode];
  if (!currencyId)
    throw new MappingError(`asset ${tx.assetCode} has no NetSuite currency in the tenant's configuration`);
  const action = event.businessAction?.action || tx.action;
  if (MIGRATION_ACTIONS.has(action)) return migrationAccountingOf(event, tenant, currencyId);
  const productCode = event.businessAction?.productCode || tx.references['product_code'] || '';
  const isUsage = USAGE_ACTIONS.has(action) && tx.kind !== 'TRANSACTION_KIND_REVERSAL';
  const item = isUsage || productCode ? itemOf(tenant, productCode, isUsage) : null;
  const owners = new Map(event.wallets.map((w) => [w.walletId, w]));
  if (event.wallet) owners.set(event.wallet.walletId, event.wallet);

  const raw = posted.map((entry): AccountingLine => {
    const role = ROLE_OF_ACCOUNT_TYPE[entry.accountType];
    if (!role) throw new MappingError(`entry on an account of unknown type ${entry.accountType}`);
    const amount = BigInt(entry.amount);
    const debit = entry.side === 'ENTRY_SIDE_DEBIT';
    return {
      role,
      account: accountFor(tenant, role, productCode),
      customer:
        role === 'customer_prepayment' ? customerOf(owners.get(entry.walletId), entry.walletId) : null,
      item: role === 'revenue' || role === 'cost_of_revenue' ? item : null,
      debitMinor: debit ? amount : 0n,
      creditMinor: debit ? 0n : amount,
    };
  });
  const lines = netLines(raw);
  if (lines.length === 0) return null; // entries that cancel out (never expected from the ledger)
  assertBalanced(lines, tx.transactionId);

  const revenue = lines
    .filter((l) => l.role === 'revenue')
    .reduce((s, l) => s + l.creditMinor - l.debitMinor, 0n);
  const thresholdRaw = tenant.usageSummary.singleEntryThresholdMinor[tx.assetCode];
  const large = thresholdRaw !== undefined && revenue >= BigInt(thresholdRaw);
  const base = {
    tenantId: event.tenantId,
    assetCode: tx.assetCode,
    assetScale: tx.assetScale,
    currencyId,
    subsidiary: tenant.subsidiary,
    department: tenant.department ?? null,
  };
  if (isUsage && !large) {
    const periodStart = periodStartOf(tx.createdAt, tenant.usageSummary.periodMinutes);
    const stamp = periodStart.toISOString().slice(0, 16).replace(/[-:T]/g, ''); // YYYYMMDDHHmm
    return {
      transactionId: tx.transactionId,
      journal: {
        ...base,
        externalId: externalId([
          'saldo',
          event.tenantId,
          'usage',
          tx.assetCode,
          productCode || 'none',
          stamp,
        ]),
        kind: 'usage_summary',
        tranDate: periodStart.toISOString().slice(0, 10),
        memo: `Saldo usage ${productCode || '(no product)'} ${tx.assetCode} ${periodStart.toISOString()} +${tenant.usageSummary.periodMinutes}min`,
        productCode: productCode || null,
        periodStart: periodStart.toISOString(),
      },
      lines,
    };
  }
  const what =
    tx.kind === 'TRANSACTION_KIND_REVERSAL'
      ? `reversal of ${tx.reversesTransactionId} (${action || 'no action'})`
      : action || tx.kind;
  const reference = event.businessAction?.reference ? ` ref ${event.businessAction.reference}` : '';
  return {
    transactionId: tx.transactionId,
    journal: {
      ...base,
      externalId: externalId(['saldo', event.tenantId, 'tx', tx.transactionId]),
      kind: 'single',
      tranDate: isoDay(tx.createdAt),
      memo: `Saldo ${what} ${tx.transactionId}${reference}`.slice(0, 999),
      productCode: productCode || null,
      periodStart: null,
    },
    lines,
  };
}

function itemOf(tenant: TenantAccounting, productCode: string, required: boolean): string | null {
  const item = tenant.products[productCode]?.item ?? tenant.defaultItem;
  if (!item && required)
    throw new MappingError(
      `product "${productCode}" has no item in the tenant's configuration (and no defaultItem)`,
    );
  return item ?? null;
}

function accountFor(tenant: TenantAccounting, role: AccountRole, productCode: string): string {
  const product = tenant.products[productCode];
  const accounts = tenant.accounts;
  const account = {
    cash_clearing: accounts.cashClearing,
    customer_prepayment: accounts.customerPrepayment,
    revenue: product?.revenueAccount ?? accounts.revenue,
    cost_of_revenue: product?.costOfRevenueAccount ?? accounts.costOfRevenue,
    payables: accounts.payables,
    promotions: accounts.promotions,
    opening_balances: accounts.openingBalances,
    // Expired prepaid credit is income; without an account of its own it is booked as revenue.
    breakage: accounts.breakage ?? accounts.revenue,
  }[role];
  if (!account) throw new MappingError(`the tenant's configuration has no ERP account for ${role}`);
  return account;
}

function customerOf(wallet: WalletStateBody | undefined, walletId: string): string {
  return wallet?.ownerId || walletId || 'unknown';
}

/** Nets lines per (role, account, customer, item); drops groups that net to zero. */
export function netLines(lines: readonly AccountingLine[]): AccountingLine[] {
  const groups = new Map<string, AccountingLine & { net: bigint }>();
  for (const line of lines) {
    const key = JSON.stringify([line.role, line.account, line.customer, line.item]);
    const group = groups.get(key) ?? { ...line, net: 0n };
    group.net += line.debitMinor - line.creditMinor;
    groups.set(key, group);
  }
  return [...groups.values()]
    .filter((g) => g.net !== 0n)
    .map(({ net, ...line }) => ({
      ...line,
      debitMinor: net > 0n ? net : 0n,
      creditMinor: net < 0n ? -net : 0n,
    }));
}

export function assertBalanced(lines: readonly AccountingLine[], what: string): void {
  const debits = lines.reduce((s, l) => s + l.debitMinor, 0n);
  const credits = lines.reduce((s, l) => s + l.creditMinor, 0n);
  if (debits !== credits)
    throw new Error(`journal lines of ${what} do not balance: debits ${debits}, credits ${credits}`);
}

function balanceOf(event: LedgerEventBody): BalanceSnapshot | null {
  const wallet = event.wallet;
  if (!wallet || !BALANCE_EVENTS.has(event.type)) return null;
  const action = event.businessAction?.action || event.transaction?.action || '';
  const isUsage = USAGE_ACTIONS.has(action) && event.type !== 'LEDGER_EVENT_TYPE_TRANSACTION_REVERSED';
  return {
    tenantId: event.tenantId,
    walletId: wallet.walletId,
    ownerId: wallet.ownerId || wallet.walletId,
    ownerType: wallet.ownerType,
    currency: wallet.currency,
    assetScale: wallet.assetScale,
    postedBalanceMinor: wallet.postedBalance,
    availableBalanceMinor: wallet.availableBalance,
    version: wallet.version,
    usageAt: isUsage ? (event.transaction?.createdAt ?? event.occurredAt) : null,
    occurredAt: event.occurredAt,
  };
}

export function periodStartOf(iso: string, periodMinutes: number): Date {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) throw new MappingError(`"${iso}" is not a timestamp`);
  const periodMs = periodMinutes * 60_000;
  return new Date(Math.floor(at / periodMs) * periodMs);
}

function isoDay(iso: string): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) throw new MappingError(`"${iso}" is not a timestamp`);
  return new Date(at).toISOString().slice(0, 10);
}

/**
 * NetSuite external ids allow letters, digits, `_` and `-`. Parts that already fit are kept as they
 * are (readable); anything else is replaced and suffixed with a hash of the original, so two
 * different inputs never collide.
 */
export function externalId(parts: readonly string[]): string {
  const joined = parts.join('-');
  if (/^[A-Za-z0-9_-]+$/.test(joined) && joined.length <= 200) return joined;
  const clean = joined.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 180);
  return `${clean}-${createHash('sha256').update(joined).digest('hex').slice(0, 12)}`;
}
