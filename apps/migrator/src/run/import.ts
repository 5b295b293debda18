import { randomBytes } from 'node:crypto';
import type { LegacyModel } from '../source/legacy-source';
import type { MappedWallet } from '../source/mapping';
import { MAX_BATCH } from '../ledger/ledger-gateway';
import { classifyPage, type Pass } from './classify';
import { keys, MigrationRefused, type MigrationContext } from './context';
import type { MigrationRow } from './migration-store';
import { Progress } from './progress';
import { forEachLimited, Throttle } from './throttle';

export interface ImportReport {
  migrationId: string;
  tenant: string;
  cursor: string;
  state: string;
  resumed: boolean;
  wallets: { mapped: number; unmapped: number; withAccount: number };
  postings: { posted: number; replayed: number };
  seconds: number;
  walletsPerSecond: number;
}

/**
 * Opens the tenant's migration (or resumes its open one) and imports every legacy wallet as it
 * was at the import cursor: wallets opened in bulk, then one opening posting per wallet with a
 * balance, against the tenant's opening_balances account, under the key
 * `mig:<migration>:open:<legacy id>`. The resume point moves only after a page is fully posted; a
 * page repeated after kill -9 re-opens nothing (ids are derived) and posts nothing twice (the
 * ledger replays the keys).
 */
export async function runImport(
  ctx: MigrationContext,
  tenant: string,
  requestedId?: string,
  signal?: AbortSignal,
): Promise<ImportReport> {
  const started = Date.now();
  let migration = await ctx.store.find({ tenant });
  const resumed = migration !== undefined && !['cut_over', 'rolled_back'].includes(migration.state);
  if (resumed && migration && requestedId && requestedId !== migration.id)
    throw new MigrationRefused(
      `tenant ${tenant} already has migration ${migration.id} open (${migration.state})`,
    );
  if (resumed && migration && migration.source !== ctx.source.description)
    throw new MigrationRefused(
      `migration ${migration.id} reads ${migration.source}, not ${ctx.source.description}; finish or roll it back first`,
    );
  if (!resumed) {
    const id =
      requestedId ??
      `${tenant}-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(3).toString('hex')}`;
    const cursor = await ctx.source.currentCursor();
    migration = await ctx.store.create({
      id,
      tenant,
      source: ctx.source.description,
      cursor,
      planned: await ctx.source.countWallets(),
    });
  }
  const row = migration as MigrationRow;
  const counters = { posted: 0, replayed: 0 };
  await ctx.store.exclusively(row.id, () => importPasses(ctx, row.id, counters, signal));
  const after = (await ctx.store.find({ id: row.id })) as MigrationRow;
  const counts = await ctx.store.counts(row.id);
  const seconds = (Date.now() - started) / 1000;
  return {
    migrationId: row.id,
    tenant,
    cursor: after.import_cursor,
    state: after.state,
    resumed,
    wallets: counts,
    postings: counters,
    seconds,
    walletsPerSecond: seconds > 0 ? Math.round(counts.mapped / seconds) : 0,
  };
}

async function importPasses(
  ctx: MigrationContext,
  migrationId: string,
  counters: { posted: number; replayed: number },
  signal?: AbortSignal,
): Promise<void> {
  const row = (await ctx.store.find({ id: migrationId })) as MigrationRow;
  if (row.import_phase === 'done') return;
  const tenant = row.tenant_id;
  const cursor = BigInt(row.import_cursor);
  const throttle = new Throttle(ctx.options.ratePerSecond);
  const assets = new Set<string>();
  const progress = new Progress('import', Number(row.wallets_planned) * 2, ctx.options.quiet);
  const passes: Pass[] = row.import_phase === 'children' ? ['children'] : ['standalone', 'children'];
  let after = row.import_after;
  for (const pass of passes) {
    for (;;) {
      if (signal?.aborted) throw new MigrationRefused('import interrupted; run it again to resume');
      const page = await ctx.source.listWallets(after, ctx.options.pageSize);
      if (!page.length) break;
      const balances = await ctx.source.balancesAt(
        page.map((w) => w.id),
        cursor,
      );
      const parents =
        pass === 'children'
          ? await ctx.store.mapped(
              migrationId,
              page.flatMap((w) => (w.parentId ? [w.parentId] : [])),
            )
          : new Map();
      const classified = classifyPage(
        tenant,
        ctx.mapping,
        pass,
        page,
        balances,
        (id) => parents.get(id)?.model as LegacyModel | undefined,
      );
      await throttle.take(Math.max(1, classified.mapped.length));
      for (const w of classified.mapped) {
        if (assets.has(w.currency)) continue;
        await ctx.ledger.defineAsset(tenant, w.currency, w.scale);
        assets.add(w.currency);
      }
      await ctx.store.openPage(migrationId, tenant, classified.mapped, classified.unmapped);
      await postOpenings(ctx, migrationId, tenant, cursor, classified.mapped, counters);
      after = (page[page.length - 1] as { id: string }).id;
      await ctx.store.advanceImport(migrationId, pass, after);
      progress.add(page.length);
      ctx.metrics?.imported(migrationId, tenant, classified.mapped.length);
    }
    after = null;
    await ctx.store.advanceImport(migrationId, pass === 'standalone' ? 'children' : 'done', null);
  }
  progress.finish();
}

async function postOpenings(
  ctx: MigrationContext,
  migrationId: string,
  tenant: string,
  cursor: bigint,
  wallets: readonly MappedWallet[],
  counters: { posted: number; replayed: number },
): Promise<void> {
  const withBalance = wallets.filter((w) => w.accountId !== null && w.balanceMinor !== 0n);
  const postings = withBalance.map((w) => ({
    tenant,
    idempotencyKey: keys.opening(migrationId, w.legacyId),
    currency: w.currency,
    accountId: w.accountId as string,
    deltaMinor: w.balanceMinor,
    action: 'MIGRATION_OPENING' as const,
    references: {
      wallet_id: w.walletId,
      funding_wallet_id: w.walletId,
      wallet_account_id: w.accountId as string,
      migration_id: migrationId,
      legacy_wallet_id: w.legacyId,
      legacy_cursor: cursor.toString(),
    },
  }));
  // One wallet per posting: chunks are independent and may go in parallel.
  const chunks: (typeof postings)[] = [];
  for (let i = 0; i < postings.length; i += MAX_BATCH) chunks.push(postings.slice(i, i + MAX_BATCH));
  await forEachLimited(chunks, Math.max(1, Math.ceil(ctx.options.concurrency / 8)), async (chunk) => {
    for (const result of await ctx.ledger.postMany(chunk)) {
      if (result.replayed) counters.replayed++;
      else counters.posted++;
    }
  });
}
