import { CURRENCY_SCALES } from '@saldo/ledger-domain';
import type { LegacyChange, LegacyModel } from '../source/legacy-source';
import type { MigrationPosting } from '../ledger/ledger-gateway';
import { toMinor } from '../source/mapping';
import { classifyPage } from './classify';
import { keys, MigrationRefused, type MigrationContext } from './context';
import type { MappedRow, MigrationRow } from './migration-store';
import { Throttle } from './throttle';

export interface CatchUpReport {
  migrationId: string;
  appliedCursor: string;
  sourceCursor: string;
  lagChanges: number;
  lagSeconds: number;
  applied: number;
  skipped: number;
  opened: number;
}

interface PageResult {
  applied: number;
  skipped: number;
  opened: number;
  empty: boolean;
  /** The applied cursor after the page. */
  cursor: bigint;
}

/**
 * Replays the legacy changes after the migration's applied cursor, in order, each as one posting
 * (key `mig:<migration>:chg:<change id>`): the wallet's delta against opening_balances. Changes of
 * one wallet go one after another; different wallets in parallel. The cursor moves after a page is
 * fully posted, so a crash repeats at most a page, which the ledger replays. A change that opens a
 * wallet after the import cursor opens it first. With `follow`, keeps going until aborted.
 */
export async function catchUp(
  ctx: MigrationContext,
  migrationId: string,
  options: { follow?: boolean; signal?: AbortSignal; idleMs?: number } = {},
): Promise<CatchUpReport> {
  const totals = { applied: 0, skipped: 0, opened: 0 };
  const throttle = new Throttle(ctx.options.ratePerSecond);
  // Without follow: up to the source's cursor as it is now (a busy source never runs dry).
  const target = options.follow ? undefined : await ctx.source.currentCursor();
  for (;;) {
    if (options.signal?.aborted) break;
    const page = await ctx.store.exclusively(migrationId, () => catchUpPage(ctx, migrationId, throttle));
    totals.applied += page.applied;
    totals.skipped += page.skipped;
    totals.opened += page.opened;
    if (target !== undefined && (page.empty || page.cursor >= target)) break;
    if (page.empty) await sleep(options.idleMs ?? 500, options.signal);
  }
  return report(ctx, migrationId, totals);
}

/**
 * The same, for a caller that already holds the migration's lock (verify, cutover): up to the
 * source's cursor as it is when called (all of it once the source is frozen).
 */
export async function catchUpLocked(ctx: MigrationContext, migrationId: string): Promise<void> {
  const throttle = new Throttle(0);
  const target = await ctx.source.currentCursor();
  for (;;) {
    const page = await catchUpPage(ctx, migrationId, throttle);
    if (page.empty || page.cursor >= target) return;
  }
}

async function catchUpPage(
  ctx: MigrationContext,
  migrationId: string,
  throttle: Throttle,
): Promise<PageResult> {
  const row = (await ctx.store.find({ id: migrationId })) as MigrationRow;
  if (!row) throw new MigrationRefused(`no migration ${migrationId}`);
  if (row.state === 'cut_over' || row.state === 'rolled_back')
    throw new MigrationRefused(`migration ${migrationId} is ${row.state}: nothing to catch up`);
  if (row.import_phase !== 'done') throw new MigrationRefused(`migration ${migrationId} is still importing`);
  const sourceCursor = await ctx.source.currentCursor();
  const changes = await ctx.source.readChanges(BigInt(row.applied_cursor), ctx.options.pageSize);
  if (!changes.length) {
    await ctx.store.noteSourceCursor(migrationId, sourceCursor);
    ctx.metrics?.caughtUp(migrationId, row.tenant_id, BigInt(row.applied_cursor), sourceCursor, 0);
    return { applied: 0, skipped: 0, opened: 0, empty: true, cursor: BigInt(row.applied_cursor) };
  }
  await throttle.take(changes.length);
  const tenant = row.tenant_id;
  const walletIds = [...new Set(changes.map((c) => c.walletId))];
  let mapped = await ctx.store.mapped(migrationId, walletIds);
  const unmapped = await ctx.store.unmappedIds(
    migrationId,
    walletIds.filter((id) => !mapped.has(id)),
  );
  const opened = await openLateWallets(ctx, migrationId, tenant, changes, mapped, unmapped);
  if (opened) {
    mapped = await ctx.store.mapped(migrationId, walletIds);
    for (const id of await ctx.store.unmappedIds(migrationId, walletIds)) unmapped.add(id);
  }

  const postings: MigrationPosting[] = [];
  let skipped = 0;
  for (const change of changes) {
    const wallet = mapped.get(change.walletId);
    if (!wallet) {
      if (unmapped.has(change.walletId)) {
        skipped++;
        continue;
      }
      throw new Error(
        `legacy change ${change.id} is for wallet ${change.walletId}, which the import never saw`,
      );
    }
    const delta = toMinor(change.amount, ctx.mapping.amountScale, scaleOf(wallet.currency));
    if (typeof delta === 'string') throw new Error(`legacy change ${change.id}: ${delta}`);
    if (delta === 0n || wallet.account_id === null) {
      // A member has no account: its organisation's change carries the money. Zero moves nothing.
      if (delta !== 0n)
        throw new Error(`legacy change ${change.id} moves money of member wallet ${change.walletId}`);
      skipped++;
      continue;
    }
    postings.push({
      tenant,
      idempotencyKey: keys.change(migrationId, change.id),
      currency: wallet.currency,
      accountId: wallet.account_id,
      deltaMinor: delta,
      action: 'MIGRATION_CATCH_UP',
      references: {
        wallet_id: wallet.wallet_id,
        funding_wallet_id: wallet.wallet_id,
        wallet_account_id: wallet.account_id,
        migration_id: migrationId,
        legacy_wallet_id: change.walletId,
        legacy_change_id: change.id.toString(),
        legacy_kind: change.kind.slice(0, 32),
        legacy_at: change.at.toISOString(),
        ...(change.counterpartyId ? { legacy_counterparty_id: change.counterpartyId } : {}),
      },
    });
  }
  // In legacy order, through the ledger's batch path: postings of one wallet apply in that order.
  await ctx.ledger.postMany(postings);
  const last = changes[changes.length - 1] as LegacyChange;
  const applied = changes.length - skipped;
  await ctx.store.advanceCatchUp(
    migrationId,
    last.id,
    applied,
    skipped,
    sourceCursor > last.id ? sourceCursor : last.id,
  );
  const lagSeconds = sourceCursor > last.id ? Math.max(0, (Date.now() - last.at.getTime()) / 1000) : 0;
  ctx.metrics?.caughtUp(migrationId, tenant, last.id, sourceCursor, lagSeconds, applied, skipped);
  return { applied, skipped, opened, empty: false, cursor: last.id };
}

