import type { Logger } from '@saldo/logging';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { FirestoreMirror } from './firestore-mirror';
import type { MirrorMetrics } from './mirror-metrics';
import { loadWalletSnapshot } from './wallet-snapshot';

export interface MirrorWorkerOptions {
  pool: Pool;
  mirror: FirestoreMirror;
  logger: Logger;
  metrics: MirrorMetrics;
  /** Wallets claimed per round. */
  batchSize: number;
  /** Wallets written at once. */
  concurrency: number;
  /** Least time between two writes of one wallet document: a hot wallet is coalesced to its newest version. */
  minIntervalMs: number;
  pollIntervalMs: number;
  /** A claim expires after this long (a worker that died mid-write is taken over). */
  leaseMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  backlogSampleMs: number;
}

export type MirrorState = 'stopped' | 'running' | 'retrying';

export interface MirrorStatus {
  state: MirrorState;
  consecutiveFailures: number;
  lastError: string | undefined;
  backlogWallets: number;
  oldestAgeSeconds: number;
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
  };

  constructor(private readonly options: MirrorWorkerOptions) {
    if (options.batchSize < 1 || options.batchSize > 1_000) throw new Error('batchSize must be 1..1000');
    if (options.concurrency < 1 || options.concurrency > 100) throw new Error('concurrency must be 1..100');
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

  /** One round: claims due wallets and mirrors them; returns how many were claimed. */
  async runOnce(): Promise<number> {
    const claimed = await this.claim();
    let next = 0;
    const workers = Array.from({ length: Math.min(this.options.concurrency, claimed.length) }, async () => {
      while (next < claimed.length) {
        const wallet = claimed[next++]!;
        await this.mirrorOne(wallet);
      }
    });
    await Promise.all(workers);
    return claimed.length;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const claimed = await this.runOnce();
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
        await this.sleep(
          backoffMs(this.status.consecutiveFailures, this.options.retryBaseMs, this.options.retryMaxMs),
        );
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

  private async mirrorOne(wallet: Claimed): Promise<void> {
    const { options } = this;
    try {
      const snapshot = await loadWalletSnapshot(
        options.pool,
        wallet.account_id,
        options.mirror.transactionsKept,
      );
      if (!snapshot) throw new Error(`account ${wallet.account_id} is not a wallet`);
      const writeStarted = Date.now();
      const result = await options.mirror.write(snapshot);
      options.metrics.writes.inc({ outcome: result.outcome });
      options.logger.debug(
        {
          accountId: wallet.account_id,
          version: snapshot.version.toString(),
          outcome: result.outcome,
          writeMs: Date.now() - writeStarted,
        },
        'mirror: wallet written',
      );
      const { rows } = await options.pool.query<{ lag_s: number | null }>(
        `UPDATE ledger.mirror_state
            SET mirrored_version = greatest(mirrored_version, $3),
                mirrored_shadow_revision = greatest(mirrored_shadow_revision, $7),
                pending_since = CASE WHEN pending_version <= greatest(mirrored_version, $3)
                                      AND pending_shadow_revision <= greatest(mirrored_shadow_revision, $7)
                                     THEN NULL ELSE $4::timestamptz END,
                next_attempt_at = clock_timestamp() + make_interval(secs => $5::float8 / 1000),
                lease_owner = NULL, lease_until = NULL, attempts = 0, last_error = NULL, mirrored_at = clock_timestamp()
          WHERE account_id = $1 AND lease_owner = $2
          RETURNING extract(epoch FROM clock_timestamp() - $6::timestamptz)::float8 AS lag_s`,
        [
          wallet.account_id,
          this.owner,
          snapshot.version.toString(),
          snapshot.readAt,
          options.minIntervalMs,
          wallet.pending_since,
          snapshot.shadowRevision.toString(),
        ],
      );
      const lag = rows[0]?.lag_s;
      if (wallet.pending_since && typeof lag === 'number')
        options.metrics.lagSeconds.observe(Math.max(0, lag));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      options.metrics.failures.inc();
      options.logger.warn(
        { err: message, accountId: wallet.account_id, attempts: wallet.attempts + 1 },
        'mirror: wallet write failed',
      );
      await options.pool
        .query(
          `UPDATE ledger.mirror_state
              SET attempts = attempts + 1, last_error = left($3, 1000), lease_owner = NULL, lease_until = NULL,
                  next_attempt_at = clock_timestamp() + make_interval(secs => $4::float8 / 1000)
            WHERE account_id = $1 AND lease_owner = $2`,
          [
            wallet.account_id,
            this.owner,
            message,
            backoffMs(wallet.attempts + 1, options.retryBaseMs, options.retryMaxMs),
          ],
        )
        .catch(() => undefined); // the lease expires on its own
    }
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

function backoffMs(failures: number, baseMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 20));
  return Math.max(baseMs, Math.round(Math.random() * cap));
}
