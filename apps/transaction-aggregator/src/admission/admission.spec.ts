import { LedgerError, type TenantId } from '@saldo/ledger-domain';
import { Admission } from './admission';

const options = { maxInFlight: 4, perKeyMaxInFlight: 2, tenantRatePerS: 3, retryAfterMs: 150 };

function codeOf(error: unknown): string | undefined {
  return error instanceof LedgerError ? error.code : undefined;
}

describe('Admission (in memory)', () => {
  it('bounds calls per key and per process, refusing at once with a retry-after', async () => {
    const admission = new Admission(options, undefined);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = [1, 2].map(() => admission.enter('key-a', Infinity, () => gate));
    const third = await admission.enter('key-a', Infinity, () => Promise.resolve()).catch((e: unknown) => e);
    expect(codeOf(third)).toBe('RESOURCE_EXHAUSTED');
    expect((third as LedgerError).details.facts?.['retry_after_ms']).toBe('150');
    // Another key still gets in, up to the process bound.
    const others = [1, 2].map(() => admission.enter('key-b', Infinity, () => gate));
    const fifth = await admission.enter('key-c', Infinity, () => Promise.resolve()).catch((e: unknown) => e);
    expect((fifth as LedgerError).message).toMatch(/at capacity/);
    release();
    await Promise.all([...held, ...others]);
    expect(admission.callsInFlight).toBe(0);
    await admission.enter('key-a', Infinity, () => Promise.resolve());
  });

  it('does no work for a call whose deadline passed', async () => {
    const admission = new Admission(options, undefined);
    let ran = false;
    const refused = await admission
      .enter('k', Date.now() - 1, async () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(codeOf(refused)).toBe('RESOURCE_EXHAUSTED');
    expect(ran).toBe(false);
    expect(admission.stats.expired).toBe(1);
  });

  it('limits a tenant to its rate per second, with the time until the next slot', async () => {
    const admission = new Admission(options, undefined);
    const tenant = 't1' as TenantId;
    for (let i = 0; i < 3; i += 1) await admission.admitTenant(tenant);
    const over = await admission.admitTenant(tenant).catch((e: unknown) => e);
    expect(codeOf(over)).toBe('RESOURCE_EXHAUSTED');
    expect(Number((over as LedgerError).details.facts?.['retry_after_ms'])).toBeGreaterThan(0);
    await admission.admitTenant('t2' as TenantId);
  });
});
