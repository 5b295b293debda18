import { backoffMs as sharedBackoffMs } from '@saldo/resilience';

/**
 * A per-vendor limiter: at most `limit` requests in flight (the cap, lowered on every 429 and raised
 * back one step per `limit` successes: AIMD), no two starts closer than `minIntervalMs` (a rate
 * limit), and a full pause until the vendor's Retry-After has passed. Waiters are served by
 * priority (lower first: money to the ERP before CRM balances), then in arrival order. Bounded:
 * more than `maxQueued` waiters is refused.
 */
export interface LimiterOptions {
  name: string;
  maxConcurrency: number;
  minIntervalMs?: number;
  /** Pause after a 429 that carries no Retry-After. */
  defaultRetryAfterMs?: number;
  maxQueued?: number;
  now?: () => number;
}

export interface LimiterStats {
  inFlight: number;
  limit: number;
  maxInFlightSeen: number;
  throttles: number;
  queued: number;
  pausedForMs: number;
}

interface Waiter {
  priority: number;
  seq: number;
  resolve: (release: () => void) => void;
}

export class LimiterQueueFull extends Error {}

export class AdaptiveLimiter {
  private limit: number;
  private inFlight = 0;
  private maxInFlightSeen = 0;
  private throttles = 0;
  private successes = 0;
  private pausedUntil = 0;
  private lastStartAt = -Infinity;
  private seq = 0;
  private readonly queue: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: LimiterOptions) {
    if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1)
      throw new Error(`${options.name}: maxConcurrency must be ≥ 1`);
    this.limit = options.maxConcurrency;
    this.now = options.now ?? Date.now;
  }

  /** Resolves with a release function once a request may start. */
  acquire(priority = 0): Promise<() => void> {
    if (this.queue.length >= (this.options.maxQueued ?? 10_000)) {
      return Promise.reject(
        new LimiterQueueFull(`${this.options.name}: ${this.queue.length} requests already waiting`),
      );
    }
    return new Promise((resolve) => {
      this.queue.push({ priority, seq: (this.seq += 1), resolve });
      this.queue.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
      this.pump();
    });
  }

  /** The vendor answered 429: back off for Retry-After (or the default) and halve the concurrency. */
  onThrottle(retryAfterMs: number | undefined): void {
    this.throttles += 1;
    this.successes = 0;
    this.limit = Math.max(1, Math.floor(this.limit / 2));
    const pause = retryAfterMs ?? this.options.defaultRetryAfterMs ?? 1_000;
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + pause);
  }

  onSuccess(): void {
    this.successes += 1;
    if (this.successes >= this.limit && this.limit < this.options.maxConcurrency) {
      this.limit += 1;
      this.successes = 0;
    }
  }

  stats(): LimiterStats {
    return {
      inFlight: this.inFlight,
      limit: this.limit,
      maxInFlightSeen: this.maxInFlightSeen,
      throttles: this.throttles,
      queued: this.queue.length,
      pausedForMs: Math.max(0, this.pausedUntil - this.now()),
    };
  }

  private pump(): void {
    if (this.timer) return;
    while (this.queue.length > 0 && this.inFlight < this.limit) {
      const now = this.now();
      const wait = Math.max(
        this.pausedUntil - now,
        this.lastStartAt + (this.options.minIntervalMs ?? 0) - now,
      );
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      const waiter = this.queue.shift()!;
      this.inFlight += 1;
      this.maxInFlightSeen = Math.max(this.maxInFlightSeen, this.inFlight);
      this.lastStartAt = now;
      let released = false;
      waiter.resolve(() => {
        if (released) return;
        released = true;
        this.inFlight -= 1;
        this.pump();
      });
    }
  }
}

/**
 * Full-jitter exponential backoff: uniform in [0, min(max, base · 2^attempt)] (attempt 0-based).
 * The one policy of @saldo/resilience (STYLE.md 10), in this module's 0-based terms.
 */
export function backoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  return sharedBackoffMs(attempt + 1, { baseMs, maxMs: Math.max(maxMs, baseMs) }, random);
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. Capped at one hour. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.min(3_600_000, Math.round(Number(trimmed) * 1000));
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.min(3_600_000, Math.max(0, at - now));
}
