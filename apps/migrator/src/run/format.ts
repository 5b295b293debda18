import { CURRENCY_SCALES, formatMinor } from '@saldo/ledger-domain';

/** The human-readable form of each command's report (`--json` prints the report itself). */
export function formatReport(kind: string, value: unknown): string {
  const r = value as Record<string, unknown>;
  const money = (minor: unknown, currency: string) => {
    const scale = CURRENCY_SCALES[currency];
    return scale === undefined
      ? `${String(minor)} (minor units)`
      : `${formatMinor(BigInt(String(minor)), scale)} ${currency}`;
  };
  const lines: string[] = [];
  switch (kind) {
    case 'plan': {
      const p = value as import('./plan').PlanReport;
      lines.push(`plan for tenant ${p.tenant} from ${p.source} at legacy cursor ${p.cursor}`);
      lines.push(
        `wallets: ${p.wallets.total} (${p.wallets.mapped} to import, ${p.wallets.unmappable} unmappable, ${p.wallets.openedAfterCursor} opened after the cursor)`,
      );
      lines.push('', 'model               currency   wallets   balance');
      for (const g of p.byModelAndCurrency)
        lines.push(
          `${g.model.padEnd(20)}${g.currency.padEnd(11)}${String(g.wallets).padStart(7)}   ${money(g.balanceMinor, g.currency)}`,
        );
      lines.push('', 'totals per currency:');
      for (const t of p.totals)
        lines.push(
          `  ${t.currency.padEnd(8)}${String(t.wallets).padStart(8)} wallets  ${money(t.balanceMinor, t.currency)}  (${t.postings} opening postings)`,
        );
      if (p.wallets.unmappable) {
        lines.push('', 'unmappable records by reason:');
        for (const [reason, n] of Object.entries(p.unmappable.byReason))
          lines.push(`  ${String(n).padStart(6)}  ${reason}`);
        for (const u of p.unmappable.records.slice(0, 20)) lines.push(`  legacy ${u.legacyId}: ${u.reason}`);
      }
      lines.push(
        '',
        `estimate: about ${p.estimate.importSeconds} s to import (${p.estimate.walletsPerSecond} wallets/s, ${p.estimate.basis})`,
      );
      break;
    }
    case 'verify': {
      const v = value as import('./verify').VerifyReport;
      lines.push(
        `verify ${v.migrationId} (tenant ${v.tenant}) at legacy cursor ${v.cursor}: ${v.walletsCompared} wallets compared, ${v.unmappable} unmappable`,
      );
      for (const t of v.totals)
        lines.push(
          `  ${t.currency.padEnd(8)} legacy ${money(t.legacyMinor, t.currency)}  saldo ${money(t.saldoMinor, t.currency)}  difference ${t.differenceMinor}`,
        );
      for (const d of v.listed)
        lines.push(
          `  legacy ${d.legacyId} → ${d.walletId ?? '-'}: ${d.problem} (legacy ${d.legacyMinor ?? '-'}, saldo ${d.saldoMinor ?? '-'})`,
        );
      lines.push(v.ok ? 'no differences' : `${v.differences} difference(s)`);
      break;
    }
    default:
      for (const [key, v] of Object.entries(r))
        lines.push(
          `${key}: ${typeof v === 'object' && v !== null ? JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) : String(v)}`,
        );
  }
  return `${lines.join('\n')}\n`;
}
