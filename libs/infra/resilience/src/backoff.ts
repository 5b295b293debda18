/**
 * One retry/backoff policy for every worker and client of Saldo (STYLE.md 10): exponential
 * backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"), so that
 * many instances retrying after one outage spread out instead of retrying in lockstep.
 */
export interface BackoffPolicy {
  /** Ceiling of the first delay; doubles with each further failure. */
  baseMs: number;
  /** The ceiling never grows past this: keep it short where a quick resume matters. */
  maxMs: number;
  /** Least delay (default 0); at most the ceiling. */
  floorMs?: number;
}

const EXPONENT_MAX = 30;

/**
 * Delay before the next attempt after `failures` consecutive failures (1 = the first failure):
 * uniform in [floor, min(maxMs, baseMs · 2^(failures−1))].
 */
export function backoffMs(
  failures: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  assertPolicy(policy);
  if (!Number.isInteger(failures) || failures < 1)
    throw new RangeError(`failures must be ≥ 1, got ${failures}`);
  const ceilingMs = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(failures - 1, EXPONENT_MAX));
  const floorMs = Math.min(policy.floorMs ?? 0, ceilingMs);
  return Math.round(floorMs + random() * (ceilingMs - floorMs));
}

function assertPolicy(policy: BackoffPolicy): void {
  const { baseMs, maxMs, floorMs = 0 } = policy;
  if (!(baseMs > 0 && Number.isFinite(baseMs))) throw new RangeError(`baseMs must be > 0, got ${baseMs}`);
  if (!(maxMs >= baseMs && Number.isFinite(maxMs)))
    throw new RangeError(`maxMs must be ≥ baseMs (${baseMs}), got ${maxMs}`);
  if (!(floorMs >= 0 && Number.isFinite(floorMs)))
    throw new RangeError(`floorMs must be ≥ 0, got ${floorMs}`);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: the caller checks the signal). */
export function sleepMs(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface RetryOptions {
  /** Attempts in all, the first included (a limit on everything: TIGER_STYLE). */
  attempts: number;
  policy: BackoffPolicy;
  /** Whether an error is worth another attempt (default: every error). */
  retryable?: (error: unknown) => boolean;
  /** Called before each wait, e.g. to log. */
  onRetry?: (error: unknown, failures: number, delayMs: number) => void;
  signal?: AbortSignal;
  random?: () => number;
}

/** Runs `fn` until it succeeds, an error is not retryable, the attempts are used up or `signal` aborts. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  if (!Number.isInteger(options.attempts) || options.attempts < 1)
    throw new RangeError(`attempts must be ≥ 1, got ${options.attempts}`);
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn(attempt);
    } catch (error) {
      const last = attempt >= options.attempts || options.signal?.aborted;
      if (last || !(options.retryable?.(error) ?? true)) throw error;
      const delayMs = backoffMs(attempt, options.policy, options.random);
      options.onRetry?.(error, attempt, delayMs);
      await sleepMs(delayMs, options.signal);
    }
  }
}
