// The hub's orchestration on BullMQ (the local Redis) and its HTTP operator API: scheduled and
// on-demand flows (schema → read → write back) shared by two workers, a 429 and 5xx storm ridden
// out, and the console's routes with their auth and error shapes.
import { createLogger } from '@saldo/logging';
import { waitFor } from '@saldo/test-support';
import { createHmac, randomBytes } from 'node:crypto';
import { startWebhookServer } from '../src/webhooks/webhook-server';
import { HubApi } from '../src/hub/hub-api';
import { HubJobs } from '../src/hub/hub-jobs';
import type { HubService } from '../src/hub/hub-service';
import type { HubStore } from '../src/hub/hub-store';
import type { HubEngine } from '../src/hub/hub-engine';
import { defaultMapping } from '../src/hub/mapping';
import { createHub } from '../src/runtime';
import { tenantsConfig } from './event-fixtures';
import { startSyncHarness, type SyncHarness } from './sync-harness';

jest.setTimeout(120_000);

const tag = randomBytes(3).toString('hex');
const A = `hubjobs-a-${tag}`;
const B = `hubjobs-b-${tag}`;
const QUEUE = `saldo-hub-test-${tag}`;
const REDIS = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const TOKEN = randomBytes(24).toString('hex');
let h: SyncHarness;
let hub: { service: HubService; engine: HubEngine; store: HubStore };
const jobs: HubJobs[] = [];
let api: HubApi;

beforeAll(async () => {
  h = await startSyncHarness(
    'erp_sync_hub_jobs',
    { ...tenantsConfig(A), ...tenantsConfig(B) },
    {
      ZENDESK_MIN_INTERVAL_MS: '20',
      ERP_SYNC_BULK_POLL_MS: '20',
    },
  );
  h.standins.zendesk.setExportRate(6_000, 100);
  h.standins.zendesk.jobDelayMs = 5;
  h.standins.activecampaign.importDelayMs = 5;
  hub = createHub(h.config, h.db, h.connectors, createLogger('hub-jobs-test', 'silent'));
  for (const tenant of [A, B]) {
    // The tenants share the vendor accounts: each one's records are marked (subsidiary, a user field).
    const scoped = {
      ...defaultMapping(),
      scope: {
        netsuite: { field: 'subsidiary', equals: tenant },
        zendesk: { field: 'user_fields.saldo_tenant', equals: tenant },
      },
    };
    await hub.service.saveMapping(tenant, scoped, 'test', null);
    for (let i = 0; i < 10; i += 1) {
      const owner = `${tenant}-c${i}`;
      h.standins.netsuite.editCustomer(
        { externalId: owner },
        {
          companyName: `Firm ${tenant} ${i}`,
          email: `${owner}@firm${i}.test`,
          phone: '',
          subsidiary: tenant,
        },
      );
      h.standins.zendesk.editUser(owner, {
        name: `Firm ${tenant} ${i}`,
        email: `${owner}@firm${i}.test`,
        user_fields: { saldo_tier: 'pro', saldo_tenant: tenant },
      });
    }
  }
  api = await new HubApi(hub.service, TOKEN, createLogger('hub-api-test', 'silent')).listen(0, '127.0.0.1');
});

afterAll(async () => {
  await api?.close();
  if (jobs[0]) await jobs[0].queue.obliterate({ force: true }).catch(() => undefined);
  for (const j of jobs) await j.stop();
  await h?.stop();
});

function worker(concurrency: number): HubJobs {
  const j = new HubJobs(
    hub.engine,
    hub.store,
    { redisUrl: REDIS, queueName: QUEUE, concurrency, everyMs: {} },
    createLogger('hub-jobs', 'silent'),
  );
  jobs.push(j);
  return j;
}

describe('orchestration on BullMQ', () => {
  it('a flow schema → read → write back runs through the queue, shared by two workers, through a 429 and 5xx storm', async () => {
    const [w1, w2] = [worker(1), worker(1)];
    h.standins.zendesk.throttleNext(6, 1);
    const flows = await Promise.all(
      [A, B].flatMap((t) => (['netsuite', 'zendesk'] as const).map((c) => w1.enqueue(t, c))),
    );
    expect(flows).toHaveLength(4);
    // Four schema steps wait; two workers of one slot each both take some.
    await w1.start();
    await w2.start();
    await waitFor(async () => w1.stats.completed + w2.stats.completed === 12, {
      timeoutMs: 90_000,
      intervalMs: 200,
      what: 'twelve steps (four flows of three) completed',
    });
    expect(w1.stats.completed + w2.stats.completed).toBe(12);
    expect(w1.stats.completed).toBeGreaterThan(0);
    expect(w2.stats.completed).toBeGreaterThan(0);
    expect(h.standins.zendesk.counters.throttled).toBeGreaterThanOrEqual(6);
    for (const t of [A, B]) {
      const c = await hub.service.customer(t, `${t}-c3`);
      expect(c?.links.map((l) => l.connector).sort()).toEqual(['netsuite', 'zendesk']);
      expect(c?.fields['tier']?.value).toBe('pro');
    }
    // "sync now" through the queue waits for the last step's result.
    h.standins.zendesk.editUser(`${A}-c1`, { name: 'Firm renamed' });
    const result = (await w1.runNow(A, 'zendesk')) as Array<{ connector: string; written: number }>;
    expect(Array.isArray(result)).toBe(true);
    expect((await hub.service.customer(A, `${A}-c1`))?.fields['name']?.value).toBe('Firm renamed');
  });
});

