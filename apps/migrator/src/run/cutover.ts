import { catchUpLocked } from './catch-up';
import { keys, MigrationRefused, type MigrationContext } from './context';
import type { MigrationRow } from './migration-store';
import { verifyLocked, type VerifyReport } from './verify';

export interface CutoverReport {
  migrationId: string;
  tenant: string;
  state: 'cut_over';
  cursor: string;
  verify: VerifyReport;
}

/**
 * Cuts a tenant over: the legacy write freeze (the simulator's flag through the mapping; a source
 * without one needs `sourceFrozen` — the operator froze it by its own means), the final catch-up,
 * the final verify, and only with zero differences Saldo opens the tenant's wallets for writes
 * (aggregator.tenant_migrations → cut_over). With differences it stops and stays frozen: fix and run
 * it again, or roll back (which lifts the freeze). After cutover there is no way back by this tool.
 */
export async function cutover(
  ctx: MigrationContext,
  migrationId: string,
  options: { sourceFrozen?: boolean } = {},
): Promise<CutoverReport> {
  return ctx.store.exclusively(migrationId, async () => {
    const row = await requireOpen(ctx, migrationId);
    if (row.import_phase !== 'done')
      throw new MigrationRefused(`migration ${migrationId} is still importing`);
    if (!options.sourceFrozen) {
      if (!ctx.source.freeze)
        throw new MigrationRefused(
          'this source has no write-freeze flag: freeze the legacy system by its own means, then run cutover with --source-frozen',
        );
      await ctx.source.freeze(true);
    }
    await ctx.store.setState(migrationId, 'frozen');
    await catchUpLocked(ctx, migrationId);
    const report = await verifyLocked(ctx, migrationId);
    if (!report.ok)
      throw new MigrationRefused(
        `cutover stopped: ${report.differences} difference(s) at cursor ${report.cursor}; the legacy system stays frozen (fix and run cutover again, or roll back)`,
        report,
      );
    await ctx.store.setState(migrationId, 'cut_over', { verify: { ...report, listed: [] } });
    return { migrationId, tenant: row.tenant_id, state: 'cut_over', cursor: report.cursor, verify: report };
  });
}

export interface RollbackReport {
  migrationId: string;
  tenant: string;
  state: 'rolled_back';
  reversed: number;
  legacyUnfrozen: boolean;
}

/**
 * Rolls a migration back before cutover, as one operation: every posting it made (openings and
 * replayed changes) is reversed by the ledger, newest first per wallet, under the key
 * `mig:<migration>:rollback:<transaction>` — nothing is deleted, the history shows both. Then the
 * tenant's wallets are open for writes again (they hold nothing from the legacy system) and the
 * legacy write freeze, if this tool set one, is lifted. Resumable: a rerun reverses what is left.
 */
export async function rollback(ctx: MigrationContext, migrationId: string): Promise<RollbackReport> {
  return ctx.store.exclusively(migrationId, async () => {
    const row = await requireOpen(ctx, migrationId);
    const posted = await ctx.store.postedByMigration(row.tenant_id, migrationId);
    // Newest first, in one ordered stream through the batch path: each wallet steps back through its history.
    await ctx.ledger.reverseMany(
      posted.map((tx) => ({
        tenant: row.tenant_id,
        transactionId: tx.id,
        idempotencyKey: keys.rollback(migrationId, tx.id),
        reason: `rollback of migration ${migrationId}`,
      })),
    );
    await ctx.store.setState(migrationId, 'rolled_back');
    let legacyUnfrozen = false;
    if (row.state === 'frozen' && ctx.source.freeze) {
      await ctx.source.freeze(false);
      legacyUnfrozen = true;
    }
    return {
      migrationId,
      tenant: row.tenant_id,
      state: 'rolled_back',
      reversed: posted.length,
      legacyUnfrozen,
    };
  });
}

async function requireOpen(ctx: MigrationContext, migrationId: string): Promise<MigrationRow> {
  const row = await ctx.store.find({ id: migrationId });
  if (!row) throw new MigrationRefused(`no migration ${migrationId}`);
  if (row.state === 'cut_over')
    throw new MigrationRefused(
      `migration ${migrationId} is cut over: Saldo serves the tenant; there is no way back by this tool`,
    );
  if (row.state === 'rolled_back')
    throw new MigrationRefused(`migration ${migrationId} is already rolled back`);
  return row;
}
