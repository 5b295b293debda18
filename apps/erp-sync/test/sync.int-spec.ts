// erp-sync against the real PostgreSQL and the vendor stand-ins: usage aggregation at volume,
// duplicates, a 429 storm under a concurrency cap, dead letters and replay, CRM coalescing.
import { decimalToScaled } from '@saldo/vendor-standins';
import { waitFor } from '@saldo/test-support';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { tenantsConfig, topUp, transfer, usage, wallet, type WalletFixture } from './event-fixtures';
import { cli, ROOT, rows, startSyncHarness, type SyncHarness } from './sync-harness';

jest.setTimeout(180_000);

const tag = randomBytes(3).toString('hex');
const VOLUME = `vol-${tag}`;
const STORM = `storm-${tag}`;
const DEAD = `dead-${tag}`;
const CRM = `crm-${tag}`;
const GHOST = `ghost-${tag}`;
const tenants = {
  ...tenantsConfig(VOLUME),
  ...tenantsConfig(STORM),
  ...tenantsConfig(DEAD, { revenue: '999' }),
  ...tenantsConfig(CRM, { crm: true }),
};

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness(
    'erp_sync_int',
    tenants,
    { NETSUITE_CONCURRENCY: '3', ERP_SYNC_MAX_ATTEMPTS: '4' },
    {
      netsuiteConcurrency: 3,
      netsuiteAccounts: ['100', '200', '400', '500', '210'],
    },
  );
});

afterAll(async () => {
  await h?.stop();
});

/** Runs the worker until nothing of the tenant is pending, failed or in flight. */
async function syncAll(tenant: string, timeoutMs = 120_000): Promise<void> {
  h.worker.start();
  await waitFor(
    async () => {
      const [row] = await rows<{ n: string }>(
        h.db,
        `SELECT count(*)::text AS n FROM erp_sync.sync_records WHERE tenant_id = $1 AND state IN ('pending', 'failed', 'in_flight')`,
        [tenant],
      );
      return row!.n === '0';
    },
    { timeoutMs, intervalMs: 100, what: `every sync record of ${tenant} settled` },
  );
  await h.worker.stop();
}

const journalsOf = (tenant: string) =>
  [...h.standins.netsuite.journals.values()].filter((j) => j.tenant === tenant);
const sumLines = (
  lines: Array<{ account: string; debit: string | null; credit: string | null }>,
  account: string,
  side: 'debit' | 'credit',
) =>
  lines
    .filter((l) => l.account === account && l[side])
    .reduce((s, l) => s + decimalToScaled(l[side]!, 2)!, 0n) / 100n;

describe('configuration', () => {
  it('refuses to start with a bad environment or tenant mapping, naming what is wrong and hiding secrets', () => {
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, [path.join(ROOT, 'dist/out-tsc/apps/erp-sync/src/main.js')], {
        env: { ...process.env, ...h.env, ...env },
        encoding: 'utf8',
        timeout: 30_000,
      });
    const badEnv = run({
      NETSUITE_CONCURRENCY: 'lots',
      ZENDESK_API_TOKEN: 'short',
      NETSUITE_BASE_URL: 'ftp://x',
    });
    expect(badEnv.status).toBe(1);
    expect(badEnv.stderr).toContain('NETSUITE_CONCURRENCY: expected a whole number');
    expect(badEnv.stderr).toContain('NETSUITE_BASE_URL: expected a URL (http or https)');
    expect(badEnv.stderr).toContain('ZENDESK_API_TOKEN: must be at least 8 characters');
    expect(badEnv.stderr).not.toContain("'short'");
    const badTenants = run({
      ERP_SYNC_TENANTS_JSON: JSON.stringify({
        acme: { subsidiary: '1', accounts: { cashClearing: '1' }, currencies: {} },
      }),
    });
    expect(badTenants.status).toBe(1);
    expect(badTenants.stderr).toContain('acme.accounts.customerPrepayment');
    expect(badTenants.stderr).toContain('acme.currencies: list at least one asset');
  });
});