describe('webhooks', () => {
  it('a verified Zendesk webhook makes the hub read Zendesk now; a forged one changes nothing', async () => {
    const w = jobs[0]!;
    const secret = randomBytes(24).toString('base64');
    const server = await startWebhookServer(
      {
        host: '127.0.0.1',
        port: 0,
        toleranceS: 300,
        zendeskSecret: secret,
        onZendeskEvent: () => void w.poke('zendesk', 1_000),
      },
      undefined,
      createLogger('hub-webhook-test', 'silent'),
    );
    try {
      const event = JSON.stringify({ type: 'zen:event-type:user.updated', detail: { id: '1' } });
      const post = (key: string) => {
        const at = new Date().toISOString();
        return fetch(`${server.url}/webhooks/zendesk`, {
          method: 'POST',
          headers: {
            'x-zendesk-webhook-signature': createHmac('sha256', key)
              .update(at + event)
              .digest('base64'),
            'x-zendesk-webhook-signature-timestamp': at,
          },
          body: event,
        });
      };
      h.standins.zendesk.editUser(`${B}-c2`, { name: 'Changed in Zendesk' });
      expect((await post('forged-secret-forged-secret')).status).toBe(401);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect((await hub.service.customer(B, `${B}-c2`))?.fields['name']?.value).toBe(`Firm ${B} 2`);
      expect((await post(secret)).status).toBe(204);
      await waitFor(
        async () =>
          (await hub.service.customer(B, `${B}-c2`))?.fields['name']?.value === 'Changed in Zendesk',
        {
          timeoutMs: 60_000,
          intervalMs: 200,
          what: 'the webhook-triggered read',
        },
      );
    } finally {
      await server.close();
    }
  });
});

describe('operator API (for the console)', () => {
  const call = (method: string, path: string, body?: unknown, token = TOKEN) =>
    fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, unknown> & unknown[],
    }));

  it('refuses a missing or wrong token', async () => {
    expect((await call('GET', '/hub/v1/status', undefined, 'nope')).status).toBe(401);
  });

  it('mappings, versions, preview, suggestions, review queue, quarantine, status', async () => {
    const versions = await call('GET', `/hub/v1/tenants/${A}/mappings`);
    expect(versions.status).toBe(200);
    expect(versions.body[0]).toMatchObject({ version: 1, author: 'test' });
    const bad = structuredClone(defaultMapping()) as unknown as {
      fields: Record<string, { sources: Record<string, { field: string }> }>;
    };
    bad.fields['email']!.sources['netsuite']!.field = 'e_mail';
    const refused = await call('POST', `/hub/v1/tenants/${A}/mappings`, {
      mapping: bad,
      author: 'console-user',
    });
    expect(refused).toEqual({
      status: 422,
      body: {
        error: 'INVALID_MAPPING',
        problems: ['email.sources.netsuite.field: netsuite has no field "e_mail"'],
      },
    });
    const good = structuredClone((await hub.service.showMapping(A)).mapping);
    good.conflicts.skewToleranceMs = 3_000;
    const saved = await call('POST', `/hub/v1/tenants/${A}/mappings`, {
      mapping: good,
      author: 'console-user',
      comment: 'skew 3 s',
    });
    expect(saved.status).toBe(201);
    expect(saved.body).toMatchObject({ version: 2 });
    expect((await call('GET', `/hub/v1/tenants/${A}/mappings/diff?from=1&to=2`)).body).toEqual({
      lines: ['~ conflicts.skewToleranceMs: 2000 → 3000'],
    });
    expect(
      (await call('POST', `/hub/v1/tenants/${A}/mappings/1/restore`, { by: 'console-user' })).body,
    ).toEqual({ version: 3 });
    expect((await call('GET', `/hub/v1/tenants/${A}/mappings/active`)).body).toMatchObject({
      version: 3,
      restoredFrom: 1,
    });
    const customer = await call('GET', `/hub/v1/tenants/${A}/customers/${A}-c2`);
    const zendeskId = (
      customer.body as unknown as { links: Array<{ connector: string; externalId: string }> }
    ).links.find((l) => l.connector === 'zendesk')!.externalId;
    const draft = structuredClone(defaultMapping());
    draft.fields['name']!.sources.zendesk!.transforms = ['upper'];
    const preview = await call('POST', `/hub/v1/tenants/${A}/preview`, {
      connector: 'zendesk',
      externalId: zendeskId,
      mapping: draft,
    });
    expect(preview.body).toMatchObject({
      before: { name: `Firm ${A} 2` },
      after: { name: `FIRM ${A.toUpperCase()} 2` },
      problems: [],
    });
    const suggestions = await call('GET', `/hub/v1/tenants/${A}/suggestions?connector=zendesk&to=netsuite`);
    expect(suggestions.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ from: 'email', to: 'email' })]),
    );
    expect((await call('GET', `/hub/v1/reviews?tenant=${A}`)).body).toEqual([]);
    expect((await call('GET', `/hub/v1/quarantine?tenant=${A}`)).body).toEqual([]);
    expect((await call('POST', '/hub/v1/reviews/999999/merge', {})).status).toBe(404);
    const status = await call('GET', `/hub/v1/status?tenant=${A}`);
    // Only tenant A's ten customers: B's records in the shared accounts are out of its scope.
    expect(status.body).toMatchObject({ customers: { active: 10 }, paused: [], quarantined: 0 });
    expect((await call('GET', '/hub/v1/nothing')).status).toBe(404);
  });
});
