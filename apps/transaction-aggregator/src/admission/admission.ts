import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { logFailure, type FailureLogger } from '@saldo/faults';
import { LedgerError, type TenantId } from '@saldo/ledger-domain';
import type Redis from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';

/**
 * Admission control (issue 11 #3): bounded work per process and per caller, refused fast with
 * RESOURCE_EXHAUSTED and a retry-after hint instead of queueing into a pool timeout.
 *
 * - Before anything touches the database (the API key is not even looked up yet): at most
 *   `maxInFlight` calls in this process, and at most `perKeyMaxInFlight` of them with one API key
 *   (a key belongs to one tenant, so a tenant's burst takes its own slots, never another's).
 * - Once the tenant is known: at most `tenantRatePerS` calls per second per tenant across every
 *   instance (rate-limiter-flexible on Redis; an in-memory limiter stands in while Redis is away).
 * - Deadlines: a call whose deadline has passed, on arrival or once admitted, does no work.
 */
export interface AdmissionOptions {
  readonly maxInFlight: number;
  readonly perKeyMaxInFlight: number;
  readonly tenantRatePerS: number;
  /** The hint given with a concurrency refusal (ms). */
  readonly retryAfterMs: number;
}

export interface AdmissionStats {
  admitted: number;
  refusedProcess: number;
  refusedKey: number;
  refusedRate: number;
  expired: number;
}

const deadlineOfCall = new AsyncLocalStorage<number>();

export class Admission {
  private inFlight = 0;
  private readonly perKey = new Map<string, number>();
  private readonly rate: RateLimiterAbstract;
  readonly stats: AdmissionStats = {
    admitted: 0,
    refusedProcess: 0,
    refusedKey: 0,
    refusedRate: 0,
    expired: 0,
  };

  constructor(
    readonly options: AdmissionOptions,
    private readonly redis: Redis | undefined,
    private readonly logger?: FailureLogger,
  ) {
    const memory = new RateLimiterMemory({ points: options.tenantRatePerS, duration: 1 });
    this.rate = redis
      ? new RateLimiterRedis({
          storeClient: redis,
          points: options.tenantRatePerS,
          duration: 1,
          keyPrefix: 'saldo:aggregator:rate',
          // Redis away: each instance limits on its own (never unlimited, never an outage).
          insuranceLimiter: memory,
        })
      : memory;
  }

  close(): void {
    this.redis?.disconnect();
  }

  get callsInFlight(): number {
    return this.inFlight;
  }

  /**
   * Runs one call under the process and per-key bounds (refused at once when full), with its
   * deadline (ms since epoch, Infinity for none) visible to `admitTenant`.
   */
  async enter<T>(token: string | undefined, deadlineMs: number, work: () => Promise<T>): Promise<T> {
    this.checkDeadline(deadlineMs);
    if (this.inFlight >= this.options.maxInFlight) {
      this.stats.refusedProcess += 1;
      throw exhausted(
        `the aggregator is at capacity (${this.inFlight} calls in flight)`,
        this.options.retryAfterMs,
      );
    }
    const key = token ? createHash('sha256').update(token).digest('base64url').slice(0, 22) : '';
    const mine = this.perKey.get(key) ?? 0;
    if (mine >= this.options.perKeyMaxInFlight) {
      this.stats.refusedKey += 1;
      throw exhausted(
        `this API key has ${mine} calls in flight, the most one key may have at once`,
        this.options.retryAfterMs,
      );
    }
    this.inFlight += 1;
    this.perKey.set(key, mine + 1);
    this.stats.admitted += 1;
    try {
      return await deadlineOfCall.run(deadlineMs, work);
    } finally {
      this.inFlight -= 1;
      const left = (this.perKey.get(key) ?? 1) - 1;
      if (left > 0) this.perKey.set(key, left);
      else this.perKey.delete(key);
    }
  }

  /** The tenant's rate across instances, and the call's deadline again (time passed in auth). */
  async admitTenant(tenant: TenantId): Promise<void> {
    try {
      await this.rate.consume(tenant, 1);
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        this.stats.refusedRate += 1;
        throw exhausted(
          `tenant ${tenant} is over its ${this.options.tenantRatePerS} calls per second`,
          Math.max(1, error.msBeforeNext),
        );
      }
      // Neither Redis nor the insurance limiter answered: admit (limits are protection, not correctness).
      if (this.logger) logFailure(this.logger, error, { tenant }, 'rate limiter failed; call admitted');
    }
    this.checkDeadline(deadlineOfCall.getStore() ?? Infinity);
  }

  private checkDeadline(deadlineMs: number): void {
    if (deadlineMs <= Date.now()) {
      this.stats.expired += 1;
      throw new LedgerError(
        'RESOURCE_EXHAUSTED',
        "the call's deadline passed before its work could start; nothing was done",
        { facts: { retry_after_ms: '0' } },
      );
    }
  }
}

function exhausted(why: string, retryAfterMs: number): LedgerError {
  const after = Math.ceil(retryAfterMs);
  return new LedgerError(
    'RESOURCE_EXHAUSTED',
    `${why}; nothing was done: retry after ${after} ms with the same idempotency key`,
    { facts: { retry_after_ms: String(after) } },
  );
}

/** A call's deadline as grpc-js gives it (Date, ms, or Infinity), in ms since epoch. */
export function deadlineMsOf(deadline: unknown): number {
  if (deadline instanceof Date) return deadline.getTime();
  if (typeof deadline === 'number') return deadline;
  return Infinity;
}
