import { backoffMs, retry } from './backoff';

describe('backoffMs', () => {
  const policy = { baseMs: 100, maxMs: 1_000 };

  it('doubles the ceiling per failure up to maxMs, with full jitter below it', () => {
    expect([1, 2, 3, 4, 5, 40].map((n) => backoffMs(n, policy, () => 1))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(backoffMs(3, policy, () => 0)).toBe(0);
    expect(backoffMs(3, policy, () => 0.5)).toBe(200);
  });

  it('keeps a floor, never above the ceiling', () => {
    expect(backoffMs(1, { ...policy, floorMs: 50 }, () => 0)).toBe(50);
    expect(backoffMs(1, { ...policy, floorMs: 500 }, () => 0)).toBe(100);
    expect(backoffMs(4, { ...policy, floorMs: 500 }, () => 0)).toBe(500);
  });

  it('spreads retries of many instances instead of lockstep', () => {
    const delays = new Set(Array.from({ length: 200 }, () => backoffMs(5, policy)));
    expect(delays.size).toBeGreaterThan(50);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(0);
    for (const d of delays) expect(d).toBeLessThanOrEqual(1_000);
  });

  it('refuses nonsense', () => {
    expect(() => backoffMs(0, policy)).toThrow(RangeError);
    expect(() => backoffMs(1, { baseMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => backoffMs(1, { baseMs: 10, maxMs: 5 })).toThrow(RangeError);
  });
});

describe('retry', () => {
  const policy = { baseMs: 1, maxMs: 2 };

  it('retries until success, within the attempts', async () => {
    let calls = 0;
    const seen: number[] = [];
    const result = await retry(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error(`fail ${calls}`);
        return 'ok';
      },
      { attempts: 5, policy, onRetry: (_e, failures) => seen.push(failures) },
    );
    expect(result).toBe('ok');
    expect(seen).toEqual([1, 2]);
  });

  it('gives up after the attempts, and at once on an error that is not retryable', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls += 1;
          throw new Error('down');
        },
        { attempts: 3, policy },
      ),
    ).rejects.toThrow('down');
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      retry(
        async () => {
          calls += 1;
          throw new Error('bad request');
        },
        { attempts: 3, policy, retryable: () => false },
      ),
    ).rejects.toThrow('bad request');
    expect(calls).toBe(1);
  });
});
