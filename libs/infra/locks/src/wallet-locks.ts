import { classifyFault } from '@saldo/faults';
import { LedgerError } from '@saldo/ledger-domain';
import type { RedisLogger } from './redis-client';
import type Redis from 'ioredis';
import Redlock, { ExecutionError, ResourceLockedError, type Lock } from 'redlock';
import { KeyedMutex } from './keyed-mutex';

/**
 * required: no Redis, no write (UNAVAILABLE). best-effort: without Redis, PostgreSQL row locks
 * alone serialise the work (slower under contention across instances, never incorrect).
 */
export type RedisLockMode = 'required' | 'best-effort';

export interface WalletLocksOptions {
  readonly mode: RedisLockMode;
  /** How long a Redis lock lives if its holder dies; work is bounded well below this. */
  readonly ttlMs: number;
  readonly retryCount: number;
  readonly retryDelayMs: number;
  readonly maxWaitersPerKey: number;
  readonly keyPrefix: string;
  /** One warning when the locks degrade to best-effort, one info when Redis locks work again. */
  readonly logger?: RedisLogger;
}

export interface WalletLockStats {
  acquired: number;
  contended: number;
  redisSkipped: number;
  queueFull: number;
  /** Times the locks fell back to best-effort (one per outage). */
  degradations: number;
  degraded: boolean;
}

/**
 * Serialises work per wallet: first in this process (a FIFO mutex per wallet), then across
 * instances (one redlock over all the wallets an operation touches, taken in sorted order).
 * Correctness never rests on this: PostgreSQL locks the same rows again and checks every limit.
 */
export class WalletLocks {
  private readonly local: KeyedMutex;
  private readonly redlock: Redlock;
  readonly stats: WalletLockStats = {
    acquired: 0,
    contended: 0,
    redisSkipped: 0,
    queueFull: 0,
    degradations: 0,
    degraded: false,
  };

  constructor(
    private readonly redis: Redis,
    private readonly options: WalletLocksOptions,
  ) {
    this.local = new KeyedMutex(options.maxWaitersPerKey);
    this.redlock = new Redlock([redis], {
      retryCount: options.retryCount,
      retryDelay: options.retryDelayMs,
      retryJitter: Math.ceil(options.retryDelayMs / 2),
      driftFactor: 0.01,
      automaticExtensionThreshold: 500,
    });
    // Redlock re-emits client errors; they surface through acquire(), not as crashes.
    this.redlock.on('error', () => undefined);
  }

  async withLocks<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const releases: Array<() => void> = [];
    try {
      for (const key of sorted) {
        const release = await this.local.acquire(key);
        if (!release) {
          this.stats.queueFull += 1;
          throw new LedgerError(
            'CONFLICT_RETRY',
            `too many operations are waiting on wallet ${key}; retry shortly`,
          );
        }
        releases.push(release);
      }
      const lock = await this.acquireDistributed(sorted);
      try {
        return await work();
      } finally {
        // Not awaited: the release goes out on the same connection before any later acquire.
        lock?.release().catch(() => undefined);
      }
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  private async acquireDistributed(keys: readonly string[]): Promise<Lock | undefined> {
    if (keys.length === 0) return undefined;
    if (this.redis.status !== 'ready') return this.withoutRedis(new Error(`redis is ${this.redis.status}`));
    try {
      const lock = await this.redlock.acquire(
        keys.map((key) => `${this.options.keyPrefix}${key}`),
        this.options.ttlMs,
      );
      this.stats.acquired += 1;
      if (this.stats.degraded) {
        this.stats.degraded = false;
        this.options.logger?.info(
          { locks: this.options.keyPrefix },
          'wallet locks recovered: Redis locks again',
        );
      }
      return lock;
    } catch (error) {
      if (await isContention(error)) {
        this.stats.contended += 1;
        throw new LedgerError('CONFLICT_RETRY', 'the wallet is busy with another operation; retry shortly');
      }
      return this.withoutRedis(error);
    }
  }

  private withoutRedis(cause: unknown): undefined {
    if (this.options.mode === 'required') {
      throw new LedgerError(
        'DEPENDENCY_UNAVAILABLE',
        'the lock service (Redis) is unavailable; retry shortly',
        {
          facts: { cause: cause instanceof Error ? cause.message : String(cause) },
        },
      );
    }
    this.stats.redisSkipped += 1;
    if (!this.stats.degraded) {
      this.stats.degraded = true;
      this.stats.degradations += 1;
      const fault = classifyFault(cause);
      this.options.logger?.warn(
        {
          locks: this.options.keyPrefix,
          fault: fault?.reason ?? 'redis_unavailable',
          cause: cause instanceof Error ? cause.message : String(cause),
        },
        'wallet locks degraded to best-effort: PostgreSQL row locks alone serialise the work until Redis is back',
      );
    }
    return undefined;
  }
}

async function isContention(error: unknown): Promise<boolean> {
  if (!(error instanceof ExecutionError)) return false;
  const last = error.attempts[error.attempts.length - 1];
  if (!last) return false;
  const stats = await last.catch(() => undefined);
  if (!stats) return false;
  return [...stats.votesAgainst.values()].some((reason) => reason instanceof ResourceLockedError);
}
