import type { Pool } from 'pg';
import type { FirestoreMirror } from './firestore-mirror';
import { loadWalletSnapshots } from './wallet-snapshot';

export interface RebuildOptions {
  pool: Pool;
  mirror: FirestoreMirror;
  /** Checkpoint name: a run with the same name resumes where it stopped. */
  name: string;
  /** Start from the first wallet even if the named run stopped half way. */
  restart: boolean;
  /** Wallets per page (≤ 1,000): one snapshot read, one batch of writes, one checkpoint. */
  pageSize: number;
  /** Stop after this many pages (tests of resumption; default: all). */
  maxPages?: number;
  onPage?: (progress: RebuildProgress) => void;
}

export interface RebuildProgress {
  name: string;
  resumedAfter: string | null;
  written: number;
  skipped: number;
  finished: boolean;
}

interface Checkpoint {
  after_account: string | null;
  wallets_written: string;
  wallets_skipped: string;
  finished_at: string | null;
}

/**
 * Re-mirrors every wallet from PostgreSQL, in account id order, a page at a time, recording a
 * checkpoint after each page in ledger.mirror_rebuilds. Idempotent: each write carries the
 * ledger version and Firestore refuses anything older, so running it twice, or next to the live
 * mirror, is harmless; the same version is rewritten (a repair). Resumable: after a crash the same
 * name continues after the last checkpoint; a finished run started again begins a new pass.
 */
export async function rebuildMirror(options: RebuildOptions): Promise<RebuildProgress> {
  const { pool, mirror, name } = options;
  await pool.query(`INSERT INTO ledger.mirror_rebuilds (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [
    name,
  ]);
  const current = (
    await pool.query<Checkpoint>(`SELECT * FROM ledger.mirror_rebuilds WHERE name = $1`, [name])
  ).rows[0]!;
  if (options.restart || current.finished_at !== null) {
    await pool.query(
      `UPDATE ledger.mirror_rebuilds SET after_account = NULL, wallets_written = 0, wallets_skipped = 0,
              started_at = clock_timestamp(), updated_at = clock_timestamp(), finished_at = NULL WHERE name = $1`,
      [name],
    );
  }
  const resumed = options.restart || current.finished_at !== null ? null : current.after_account;
  const progress: RebuildProgress = {
    name,
    resumedAfter: resumed,
    written: resumed ? Number(current.wallets_written) : 0,
    skipped: resumed ? Number(current.wallets_skipped) : 0,
    finished: false,
  };
  let after = resumed;
  for (let page = 0; options.maxPages === undefined || page < options.maxPages; page += 1) {
    const ids = (
      await pool.query<{ id: string }>(
        `SELECT id FROM ledger.accounts WHERE type = 'wallet' AND ($1::uuid IS NULL OR id > $1::uuid) ORDER BY id LIMIT $2`,
        [after, options.pageSize],
      )
    ).rows.map((row) => row.id);
    if (ids.length === 0) {
      await pool.query(
        `UPDATE ledger.mirror_rebuilds SET finished_at = clock_timestamp(), updated_at = clock_timestamp() WHERE name = $1`,
        [name],
      );
      progress.finished = true;
      options.onPage?.(progress);
      return progress;
    }
    const results = await rebuildPage(pool, mirror, ids);
    const written = results.filter((r) => r === 'written').length;
    progress.written += written;
    progress.skipped += results.length - written;
    after = ids[ids.length - 1]!;
    await pool.query(
      `UPDATE ledger.mirror_rebuilds SET after_account = $2, wallets_written = wallets_written + $3,
              wallets_skipped = wallets_skipped + $4, updated_at = clock_timestamp() WHERE name = $1`,
      [name, after, written, results.length - written],
    );
    options.onPage?.(progress);
  }
  return progress;
}

/** One page: one snapshot read, one batch of writes, one statement recording what Firestore now holds. */
async function rebuildPage(
  pool: Pool,
  mirror: FirestoreMirror,
  ids: readonly string[],
): Promise<Array<'written' | 'skipped'>> {
  const snapshots = await loadWalletSnapshots(pool, ids, mirror.transactionsKept);
  const wallets = ids.filter((id) => snapshots.has(id));
  const results = await mirror.writeMany(
    wallets.map((id) => snapshots.get(id)!),
    { rewriteSameVersion: true },
  );
  const failure = results.find((r) => r.outcome === 'failed');
  if (failure?.outcome === 'failed') throw failure.error; // the checkpoint stays before this page
  const mirrored = wallets.map((id, i) => {
    const result = results[i]!;
    const snapshot = snapshots.get(id)!;
    return result.outcome === 'stale'
      ? [String(result.storedVersion), String(result.storedShadowRevision)]
      : [snapshot.version.toString(), snapshot.shadowRevision.toString()];
  });
  await pool.query(
    `UPDATE ledger.mirror_state m SET mirrored_version = greatest(m.mirrored_version, d.version),
            mirrored_shadow_revision = greatest(m.mirrored_shadow_revision, d.revision)
       FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS d(account_id, version, revision)
      WHERE m.account_id = d.account_id`,
    [wallets, mirrored.map((m) => m[0]), mirrored.map((m) => m[1])],
  );
  const written = new Set(wallets.filter((_, i) => results[i]!.outcome === 'written'));
  return ids.map((id) => (written.has(id) ? 'written' : 'skipped'));
}
