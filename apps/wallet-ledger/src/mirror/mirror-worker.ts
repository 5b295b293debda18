import type { Logger } from '@saldo/logging';
import { backoffMs, type BackoffPolicy } from '@saldo/resilience';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { FirestoreMirror } from './firestore-mirror';
import type { MirrorMetrics } from './mirror-metrics';
import { loadWalletSnapshots, SNAPSHOT_BATCH_MAX } from './wallet-snapshot';

export interface MirrorWorkerOptions {
  pool: Pool;
  mirror: FirestoreMirror;
  logger: Logger;
  metrics: MirrorMetrics;
  /** Wallets claimed, read and written per round (one snapshot read, one batch of writes). */
  batchSize: number;
  /** Least time between two writes of one wallet document: a hot wallet is coalesced to its newest version. */
  minIntervalMs: number;
  pollIntervalMs: number;
  /** A claim expires after this long (a worker that died mid-write is taken over). */
  leaseMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  backlogSampleMs: number;
  /** How often the run loop checks Firestore's marker document (a fresh Firestore is rebuilt); default 10 s. */
  markerCheckMs?: number;
}

export type MirrorState = 'stopped' | 'running' | 'retrying';

export interface MirrorStatus {
  state: MirrorState;
  consecutiveFailures: number;
  lastError: string | undefined;
  backlogWallets: number;
  oldestAgeSeconds: number;
  /** Re-mirroring every wallet into a fresh or emptied Firestore: wallets still to write, else undefined. */
  catchingUp: { since: Date; walletsLeft: number } | undefined;
}

/**
 * A wallet Firestore has not caught up with: a newer version, or a shadow confirmation (which
 * moves no money, so no version). The same condition as the mirror_state_due index (migration 0003).
 */
const BEHIND = 'pending_version > mirrored_version OR pending_shadow_revision > mirrored_shadow_revision';

interface Claimed {
  account_id: string;
  pending_since: string | null;
  attempts: number;
}

/**
 * Keeps Firestore's wallets/{id} up to date from ledger.mirror_state. Any number of instances may
 * run: each claims due wallets with FOR UPDATE SKIP LOCKED and a lease (so one wallet is written by
 * one worker at a time, and a dead worker's claim expires), writes the wallet's newest state (not
 * each change: hundreds of changes a second become one write per `minIntervalMs`), then records
 * the version written. The Firestore write itself refuses to replace a newer version.
 */
export class MirrorWorker {
  private readonly owner = `mirror-${randomUUID()}`;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private readonly status: MirrorStatus = {
    state: 'stopped',
    consecutiveFailures: 0,
    lastError: undefined,
    backlogWallets: 0,
    oldestAgeSeconds: 0,
    catchingUp: undefined,
  };
  private lastMarkerCheckAt = 0;

