import type { DataSource } from 'typeorm';
import type { NetSuiteConnector } from '../connectors/netsuite/netsuite-connector';
import type { AccountRole } from '../mapping/accounting';
import type { TenantAccounting } from '../mapping/tenant-config';

/**
 * Per tenant and UTC day: the ledger's movements per account role (posted entries of transactions
 * created that day), what erp-sync recorded for the ERP (journal lines dated that day), and what
 * NetSuite holds (SuiteQL over the tenant's journal entries dated that day). Every role and asset
 * where the ERP differs from the ledger is a difference; `recorded` tells whether erp-sync has it
 * (not yet synced) or the ERP changed (edited or deleted there).
 */
export interface ReconciliationRow {
  assetCode: string;
  role: AccountRole;
  /** Net movement on the role's natural side, minor units. */
  ledgerMinor: bigint;
  recordedMinor: bigint;
  erpMinor: bigint;
}

export interface ReconciliationReport {
  tenantId: string;
  day: string;
  rows: ReconciliationRow[];
  differences: ReconciliationRow[];
  /** ERP lines on accounts the tenant's mapping does not know. */
  unmappedErpAccounts: string[];
}

const CREDIT_NORMAL = new Set<AccountRole>(['customer_prepayment', 'revenue', 'payables', 'breakage']);
const LEDGER_ROLE: Record<string, AccountRole> = {
  wallet: 'customer_prepayment',
  cash_clearing: 'cash_clearing',
  revenue: 'revenue',
  cost_of_revenue: 'cost_of_revenue',
  payables: 'payables',
  promotions: 'promotions',
  opening_balances: 'opening_balances',
  breakage: 'breakage',
};

export async function reconcile(
  db: DataSource,
  netsuite: NetSuiteConnector,
  tenantId: string,
  tenant: TenantAccounting,
  day: string,
): Promise<ReconciliationReport> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`)))
    throw new Error(`--day must be YYYY-MM-DD, got "${day}"`);
  const rows = new Map<string, ReconciliationRow>();
  const row = (assetCode: string, role: AccountRole) => {
    const key = `${assetCode}/${role}`;
    let found = rows.get(key);
    if (!found)
      rows.set(key, (found = { assetCode, role, ledgerMinor: 0n, recordedMinor: 0n, erpMinor: 0n }));
    return found;
  };
  const natural = (role: AccountRole, debit: bigint, credit: bigint) =>
    CREDIT_NORMAL.has(role) ? credit - debit : debit - credit;

  const ledger: Array<{ asset_code: string; type: string; debits: string; credits: string }> = await db.query(
    `SELECT a.asset_code, a.type,
            COALESCE(sum(e.amount) FILTER (WHERE e.side = 'debit'), 0)::text  AS debits,
            COALESCE(sum(e.amount) FILTER (WHERE e.side = 'credit'), 0)::text AS credits
       FROM ledger.entries e
       JOIN ledger.transactions t ON t.tenant_id = e.tenant_id AND t.id = e.transaction_id
       JOIN ledger.accounts a ON a.tenant_id = e.tenant_id AND a.id = e.account_id
      WHERE e.tenant_id = $1 AND e.phase = 'posted'
        AND t.created_at >= ($2::date)::timestamp AT TIME ZONE 'UTC'
        AND t.created_at <  ($2::date + 1)::timestamp AT TIME ZONE 'UTC'
      GROUP BY a.asset_code, a.type`,
    [tenantId, day],
  );
  for (const r of ledger) {
    const role = LEDGER_ROLE[r.type];
    if (role) row(r.asset_code, role).ledgerMinor += natural(role, BigInt(r.debits), BigInt(r.credits));
  }

  const recorded: Array<{ asset_code: string; role: AccountRole; debits: string; credits: string }> =
    await db.query(
      `SELECT j.asset_code, l.role, sum(l.debit_minor)::text AS debits, sum(l.credit_minor)::text AS credits
       FROM erp_sync.journal_lines l JOIN erp_sync.journals j ON j.external_id = l.external_id
      WHERE j.tenant_id = $1 AND j.tran_date = $2::date
      GROUP BY j.asset_code, l.role`,
      [tenantId, day],
    );
  for (const r of recorded)
    row(r.asset_code, r.role).recordedMinor += natural(r.role, BigInt(r.debits), BigInt(r.credits));

  const roleOfAccount = accountRoles(tenant);
  const assetOfCurrency = new Map(Object.entries(tenant.currencies).map(([asset, id]) => [id, asset]));
  const scaleOf = await assetScales(db, tenantId);
  const erp = await netsuite.suiteql(
    `SELECT t.currency AS currency, tl.account AS account, SUM(tl.debitforeignamount) AS debit, SUM(tl.creditforeignamount) AS credit ` +
      `FROM transaction t INNER JOIN transactionline tl ON tl.transaction = t.id ` +
      `WHERE t.type = 'Journal' AND t.custbody_saldo_tenant = '${tenantId.replace(/'/g, "''")}' ` +
      `AND t.trandate = TO_DATE('${day}', 'YYYY-MM-DD') GROUP BY t.currency, tl.account`,
  );
  const unmapped: string[] = [];
  for (const r of erp) {
    const role = roleOfAccount.get(r['account'] ?? '');
    const asset = assetOfCurrency.get(r['currency'] ?? '');
    if (!role || !asset) {
      unmapped.push(`account ${r['account']} currency ${r['currency']}`);
      continue;
    }
    const scale = scaleOf.get(asset) ?? 0;
    row(asset, role).erpMinor += natural(role, toMinor(r['debit'], scale), toMinor(r['credit'], scale));
  }
  const all = [...rows.values()].sort(
    (a, b) => a.assetCode.localeCompare(b.assetCode) || a.role.localeCompare(b.role),
  );
  return {
    tenantId,
    day,
    rows: all,
    differences: all.filter((r) => r.erpMinor !== r.ledgerMinor),
    unmappedErpAccounts: unmapped,
  };
}

