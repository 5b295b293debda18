import { journalEntryBody } from './netsuite/netsuite-connector';
import { AdaptiveLimiter, backoffMs, parseRetryAfter } from './limiter';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('AdaptiveLimiter', () => {
  it('never runs more than the cap at once and serves higher priority first', async () => {
    const limiter = new AdaptiveLimiter({ name: 't', maxConcurrency: 2 });
    const order: string[] = [];
    const releases: Array<() => void> = [];
    const take = (label: string, priority: number) =>
      limiter.acquire(priority).then((release) => {
        order.push(label);
        releases.push(release);
      });
    void take('a', 5);
    void take('b', 5);
    void take('crm', 5);
    void take('erp', 0);
    await tick();
    expect(order).toEqual(['a', 'b']);
    expect(limiter.stats()).toMatchObject({ inFlight: 2, queued: 2 });
    releases.shift()!();
    await tick();
    expect(order).toEqual(['a', 'b', 'erp']);
    expect(limiter.stats().maxInFlightSeen).toBe(2);
  });

  it('pauses for Retry-After and halves its concurrency on a 429, then climbs back', async () => {
    let now = 1_000;
    const limiter = new AdaptiveLimiter({ name: 't', maxConcurrency: 4, now: () => now });
    limiter.onThrottle(2_000);
    expect(limiter.stats()).toMatchObject({ limit: 2, throttles: 1, pausedForMs: 2_000 });
    let started = false;
    void limiter.acquire().then(() => (started = true));
    await tick();
    expect(started).toBe(false);
    now += 2_000;
    await new Promise((resolve) => setTimeout(resolve, 2_050));
    expect(started).toBe(true);
    limiter.onSuccess();
    limiter.onSuccess();
    expect(limiter.stats().limit).toBe(3);
  });

  it('keeps a minimum interval between starts (a per-second rate limit)', async () => {
    const limiter = new AdaptiveLimiter({ name: 't', maxConcurrency: 10, minIntervalMs: 100 });
    const started = Date.now();
    const times: number[] = [];
    await Promise.all(
      [0, 1, 2].map(() => limiter.acquire().then((release) => (times.push(Date.now() - started), release()))),
    );
    expect(times[2]!).toBeGreaterThanOrEqual(190);
  });
});

describe('backoff and Retry-After', () => {
  it('full jitter under an exponential ceiling', () => {
    expect(backoffMs(0, 100, 10_000, () => 1)).toBe(100);
    expect(backoffMs(3, 100, 10_000, () => 1)).toBe(800);
    expect(backoffMs(20, 100, 10_000, () => 1)).toBe(10_000);
    expect(backoffMs(3, 100, 10_000, () => 0)).toBe(0);
  });

  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3_000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('NetSuite journal body', () => {
  it('writes amounts as exact JSON numbers in major units, never through a float', () => {
    const body = journalEntryBody({
      externalId: 'x',
      tenantId: 'acme',
      kind: 'single',
      assetCode: 'USD',
      assetScale: 2,
      currencyId: '1',
      subsidiary: '1',
      department: null,
      tranDate: '2026-03-04',
      memo: 'm',
      productCode: null,
      lines: [
        {
          role: 'cash_clearing',
          account: '100',
          customer: null,
          item: null,
          debitMinor: 900719925474099123n,
          creditMinor: 0n,
        },
        {
          role: 'customer_prepayment',
          account: '200',
          customer: 'alice',
          item: null,
          debitMinor: 0n,
          creditMinor: 900719925474099123n,
        },
      ],
    });
    expect(body.text).toContain('"debit":9007199254740991.23');
    expect(body.text).toContain('"credit":9007199254740991.23');
    expect(body.text).toContain('"custbody_saldo_tenant":"acme"');
  });
});