describe('usage at volume', () => {
  it('10,000 usage events (with redeliveries) become one summary entry per product and hour whose totals equal the events', async () => {
    const wallets: WalletFixture[] = Array.from({ length: 20 }, (_, i) =>
      wallet(`${VOLUME}-w${i}`, `${VOLUME}-owner${i}`),
    );
    const events: Array<Record<string, unknown>> = [];
    for (const w of wallets) events.push(...topUp(VOLUME, w, 10_000_000n, '2026-03-04T09:30:00Z'));
    const expected = new Map<string, { revenue: bigint; cost: bigint; customers: Set<string> }>();
    for (let i = 0; i < 10_000; i += 1) {
      const product = i % 3 === 0 ? 'ekyc.check' : 'esign.basic';
      const hour = i % 2 === 0 ? '10' : '11';
      const amount = BigInt(100 + (i % 97));
      const cost = i % 5 === 0 ? BigInt(10 + (i % 7)) : 0n;
      events.push(
        ...usage(
          VOLUME,
          wallets[i % 20]!,
          amount,
          product,
          cost,
          `2026-03-04T${hour}:${String(i % 60).padStart(2, '0')}:00Z`,
        ),
      );
      const key = `${product}@${hour}`;
      const sum = expected.get(key) ?? { revenue: 0n, cost: 0n, customers: new Set<string>() };
      sum.customers.add(wallets[i % 20]!.ownerId);
      sum.revenue += amount;
      sum.cost += cost;
      expected.set(key, sum);
    }
    const redelivered = events.filter((_, i) => i % 10 === 0);
    const started = Date.now();
    const first = await h.ingest(events);
    const again = await h.ingest(redelivered);
    const ingestMs = Date.now() - started;
    expect(first).toEqual({ fresh: 10_020, duplicates: 0 });
    expect(again).toEqual({ fresh: 0, duplicates: redelivered.length });

    await syncAll(VOLUME);
    const journals = journalsOf(VOLUME);
    const summaries = journals.filter((j) => j.externalId.includes('-usage-'));
    expect(summaries).toHaveLength(4);
    expect(journals).toHaveLength(4 + 20);
    for (const j of summaries) {
      const product = j.externalId.includes('ekyc_check') ? 'ekyc.check' : 'esign.basic';
      const hour = j.externalId.match(/-2026030(4\d\d)00-/)![1]!.slice(1);
      const want = expected.get(`${product}@${hour}`)!;
      expect(sumLines(j.lines, '400', 'credit')).toBe(want.revenue);
      expect(sumLines(j.lines, '200', 'debit')).toBe(want.revenue);
      expect(sumLines(j.lines, '500', 'debit')).toBe(want.cost);
      expect(sumLines(j.lines, '210', 'credit')).toBe(want.cost);
      expect(
        j.lines
          .filter((l) => l.account === '200')
          .map((l) => l.customer)
          .sort(),
      ).toEqual([...want.customers].sort()); // one line per customer
      expect(j.writes).toBe(1);
    }
    const total = [...expected.values()].reduce((s, e) => s + e.revenue, 0n);
    expect(summaries.reduce((s, j) => s + sumLines(j.lines, '400', 'credit'), 0n)).toBe(total);
    const [audit] = await rows<{ n: string }>(
      h.db,
      `SELECT count(*)::text AS n FROM erp_sync.external_writes w JOIN erp_sync.sync_records r ON r.id = w.sync_record_id WHERE r.tenant_id = $1`,
      [VOLUME],
    );
    expect(Number(audit!.n)).toBe(24);
    process.stdout.write(
      `10,020 events stored in ${ingestMs} ms (with ${redelivered.length} redeliveries); 24 journal entries written\n`,
    );
  });

  it('usage arriving after its summary was written is added by a second upsert of the same external id, never a second entry', async () => {
    const before = journalsOf(VOLUME).find((j) => j.externalId.includes('esign_basic-202603041000'))!;
    const revenueBefore = sumLines(before.lines, '400', 'credit');
    await h.ingest(
      usage(
        VOLUME,
        wallet(`${VOLUME}-w0`, `${VOLUME}-owner0`),
        12_345n,
        'esign.basic',
        0n,
        '2026-03-04T10:45:00Z',
      ),
    );
    await syncAll(VOLUME);
    const after = journalsOf(VOLUME).find((j) => j.externalId === before.externalId)!;
    expect(after.id).toBe(before.id);
    expect(after.writes).toBe(2);
    expect(sumLines(after.lines, '400', 'credit')).toBe(revenueBefore + 12_345n);
    expect(journalsOf(VOLUME)).toHaveLength(24);
  });
});

describe('a 429 storm', () => {
  it('is ridden out without losing anything and without exceeding the configured concurrency', async () => {
    const events = Array.from({ length: 60 }, (_, i) =>
      topUp(STORM, wallet(`${STORM}-w${i}`), BigInt(1_000 + i)),
    ).flat();
    await h.ingest(events);
    const netsuite = h.standins.netsuite;
    netsuite.setLatency(25);
    netsuite.resetCounters();
    netsuite.throttleNext(25, 1); // 25 answers of 429 with Retry-After: 1
    try {
      await syncAll(STORM);
    } finally {
      netsuite.setLatency(0);
    }
    const journals = journalsOf(STORM);
    expect(journals).toHaveLength(60);
    expect(journals.every((j) => j.writes === 1)).toBe(true);
    expect(netsuite.counters.throttled).toBeGreaterThanOrEqual(25);
    expect(netsuite.counters.maxInFlight).toBeLessThanOrEqual(3);
    expect(h.connectors.limiters.netsuite!.stats().maxInFlightSeen).toBeLessThanOrEqual(3);
    const states = await rows<{ state: string; n: string; throttled: string }>(
      h.db,
      `SELECT state, count(*)::text AS n, sum(throttled)::text AS throttled FROM erp_sync.sync_records WHERE tenant_id = $1 GROUP BY state`,
      [STORM],
    );
    expect(states).toEqual([{ state: 'synced', n: '60', throttled: expect.any(String) }]);
    expect(Number(states[0]!.throttled)).toBeGreaterThanOrEqual(1);
  });
});

