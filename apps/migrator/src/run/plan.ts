import type { LegacyModel, LegacySource } from '../source/legacy-source';
import type { Mapping } from '../source/mapping';
import { classifyPage, type Pass } from './classify';
import type { RunOptions } from './context';
import { Progress } from './progress';

/**
 * Wallets per second an unthrottled import reached on this machine kind (2 cores, everything local),
 * measured by `npm run bench:migrate`; a plan's estimate divides by it (or by --rate when lower).
 */
export const MEASURED_IMPORT_WALLETS_PER_S = 1_000;

export interface PlanReport {
  tenant: string;
  source: string;
  cursor: string;
  wallets: { total: number; mapped: number; unmappable: number; openedAfterCursor: number };
  byModelAndCurrency: Array<{ model: LegacyModel; currency: string; wallets: number; balanceMinor: string }>;
  totals: Array<{ currency: string; wallets: number; balanceMinor: string; postings: number }>;
  unmappable: {
    byReason: Record<string, number>;
    records: Array<{ legacyId: string; kind: string; reason: string }>;
  };
  estimate: { importSeconds: number; walletsPerSecond: number; basis: string };
}

/** Reads the whole source at its current cursor and says what an import would do. Writes nothing. */
export async function plan(
  tenant: string,
  source: LegacySource,
  mapping: Mapping,
  options: RunOptions,
  listLimit = 100,
): Promise<PlanReport> {
  const cursor = await source.currentCursor();
  const total = await source.countWallets();
  const progress = new Progress('plan', total, options.quiet);
  const parents = new Map<string, LegacyModel>();
  const groups = new Map<
    string,
    { model: LegacyModel; currency: string; wallets: number; balance: bigint; postings: number }
  >();
  const reasons: Record<string, number> = {};
  const records: Array<{ legacyId: string; kind: string; reason: string }> = [];
  let mapped = 0;
  let unmappable = 0;
  let later = 0;
  for (const pass of ['standalone', 'children'] as Pass[]) {
    let after: string | null = null;
    for (;;) {
      const page = await source.listWallets(after, options.pageSize);
      if (!page.length) break;
      after = (page[page.length - 1] as { id: string }).id;
      const balances = await source.balancesAt(
        page.map((w) => w.id),
        cursor,
      );
      const result = classifyPage(tenant, mapping, pass, page, balances, (id) => parents.get(id));
      later += result.later;
      for (const w of result.mapped) {
        mapped++;
        if (pass === 'standalone') parents.set(w.legacyId, w.model);
        const key = `${w.model}/${w.currency}`;
        const group = groups.get(key) ?? {
          model: w.model,
          currency: w.currency,
          wallets: 0,
          balance: 0n,
          postings: 0,
        };
        group.wallets++;
        group.balance += w.balanceMinor;
        if (w.balanceMinor !== 0n) group.postings++;
        groups.set(key, group);
      }
      for (const u of result.unmapped) {
        unmappable++;
        reasons[u.kind] = (reasons[u.kind] ?? 0) + 1;
        if (records.length < listLimit) records.push(u);
      }
      if (pass === 'standalone') progress.add(page.length);
    }
  }
  progress.finish();
  const totals = new Map<string, { currency: string; wallets: number; balance: bigint; postings: number }>();
  for (const g of groups.values()) {
    const t = totals.get(g.currency) ?? { currency: g.currency, wallets: 0, balance: 0n, postings: 0 };
    t.wallets += g.wallets;
    t.balance += g.balance;
    t.postings += g.postings;
    totals.set(g.currency, t);
  }
  const rate =
    options.ratePerSecond > 0
      ? Math.min(options.ratePerSecond, MEASURED_IMPORT_WALLETS_PER_S)
      : MEASURED_IMPORT_WALLETS_PER_S;
  return {
    tenant,
    source: source.description,
    cursor: cursor.toString(),
    wallets: { total: mapped + unmappable + later, mapped, unmappable, openedAfterCursor: later },
    byModelAndCurrency: [...groups.values()]
      .sort((a, b) => a.model.localeCompare(b.model) || a.currency.localeCompare(b.currency))
      .map((g) => ({
        model: g.model,
        currency: g.currency,
        wallets: g.wallets,
        balanceMinor: g.balance.toString(),
      })),
    totals: [...totals.values()]
      .sort((a, b) => a.currency.localeCompare(b.currency))
      .map((t) => ({
        currency: t.currency,
        wallets: t.wallets,
        balanceMinor: t.balance.toString(),
        postings: t.postings,
      })),
    unmappable: { byReason: reasons, records },
    estimate: {
      importSeconds: Math.ceil(mapped / rate),
      walletsPerSecond: rate,
      basis:
        options.ratePerSecond > 0 && options.ratePerSecond < MEASURED_IMPORT_WALLETS_PER_S
          ? `--rate ${options.ratePerSecond}`
          : `measured by bench:migrate on a 2-core machine (${MEASURED_IMPORT_WALLETS_PER_S}/s)`,
    },
  };
}