  constructor(private readonly options: MirrorWorkerOptions) {
    if (options.batchSize < 1 || options.batchSize > SNAPSHOT_BATCH_MAX)
      throw new Error(`batchSize must be 1..${SNAPSHOT_BATCH_MAX}`);
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.status.state = 'running';
    this.loop = this.run();
    this.sampler = setInterval(() => void this.sampleBacklog(), this.options.backlogSampleMs);
    this.sampler.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.sampler) clearInterval(this.sampler);
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    this.status.state = 'stopped';
  }

  getStatus(): Readonly<MirrorStatus> {
    return { ...this.status };
  }

  /**
   * One round: claims due wallets, reads them all in one snapshot, writes them in one batch and
   * records the outcomes in two statements; returns how many were claimed. A wallet that fails is
   * released with a backoff of its own; the others are not held back.
   */
  async runOnce(): Promise<number> {
    const claimed = await this.claim();
    if (claimed.length === 0) return 0;
    const { options } = this;
    const readStarted = Date.now();
    const snapshots = await loadWalletSnapshots(
      options.pool,
      claimed.map((c) => c.account_id),
      options.mirror.transactionsKept,
    );
    const writable = claimed.filter((c) => snapshots.has(c.account_id));
    const writeStarted = Date.now();
    const results = await options.mirror.writeMany(writable.map((c) => snapshots.get(c.account_id)!));
    const done: Array<{ wallet: Claimed; version: string; revision: string; readAt: string }> = [];
    const failed: Array<{ wallet: Claimed; error: string }> = claimed
      .filter((c) => !snapshots.has(c.account_id))
      .map((wallet) => ({ wallet, error: `account ${wallet.account_id} is not a wallet` }));
    writable.forEach((wallet, i) => {
      const result = results[i]!;
      const snapshot = snapshots.get(wallet.account_id)!;
      if (result.outcome === 'failed') failed.push({ wallet, error: result.error.message });
      else {
        options.metrics.writes.inc({ outcome: result.outcome });
        done.push({
          wallet,
          version: snapshot.version.toString(),
          revision: snapshot.shadowRevision.toString(),
          readAt: snapshot.readAt,
        });
      }
    });
    options.logger.debug(
      {
        claimed: claimed.length,
        written: done.length,
        failed: failed.length,
        readMs: writeStarted - readStarted,
        writeMs: Date.now() - writeStarted,
      },
      'mirror: round written',
    );
    await this.recordDone(done);
    await this.recordFailed(failed);
    return claimed.length;
  }

  /** Records the versions now in Firestore and releases the claims; observes each wallet's lag. */
  private async recordDone(
    done: ReadonlyArray<{ wallet: Claimed; version: string; revision: string; readAt: string }>,
  ): Promise<void> {
    if (done.length === 0) return;
    const { options } = this;
    const { rows } = await options.pool.query<{ lag_s: number | null }>(
      `UPDATE ledger.mirror_state m
          SET mirrored_version = greatest(m.mirrored_version, d.version),
              mirrored_shadow_revision = greatest(m.mirrored_shadow_revision, d.revision),
              pending_since = CASE WHEN m.pending_version <= greatest(m.mirrored_version, d.version)
                                    AND m.pending_shadow_revision <= greatest(m.mirrored_shadow_revision, d.revision)
                                   THEN NULL ELSE d.read_at END,
              next_attempt_at = clock_timestamp() + make_interval(secs => $6::float8 / 1000),
              lease_owner = NULL, lease_until = NULL, attempts = 0, last_error = NULL, mirrored_at = clock_timestamp()
         FROM unnest($2::uuid[], $3::bigint[], $4::bigint[], $5::timestamptz[], $7::timestamptz[])
                AS d(account_id, version, revision, read_at, pending_since)
        WHERE m.account_id = d.account_id AND m.lease_owner = $1
        RETURNING extract(epoch FROM clock_timestamp() - d.pending_since)::float8 AS lag_s`,
      [
        this.owner,
        done.map((d) => d.wallet.account_id),
        done.map((d) => d.version),
        done.map((d) => d.revision),
        done.map((d) => d.readAt),
        options.minIntervalMs,
        done.map((d) => d.wallet.pending_since),
      ],
    );
    for (const row of rows)
      if (typeof row.lag_s === 'number') options.metrics.lagSeconds.observe(Math.max(0, row.lag_s));
  }

  private async recordFailed(failed: ReadonlyArray<{ wallet: Claimed; error: string }>): Promise<void> {
    if (failed.length === 0) return;
    const { options } = this;
    options.metrics.failures.inc(failed.length);
    options.logger.warn(
      { err: failed[0]!.error, wallets: failed.length, accountId: failed[0]!.wallet.account_id },
      'mirror: wallet writes failed',
    );
    await options.pool
      .query(
        `UPDATE ledger.mirror_state m
            SET attempts = m.attempts + 1, last_error = left(f.error, 1000), lease_owner = NULL, lease_until = NULL,
                next_attempt_at = clock_timestamp() + make_interval(secs => f.delay_ms::float8 / 1000)
           FROM unnest($2::uuid[], $3::text[], $4::int[]) AS f(account_id, error, delay_ms)
          WHERE m.account_id = f.account_id AND m.lease_owner = $1`,
        [
          this.owner,
          failed.map((f) => f.wallet.account_id),
          failed.map((f) => f.error),
          failed.map((f) => backoffMs(f.wallet.attempts + 1, this.retryPolicy())),
        ],
      )
      .catch(() => undefined); // the leases expire on their own
  }

  /**
   * Issue 12: a restarted emulator (or a new project) is empty while mirror_state believes every
   * wallet is mirrored. Without the marker document, every wallet is made due again (mirrored
   * version -1) and then the marker is written — in that order, so a crash between the two only
   * repeats the reset. /readyz reports the mirror as catching up until every reset wallet is written.
   */
  async checkMarker(): Promise<boolean> {
    const { options } = this;
    this.lastMarkerCheckAt = Date.now();
    if (await options.mirror.markerExists()) return false;
    const { rowCount } = await options.pool.query(
      `UPDATE ledger.mirror_state
          SET mirrored_version = -1, mirrored_shadow_revision = 0, next_attempt_at = '-infinity', attempts = 0,
              pending_since = coalesce(pending_since, clock_timestamp()), lease_owner = NULL, lease_until = NULL`,
    );
    await options.mirror.createMarker({ writtenBy: this.owner, walletsToMirror: rowCount ?? 0 });
    this.status.catchingUp = { since: new Date(), walletsLeft: rowCount ?? 0 };
    options.logger.warn(
      { wallets: rowCount ?? 0 },
      'mirror: Firestore has no mirror marker (fresh or emptied): re-mirroring every wallet',
    );
    return true;
  }

  private async run(): Promise<void> {
    const markerCheckMs = this.options.markerCheckMs ?? 10_000;
    while (!this.stopping) {
      try {
        if (Date.now() - this.lastMarkerCheckAt >= markerCheckMs) await this.checkMarker();
        const claimed = await this.runOnce();
        if (this.status.catchingUp && claimed < this.options.batchSize) await this.updateCatchUp();
        this.status.consecutiveFailures = 0;
        this.status.lastError = undefined;
        this.status.state = 'running';
        if (claimed < this.options.batchSize) await this.sleep(this.options.pollIntervalMs);
      } catch (error) {
        this.status.consecutiveFailures += 1;
        this.status.lastError = error instanceof Error ? error.message : String(error);
        this.status.state = 'retrying';
        this.options.metrics.failures.inc();
        this.options.logger.warn({ err: this.status.lastError }, 'mirror: round failed');
        await this.sleep(backoffMs(this.status.consecutiveFailures, this.retryPolicy()));
      }
    }
  }

  private async claim(): Promise<Claimed[]> {
    const { rows } = await this.options.pool.query<Claimed>(
      `UPDATE ledger.mirror_state m
          SET lease_owner = $1, lease_until = clock_timestamp() + make_interval(secs => $2::float8 / 1000)
         FROM (SELECT account_id FROM ledger.mirror_state
                WHERE (${BEHIND}) AND next_attempt_at <= clock_timestamp()
                  AND (lease_until IS NULL OR lease_until < clock_timestamp())
                ORDER BY next_attempt_at
                LIMIT $3
                  FOR UPDATE SKIP LOCKED) due
        WHERE m.account_id = due.account_id
        RETURNING m.account_id, to_json(m.pending_since) #>> '{}' AS pending_since, m.attempts`,
      [this.owner, this.options.leaseMs, this.options.batchSize],
    );
    return rows;
  }

  private async updateCatchUp(): Promise<void> {
    const catchingUp = this.status.catchingUp;
    if (!catchingUp) return;
    const { rows } = await this.options.pool.query<{ left: string }>(
      `SELECT count(*)::text AS left FROM ledger.mirror_state WHERE mirrored_version = -1`,
    );
    catchingUp.walletsLeft = Number(rows[0]?.left ?? 0);
    if (catchingUp.walletsLeft > 0) return;
    this.status.catchingUp = undefined;
    this.options.logger.info(
      { seconds: (Date.now() - catchingUp.since.getTime()) / 1000 },
      'mirror: Firestore rebuilt, every wallet mirrored again',
    );
  }

  private async sampleBacklog(): Promise<void> {
    try {
      const { rows } = await this.options.pool.query<{ wallets: string; oldest_age_s: number | null }>(
        `SELECT count(*)::text AS wallets, extract(epoch FROM clock_timestamp() - min(pending_since))::float8 AS oldest_age_s
           FROM ledger.mirror_state WHERE ${BEHIND}`,
      );
      this.status.backlogWallets = Number(rows[0]?.wallets ?? 0);
      this.status.oldestAgeSeconds = Math.max(0, rows[0]?.oldest_age_s ?? 0);
      this.options.metrics.backlogWallets.set(this.status.backlogWallets);
      this.options.metrics.oldestAgeSeconds.set(this.status.oldestAgeSeconds);
    } catch (error) {
      this.options.logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'mirror: backlog sample failed',
      );
    }
  }

  private retryPolicy(): BackoffPolicy {
    const { retryBaseMs, retryMaxMs } = this.options;
    return { baseMs: retryBaseMs, maxMs: retryMaxMs, floorMs: retryBaseMs / 2 };
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