function accountRoles(tenant: TenantAccounting): Map<string, AccountRole> {
  const roles = new Map<string, AccountRole>();
  const a = tenant.accounts;
  const pairs: Array<[string | undefined, AccountRole]> = [
    [a.cashClearing, 'cash_clearing'],
    [a.customerPrepayment, 'customer_prepayment'],
    [a.revenue, 'revenue'],
    [a.costOfRevenue, 'cost_of_revenue'],
    [a.payables, 'payables'],
    [a.promotions, 'promotions'],
    [a.openingBalances, 'opening_balances'],
    [a.breakage, 'breakage'],
    ...Object.values(tenant.products).flatMap((p): Array<[string | undefined, AccountRole]> => [
      [p.revenueAccount, 'revenue'],
      [p.costOfRevenueAccount, 'cost_of_revenue'],
    ]),
  ];
  for (const [id, role] of pairs) if (id) roles.set(id, role);
  return roles;
}

async function assetScales(db: DataSource, tenantId: string): Promise<Map<string, number>> {
  const rows: Array<{ code: string; scale: number }> = await db.query(
    `SELECT code, scale FROM ledger.assets WHERE tenant_id = $1`,
    [tenantId],
  );
  return new Map(rows.map((r) => [r.code, Number(r.scale)]));
}

/** An exact decimal string from NetSuite ("1500", "15.5", "-3.25") to minor units; never a float. */
export function toMinor(value: string | null | undefined, scale: number): bigint {
  if (value === null || value === undefined || value === '') return 0n;
  const match = /^(-)?(\d*)(?:\.(\d+))?$/.exec(value.trim());
  if (!match || (match[2] === '' && !match[3])) throw new Error(`"${value}" is not a decimal amount`);
  const fraction = (match[3] ?? '').replace(/0+$/, '');
  if (fraction.length > scale) throw new Error(`"${value}" has more than ${scale} decimal places`);
  const minor = BigInt(`${match[2] || '0'}${fraction.padEnd(scale, '0')}`);
  return match[1] ? -minor : minor;
}

export function formatReport(report: ReconciliationReport): string {
  const lines = [
    `reconciliation ${report.tenantId} ${report.day}`,
    'asset  role                 ledger        recorded      erp           difference',
  ];
  for (const r of report.rows) {
    const diff = r.erpMinor - r.ledgerMinor;
    lines.push(
      `${r.assetCode.padEnd(6)} ${r.role.padEnd(20)} ${r.ledgerMinor.toString().padStart(13)} ${r.recordedMinor.toString().padStart(13)} ${r.erpMinor
        .toString()
        .padStart(
          13,
        )} ${diff === 0n ? 'ok' : `DIFF ${diff > 0n ? '+' : ''}${diff}${r.recordedMinor === r.ledgerMinor ? ' (ERP differs from what erp-sync recorded: unsynced or edited there)' : ' (erp-sync has not recorded all of it)'}`}`,
    );
  }
  for (const u of report.unmappedErpAccounts)
    lines.push(`ERP lines on an account the mapping does not know: ${u}`);
  lines.push(
    report.differences.length || report.unmappedErpAccounts.length
      ? `${report.differences.length} difference(s)`
      : 'no differences',
  );
  return `${lines.join('\n')}\n`;
}
