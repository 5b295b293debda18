import { CURRENCY_SCALES } from '@saldo/ledger-domain';
import { toMinor } from '../source/mapping';
import { catchUpLocked } from './catch-up';
import { MigrationRefused, type MigrationContext } from './context';
import type { MigrationRow } from './migration-store';
import { Progress } from './progress';

/** Differences listed in full up to this many (the count is always exact). */
const MAX_LISTED_DIFFERENCES = 1_000;

export interface WalletDifference {
  legacyId: string;
  walletId: string | null;
  currency: string | null;
  legacyMinor: string | null;
  saldoMinor: string | null;
  problem: string;
}

export interface VerifyReport {
  migrationId: string;
  tenant: string;
  cursor: string;
  walletsCompared: number;
  unmappable: number;
  differences: number;
  listed: WalletDifference[];
  totals: Array<{ currency: string; legacyMinor: string; saldoMinor: string; differenceMinor: string }>;
  ok: boolean;
  at: string;
}

/**
 * Catches up to the source's end, then compares every legacy wallet's balance at the applied cursor
 * with Saldo's posted balance of its wallet, and the totals per currency. Holds the migration's
 * lock throughout, so no catch-up moves the ledger while it reads; the aggregator refuses the
 * tenant's own writes until cutover, so Saldo's balances are exactly the replayed history.
 */
export async function verify(ctx: MigrationContext, migrationId: string): Promise<VerifyReport> {
  return ctx.store.exclusively(migrationId, () => verifyLocked(ctx, migrationId));
}

export async function verifyLocked(ctx: MigrationContext, migrationId: string): Promise<VerifyReport> {
  const before = (await ctx.store.find({ id: migrationId })) as MigrationRow;
  if (!before) throw new MigrationRefused(`no migration ${migrationId}`);
  if (before.state === 'cut_over' || before.state === 'rolled_back')
    throw new MigrationRefused(
      `migration ${migrationId} is ${before.state}; its last verify is in 'status' (Saldo serves the wallets now)`,
    );
  await catchUpLocked(ctx, migrationId);
  const row = (await ctx.store.find({ id: migrationId })) as MigrationRow;
  const cursor = BigInt(row.applied_cursor);
  const progress = new Progress('verify', await ctx.source.countWallets(), ctx.options.quiet);
  const listed: WalletDifference[] = [];
  const totals = new Map<string, { legacy: bigint; saldo: bigint }>();
  let differences = 0;
  let compared = 0;
  let unmappable = 0;
  const differ = (d: WalletDifference) => {
    differences++;
    if (listed.length < MAX_LISTED_DIFFERENCES) listed.push(d);
  };
  let after: string | null = null;
  for (;;) {
    const page = await ctx.source.listWallets(after, ctx.options.pageSize);
    if (!page.length) break;
    after = (page[page.length - 1] as { id: string }).id;
    const ids = page.map((w) => w.id);
    const [balances, mapped, unmapped] = await Promise.all([
      ctx.source.balancesAt(ids, cursor),
      ctx.store.mapped(migrationId, ids),
      ctx.store.unmappedIds(migrationId, ids),
    ]);
    const saldo = await ctx.store.ledgerBalances(
      row.tenant_id,
      [...mapped.values()].flatMap((m) => (m.account_id ? [m.account_id] : [])),
    );
    for (const record of page) {
      const legacy = balances.get(record.id);
      const wallet = mapped.get(record.id);
      if (unmapped.has(record.id)) {
        unmappable++;
        continue;
      }
      if (!legacy?.exists) {
        if (wallet)
          differ({
            legacyId: record.id,
            walletId: wallet.wallet_id,
            currency: wallet.currency,
            legacyMinor: null,
            saldoMinor: null,
            problem: 'in Saldo but not in the legacy system at the cursor',
          });
        continue;
      }
      if (!wallet) {
        differ({
          legacyId: record.id,
          walletId: null,
          currency: null,
          legacyMinor: legacy.balance,
          saldoMinor: null,
          problem: 'not migrated (neither mapped nor reported unmappable)',
        });
        continue;
      }
      compared++;
      const legacyMinor = toMinor(legacy.balance, ctx.mapping.amountScale, scaleFor(wallet.currency));
      if (typeof legacyMinor === 'string') {
        differ({
          legacyId: record.id,
          walletId: wallet.wallet_id,
          currency: wallet.currency,
          legacyMinor: legacy.balance,
          saldoMinor: null,
          problem: legacyMinor,
        });
        continue;
      }
      const saldoMinor = wallet.account_id ? (saldo.get(wallet.account_id) ?? 0n) : 0n;
      const t = totals.get(wallet.currency) ?? { legacy: 0n, saldo: 0n };
      t.legacy += legacyMinor;
      t.saldo += saldoMinor;
      totals.set(wallet.currency, t);
      if (legacyMinor !== saldoMinor)
        differ({
          legacyId: record.id,
          walletId: wallet.wallet_id,
          currency: wallet.currency,
          legacyMinor: legacyMinor.toString(),
          saldoMinor: saldoMinor.toString(),
          problem: 'balances differ',
        });
    }
    progress.add(page.length);
  }
  progress.finish();
  const report: VerifyReport = {
    migrationId,
    tenant: row.tenant_id,
    cursor: cursor.toString(),
    walletsCompared: compared,
    unmappable,
    differences,
    listed,
    totals: [...totals.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([currency, t]) => ({
        currency,
        legacyMinor: t.legacy.toString(),
        saldoMinor: t.saldo.toString(),
        differenceMinor: (t.saldo - t.legacy).toString(),
      })),
    ok: differences === 0,
    at: new Date().toISOString(),
  };
  await ctx.store.saveVerify(migrationId, { ...report, listed: report.listed.slice(0, 20) });
  return report;
}

const scaleFor = (currency: string): number => CURRENCY_SCALES[currency] as number;
