/**
 * A token bucket: `take(n)` resolves once n units fit under `ratePerSecond` (burst: one second's
 * worth). Keeps the migration's load on the ledger bounded so live tenants keep their throughput.
 * Rate 0 means unthrottled.
 */
export class Throttle {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly ratePerSecond: number) {
    this.tokens = ratePerSecond;
  }

  async take(n: number): Promise<void> {
    if (this.ratePerSecond <= 0) return;
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(
        this.ratePerSecond,
        this.tokens + ((now - this.last) / 1000) * this.ratePerSecond,
      );
      this.last = now;
      if (this.tokens >= Math.min(n, this.ratePerSecond)) {
        this.tokens -= n;
        return;
      }
      const missing = Math.min(n, this.ratePerSecond) - this.tokens;
      await new Promise((resolve) => setTimeout(resolve, Math.max(5, (missing / this.ratePerSecond) * 1000)));
    }
  }
}

/** Runs `work` over `items` with at most `limit` in flight; the first failure rejects (after the rest settle). */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: unknown;
  const lane = async () => {
    while (next < items.length && failure === undefined) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure !== undefined) throw failure;
}
