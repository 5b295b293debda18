// Issue 10 part 5 on erp-sync's side: a batch of ledger events is stored with a constant number of
// multi-row statements, and CRM balances go out through the vendors' bulk endpoints (Zendesk
// create_or_update_many + job_statuses, ActiveCampaign bulk_import + import/info) within the
// stand-ins' real rate limits (Zendesk 1 request/s, ActiveCampaign 5/s).
import { waitFor } from '@saldo/test-support';
import { randomBytes } from 'node:crypto';
import { tenantsConfig, topUp, transfer, usage, wallet } from './event-fixtures';
import { rows, startSyncHarness, type SyncHarness } from './sync-harness';

jest.setTimeout(120_000);

const tag = randomBytes(3).toString('hex');
const BULK = `bulk-${tag}`;
const BAD = `badmail-${tag}`;
const tenants = { ...tenantsConfig(BULK, { crm: true }), ...tenantsConfig(BAD, { crm: true }) };

let h: SyncHarness;

beforeAll(async () => {
  // The vendors' own pacing: Zendesk at most one request a second (erp-sync's default interval).
  h = await startSyncHarness('erp_sync_bulk', tenants, { ZENDESK_MIN_INTERVAL_MS: '1000' });
});

afterAll(async () => {
  await h?.stop();
});

async function settled(tenant: string, timeoutMs: number): Promise<void> {
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
}