describe('dead letters', () => {
  it('a journal NetSuite refuses is dead with its reason, listed, and synced once replayed after the fix', async () => {
    await h.ingest(usage(DEAD, wallet(`${DEAD}-w`), 500n, 'esign.basic', 0n, '2026-03-04T10:00:00Z'));
    await syncAll(DEAD);
    const [record] = await rows<{ id: string; state: string; dead_reason: string }>(
      h.db,
      `SELECT id::text, state, dead_reason FROM erp_sync.sync_records WHERE tenant_id = $1`,
      [DEAD],
    );
    expect(record).toMatchObject({
      state: 'dead',
      dead_reason: expect.stringContaining('INVALID_KEY_OR_REF at line.items[1].account'),
    });
    expect(journalsOf(DEAD)).toHaveLength(0);

    const list = cli(['dead-letters', 'list'], h.env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`${record!.id}\tnetsuite\tsaldo-${DEAD}-usage-IDR-esign_basic-`);
    expect(list.stdout).toContain('Invalid account reference key 999');

    h.standins.netsuite.addAccount('999'); // finance creates the account in NetSuite
    const replay = cli(['replay', record!.id], h.env);
    expect(replay.stderr).toBe('');
    expect(replay.code).toBe(0);
    await syncAll(DEAD);
    const [after] = await rows<{ state: string; external_id: string }>(
      h.db,
      `SELECT state, external_id FROM erp_sync.sync_records WHERE id = $1`,
      [record!.id],
    );
    expect(after).toEqual({ state: 'synced', external_id: String(journalsOf(DEAD)[0]!.id) });
    expect(cli(['replay', record!.id], h.env).stderr).toContain('is synced, not dead');
  });

  it('an event of an unconfigured tenant is dead as unmappable and recorded once the configuration has it', async () => {
    await h.ingest(topUp(GHOST, wallet(`${GHOST}-w`), 777n));
    const [record] = await rows<{ id: string; dead_reason: string }>(
      h.db,
      `SELECT id::text, dead_reason FROM erp_sync.sync_records WHERE tenant_id = $1 AND connector = 'mapping'`,
      [GHOST],
    );
    expect(record!.dead_reason).toContain(`tenant "${GHOST}" has no accounting configuration`);
    expect(cli(['replay', record!.id], h.env).stderr).toContain('still unmappable');
    const fixed = {
      ...h.env,
      ERP_SYNC_TENANTS_JSON: JSON.stringify({ ...tenants, ...tenantsConfig(GHOST) }),
    };
    expect(cli(['replay', record!.id], fixed)).toMatchObject({
      code: 0,
      stdout: expect.stringContaining(`saldo-${GHOST}-tx-`),
    });
    await syncAll(GHOST);
    expect(journalsOf(GHOST)).toHaveLength(1);
    expect(sumLines(journalsOf(GHOST)[0]!.lines, '100', 'debit')).toBe(777n);
  });
});

describe('CRM balances', () => {
  it('coalesce per customer: only the newest balance is sent, to Zendesk and ActiveCampaign, whatever the arrival order', async () => {
    const wallets = [0, 1, 2].map((i) => wallet(`${CRM}-w${i}`, `${CRM}-owner${i}`));
    const events: Array<Record<string, unknown>> = [];
    for (const w of wallets) {
      events.push(...topUp(CRM, w, 100_000n));
      for (let i = 0; i < 30; i += 1) events.push(...usage(CRM, w, 1_000n, 'esign.basic'));
    }
    events.push(...transfer(CRM, wallets[0]!, wallets[1]!, 5_000n));
    // Out of order across wallets and within one (a redelivery after newer events): versions decide.
    const shuffled = [...events.slice(40), ...events.slice(0, 40)];
    await h.ingest(shuffled);
    await syncAll(CRM);
    const expectBalance = {
      [`${CRM}-owner0`]: '65000',
      [`${CRM}-owner1`]: '75000',
      [`${CRM}-owner2`]: '70000',
    };
    for (const [owner, balance] of Object.entries(expectBalance)) {
      const user = h.standins.zendesk.users.get(`x:${owner}`)!;
      expect(user.user_fields).toMatchObject({
        saldo_balance: balance,
        saldo_currency: 'IDR',
        saldo_last_usage_at: expect.any(String),
      });
      expect(user.writes).toBe(1);
      const contact = h.standins.activecampaign.contacts.get(`${owner}@customers.example.com`)!;
      expect(contact.fieldValues['1']).toBe(balance);
      expect(contact.writes).toBe(1);
    }
    expect(wallets.map((w) => w.balance.toString())).toEqual(['65000', '75000', '70000']);
  });
});
