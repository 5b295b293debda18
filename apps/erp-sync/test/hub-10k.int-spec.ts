// The integration hub's initial sync at volume: 10,000 customers spread over NetSuite, Zendesk and
// ActiveCampaign (overlaps, conflicts, duplicates, near duplicates, broken records), read within
// the stand-ins' real rate limits through a 429 and 5xx storm, ending in the expected golden
// records with every vendor record synced or in a named state (quarantined, in review).
import { createLogger } from '@saldo/logging';
import { seedHubScenario, type HubScenario } from '@saldo/vendor-standins';
import { randomBytes } from 'node:crypto';
import type { ConnectorReport, HubEngine } from '../src/hub/hub-engine';
import type { HubService } from '../src/hub/hub-service';
import { defaultMapping } from '../src/hub/mapping';
import { createHub } from '../src/runtime';
import { tenantsConfig } from './event-fixtures';
import { rows, startSyncHarness, type SyncHarness } from './sync-harness';

jest.setTimeout(600_000);

const CUSTOMERS = Number(process.env['HUB_TEST_CUSTOMERS'] ?? 10_000);
const tag = randomBytes(3).toString('hex');
const T = `hub10k-${tag}`;
let h: SyncHarness;
let hub: HubService;
let engine: HubEngine;
let scenario: HubScenario;

beforeAll(async () => {
  // erp-sync's production pacing (Zendesk one request a second, ActiveCampaign five) and the
  // stand-ins' limits (Zendesk's incremental export ten a minute).
  h = await startSyncHarness('erp_sync_hub_10k', tenantsConfig(T), {
    ZENDESK_MIN_INTERVAL_MS: '1000',
    ACTIVECAMPAIGN_MIN_INTERVAL_MS: '200',
    ERP_SYNC_HUB_PAGE_SIZE: '1000',
    ERP_SYNC_HUB_MAX_PAGES: '1000',
  });
  const created = createHub(h.config, h.db, h.connectors, createLogger('hub-10k', 'silent'));
  hub = created.service;
  engine = created.engine;
  await hub.saveMapping(T, defaultMapping(), 'test', 'initial');
  scenario = seedHubScenario(h.standins, T, CUSTOMERS, Math.ceil(Date.now() / 1000) * 1000 + 60_000);
});

afterAll(async () => {
  await h?.stop();
});

it(`initial sync of ${CUSTOMERS} customers across three systems ends in the golden records`, async () => {
  h.standins.activecampaign.throttleNext(6, 1);
  h.standins.zendesk.failNext(3, 503);
  h.standins.netsuite.failNext(2, 500);
  const started = Date.now();
  // The initial sync: read and resolve everything (write-back is proved in hub.int-spec at 1,000 round trips).
  const reports = (await engine.run(T, undefined, { writeBack: false })) as ConnectorReport[];
  const seconds = (Date.now() - started) / 1000;
  const by = Object.fromEntries(reports.map((r) => [r.connector, r]));
  for (const r of reports) expect(r.error).toBeUndefined();
  expect(by['netsuite']!.read).toBe(scenario.records.netsuite);
  expect(by['zendesk']!.read).toBe(scenario.records.zendesk);
  expect(by['activecampaign']!.read).toBe(scenario.records.activecampaign);
  expect(by['zendesk']!.autoMerged).toBe(scenario.expected.autoMerged);
  expect(by['activecampaign']!.queuedForReview).toBe(scenario.expected.reviews);
  expect(by['activecampaign']!.quarantined).toBe(scenario.expected.quarantined);
  // Within the vendors' limits: the storm was answered with 429s and 5xx, and ridden out.
  expect(h.standins.activecampaign.counters.throttled).toBeGreaterThanOrEqual(6);
  // Golden records, by e-mail.
  const values = await rows<{ customer_id: string; field: string; value: string | null }>(
    h.db,
    `SELECT f.customer_id, f.field, f.value FROM hub.field_values f
       JOIN hub.customers c USING (tenant_id, customer_id)
      WHERE f.tenant_id = $1 AND c.state = 'active'`,
    [T],
  );
  const byCustomer = new Map<string, Record<string, string | null>>();
  for (const v of values)
    byCustomer.set(v.customer_id, { ...byCustomer.get(v.customer_id), [v.field]: v.value });
  const byEmail = new Map([...byCustomer.values()].map((f) => [f['email'] ?? '', f]));
  expect(byCustomer.size).toBe(scenario.golden.size);
  let mismatches = 0;
  const examples: string[] = [];
  for (const [email, want] of scenario.golden) {
    const got = byEmail.get(email);
    const same =
      got &&
      got['name'] === want.name &&
      (got['phone'] ?? null) === want.phone &&
      (got['tier'] ?? null) === want.tier &&
      (got['company'] ?? null) === want.company;
    if (!same) {
      mismatches += 1;
      if (examples.length < 5)
        examples.push(`${email}: want ${JSON.stringify(want)} got ${JSON.stringify(got)}`);
    }
  }
  expect(examples).toEqual([]);
  expect(mismatches).toBe(0);
  // Every vendor record is synced (linked) or in a named state.
  const [linked] = await rows<{ n: string }>(
    h.db,
    `SELECT count(*)::text AS n FROM hub.links WHERE tenant_id = $1`,
    [T],
  );
  const total = scenario.records.netsuite + scenario.records.zendesk + scenario.records.activecampaign;
  expect(Number(linked!.n) + scenario.expected.quarantined).toBe(total);
  const inReview = scenario.expected.reviews;
  const reliability = (Number(linked!.n) - inReview) / total;
  process.stdout.write(
    `hub 10k: ${total} records in ${seconds.toFixed(1)} s; ` +
      reports
        .map(
          (r) =>
            `${r.connector} ${r.read} in ${(r.readMs / 1000).toFixed(1)} s (${Math.round((r.read * 1000) / Math.max(1, r.readMs))}/s)`,
        )
        .join(', ') +
      `; synced without a person ${(reliability * 100).toFixed(2)} % (quarantined ${scenario.expected.quarantined}, in review ${inReview})\n`,
  );
});