describe('ingest with multi-row statements', () => {
  it('stores a 500-event batch (top-ups, usage, transfers, a duplicate) exactly as one event at a time would', async () => {
    const wallets = Array.from({ length: 50 }, (_, i) => wallet(`${BULK}-m${i}`, `${BULK}-m-owner${i}`));
    const events: Array<Record<string, unknown>> = [];
    for (const w of wallets) events.push(...topUp(BULK, w, 50_000n));
    for (let i = 0; i < 300; i += 1) events.push(...usage(BULK, wallets[i % 50]!, 100n, 'esign.basic'));
    for (let i = 0; i < 49; i += 1) events.push(...transfer(BULK, wallets[i]!, wallets[i + 1]!, 10n));
    events.push(events[0]!); // a redelivery inside the batch
    const before = Date.now();
    const result = await h.ingest(events);
    const ingestMs = Date.now() - before;
    expect(result).toEqual({ fresh: events.length - 1, duplicates: 1 });
    // Transfers arrive once per wallet and are accounted once; lines net to zero per journal.
    const [tx] = await rows<{ n: string }>(
      h.db,
      `SELECT count(*)::text AS n FROM erp_sync.accounted_transactions WHERE tenant_id = $1`,
      [BULK],
    );
    expect(tx!.n).toBe(String(50 + 300 + 49));
    const unbalanced = await rows(
      h.db,
      `SELECT external_id FROM erp_sync.journal_lines WHERE tenant_id = $1
        GROUP BY external_id HAVING sum(debit_minor) <> sum(credit_minor)`,
      [BULK],
    );
    expect(unbalanced).toEqual([]);
    // One summary journal for all the usage of the period, one journal per top-up and transfer.
    const [journals] = await rows<{ n: string }>(
      h.db,
      `SELECT count(*)::text AS n FROM erp_sync.journals WHERE tenant_id = $1`,
      [BULK],
    );
    expect(Number(journals!.n)).toBeGreaterThanOrEqual(50 + 49 + 1);
    // The newest balance of every wallet, one CRM record per wallet and vendor.
    const balances = await rows<{ record_key: string; balance: string }>(
      h.db,
      `SELECT record_key, payload->>'postedBalanceMinor' AS balance FROM erp_sync.sync_records
        WHERE tenant_id = $1 AND connector = 'zendesk' ORDER BY record_key`,
      [BULK],
    );
    expect(balances).toHaveLength(50);
    const expected = new Map(wallets.map((w) => [`${BULK}:${w.walletId}`, w.balance.toString()]));
    for (const b of balances) expect(b.balance).toBe(expected.get(b.record_key));
    process.stdout.write(`ingest: ${events.length} events in ${ingestMs} ms\n`);
    h.worker.start(); // leave nothing pending for the next test

    await settled(BULK, 60_000);
    await h.worker.stop();
  });

  it('after 200 wallets are opened, every contact reaches Zendesk and ActiveCampaign within seconds, by bulk requests', async () => {
    const wallets = Array.from({ length: 200 }, (_, i) => wallet(`${BULK}-w${i}`, `${BULK}-owner${i}`));
    const events = wallets.flatMap((w) => topUp(BULK, w, 10_000n + BigInt(wallets.indexOf(w))));
    await h.ingest(events);
    h.standins.zendesk.resetCounters();
    h.standins.activecampaign.resetCounters();
    const started = Date.now();
    h.worker.start();
    await settled(BULK, 60_000);
    await h.worker.stop();
    const seconds = (Date.now() - started) / 1000;
    for (const [i, w] of wallets.entries()) {
      const user = h.standins.zendesk.users.get(`x:${w.ownerId}`);
      expect(user?.user_fields['saldo_balance']).toBe(String(10_000 + i));
      const contact = h.standins.activecampaign.contacts.get(`${w.ownerId}@customers.example.com`);
      expect(contact?.fieldValues['1']).toBe(String(10_000 + i));
    }
    const zendeskRequests = h.standins.zendesk.counters.requests;
    const acRequests = h.standins.activecampaign.counters.requests;
    process.stdout.write(
      `crm bulk: 200 wallets to Zendesk and ActiveCampaign in ${seconds.toFixed(1)} s (${(200 / seconds).toFixed(0)} contacts/s per vendor); requests Zendesk ${zendeskRequests}, ActiveCampaign ${acRequests}\n`,
    );
    // Two bulk requests to Zendesk plus their job polls; one import to ActiveCampaign plus polls.
    expect(zendeskRequests).toBeLessThanOrEqual(12);
    expect(acRequests).toBeLessThanOrEqual(10);
    expect(seconds).toBeLessThan(20); // one request a second: 200 single writes would take 200 s
    const [synced] = await rows<{ n: string }>(
      h.db,
      `SELECT count(*)::text AS n FROM erp_sync.sync_records
        WHERE tenant_id = $1 AND kind = 'crm_balance' AND state = 'synced' AND external_id IS NOT NULL`,
      [BULK],
    );
    expect(synced!.n).toBe(String(2 * 250));
    // The audit keeps the bulk request with its job / batch id.
    const audit = await rows<{ path: string; external_id: string | null }>(
      h.db,
      `SELECT path, external_id FROM erp_sync.external_writes
        WHERE path IN ('/api/v2/users/create_or_update_many', '/api/3/import/bulk_import') ORDER BY id DESC LIMIT 3`,
    );
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.every((a) => a.external_id)).toBe(true);
  });

  it('a record the vendor refuses inside a bulk request is dead with the reason; its neighbours are synced', async () => {
    const good = [0, 1, 2].map((i) => wallet(`${BAD}-w${i}`, `${BAD}-owner${i}`));
    const bad = wallet(`${BAD}-bad`, `no such@mailbox`);
    await h.ingest([...good, bad].flatMap((w) => topUp(BAD, w, 500n)));
    h.worker.start();
    await settled(BAD, 30_000);
    await h.worker.stop();
    const states = await rows<{
      connector: string;
      record_key: string;
      state: string;
      dead_reason: string | null;
    }>(
      h.db,
      `SELECT connector, record_key, state, dead_reason FROM erp_sync.sync_records
        WHERE tenant_id = $1 ORDER BY connector, record_key`,
      [BAD],
    );
    const ac = states.filter((s) => s.connector === 'activecampaign');
    expect(ac.filter((s) => s.state === 'synced')).toHaveLength(3);
    const dead = ac.find((s) => s.record_key === `${BAD}:${bad.walletId}`)!;
    expect(dead.state).toBe('dead');
    expect(dead.dead_reason).toContain('refused no such@mailbox@customers.example.com');
    // Zendesk takes the owner as external_id: all four are there.
    expect(states.filter((s) => s.connector === 'zendesk' && s.state === 'synced')).toHaveLength(4);
  });
});