/** Wallets opened in the legacy system after the import cursor, opened in Saldo before their first change. */
async function openLateWallets(
  ctx: MigrationContext,
  migrationId: string,
  tenant: string,
  changes: readonly LegacyChange[],
  mapped: ReadonlyMap<string, MappedRow>,
  unmapped: ReadonlySet<string>,
): Promise<number> {
  const openKind = ctx.mapping.changes?.openKind ?? 'OPEN';
  const late = [
    ...new Set(
      changes
        .filter((c) => c.kind === openKind && !mapped.has(c.walletId) && !unmapped.has(c.walletId))
        .map((c) => c.walletId),
    ),
  ];
  if (!late.length) return 0;
  const records = await ctx.source.readWallets(late);
  const parents = await ctx.store.mapped(
    migrationId,
    records.flatMap((r) => (r.parentId ? [r.parentId] : [])),
  );
  const parentModel = (id: string) => parents.get(id)?.model as LegacyModel | undefined;
  // Opened with a zero opening: the OPEN change itself then posts the first balance.
  const zero = new Map(records.map((r) => [r.id, { exists: true, balance: '0' }]));
  const standalone = classifyPage(tenant, ctx.mapping, 'standalone', records, zero, parentModel);
  const children = classifyPage(tenant, ctx.mapping, 'children', records, zero, parentModel);
  const all = [...standalone.mapped, ...children.mapped];
  for (const currency of new Set(all.map((w) => w.currency))) {
    const scale = all.find((w) => w.currency === currency)?.scale as number;
    await ctx.ledger.defineAsset(tenant, currency, scale);
  }
  await ctx.store.openPage(migrationId, tenant, all, [...standalone.unmapped, ...children.unmapped]);
  return all.length;
}

export async function report(
  ctx: MigrationContext,
  migrationId: string,
  totals: { applied: number; skipped: number; opened: number },
): Promise<CatchUpReport> {
  const row = (await ctx.store.find({ id: migrationId })) as MigrationRow;
  const applied = BigInt(row.applied_cursor);
  const sourceCursor = BigInt(row.source_cursor) > applied ? BigInt(row.source_cursor) : applied;
  const next = sourceCursor > applied ? (await ctx.source.readChanges(applied, 1))[0] : undefined;
  return {
    migrationId,
    appliedCursor: applied.toString(),
    sourceCursor: sourceCursor.toString(),
    lagChanges: Number(sourceCursor - applied),
    lagSeconds: next ? Math.max(0, Math.round((Date.now() - next.at.getTime()) / 1000)) : 0,
    ...totals,
  };
}

/** The wallet_map only holds currencies the mapping accepted, so the scale is always there. */
const scaleOf = (currency: string): number => CURRENCY_SCALES[currency] as number;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
