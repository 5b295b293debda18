// The integration hub against the real PostgreSQL and the vendor stand-ins: the initial sync from
// NetSuite, Zendesk and ActiveCampaign into golden records, every conflict rule with its audit,
// quarantine, duplicates (automatic merge and review), schema drift pausing one field, write-back
// without echo loops, mapping versions, and the operator commands through the built CLI.
import { createLogger } from '@saldo/logging';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { HubEngine } from '../src/hub/hub-engine';
import type { HubService } from '../src/hub/hub-service';
import { defaultMapping, MappingError } from '../src/hub/mapping';
import { createHub } from '../src/runtime';
import { tenantsConfig } from './event-fixtures';
import { spawnSync } from 'node:child_process';
import { cliAsync, ROOT, rows, startSyncHarness, type SyncHarness } from './sync-harness';

jest.setTimeout(180_000);

const tag = randomBytes(3).toString('hex');
const T = `hub-${tag}`;
let h: SyncHarness;
let hub: HubService;
let engine: HubEngine;
// Vendor modification times a little ahead of the real clock (the stand-ins' clocks only move forward).
const T0 = Math.ceil(Date.now() / 1000) * 1000 + 60_000;
const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace(/\.000Z$/, 'Z');
const nsAt = (s: number) => at(s).slice(0, 19).replace('T', ' ');

beforeAll(async () => {
  h = await startSyncHarness('erp_sync_hub', tenantsConfig(T), {
    ZENDESK_MIN_INTERVAL_MS: '50',
    ERP_SYNC_HUB_PAGE_SIZE: '25',
    ERP_SYNC_BULK_POLL_MS: '20',
  });
  h.standins.zendesk.setExportRate(6_000, 100);
  h.standins.zendesk.jobDelayMs = 5;
  h.standins.activecampaign.importDelayMs = 5;
  const created = createHub(h.config, h.db, h.connectors, createLogger('hub-test', 'silent'));
  hub = created.service;
  engine = created.engine;
});

afterAll(async () => {
  await h?.stop();
});

const customer = (id: string) => hub.customer(T, id);
const value = async (id: string, field: string) => (await customer(id))?.fields[field]?.value ?? null;

describe('mapping versions', () => {
  it('are validated against each system, stored per version, diffed and restored', async () => {
    const bad = structuredClone(defaultMapping()) as unknown as {
      fields: Record<string, { sources: Record<string, { field: string }> }>;
    };
    bad.fields['phone']!.sources['zendesk']!.field = 'mobile_phone';
    await expect(hub.saveMapping(T, bad, 'alice', 'typo')).rejects.toThrow(MappingError);
    await expect(hub.saveMapping(T, bad, 'alice', 'typo')).rejects.toThrow(
      'zendesk has no field "mobile_phone"',
    );
    expect((await hub.saveMapping(T, defaultMapping(), 'alice', 'first')).version).toBe(1);
    const v2 = structuredClone(defaultMapping());
    v2.conflicts.skewToleranceMs = 5_000;
    expect((await hub.saveMapping(T, v2, 'bob', 'wider skew')).version).toBe(2);
    expect(await hub.diff(T, 1, 2)).toEqual(['~ conflicts.skewToleranceMs: 2000 → 5000']);
    expect(await hub.restore(T, 1, 'carol')).toEqual({ version: 3 });
    const active = await hub.showMapping(T);
    expect(active).toMatchObject({ version: 3, author: 'carol', restoredFrom: 1 });
    expect(active.mapping.conflicts.skewToleranceMs).toBe(2_000);
    // Append-only: a stored version cannot be changed.
    await expect(
      h.db.query(`UPDATE hub.mapping_versions SET author = 'mallory' WHERE tenant_id = $1`, [T]),
    ).rejects.toThrow('append-only');
  });
});

describe('initial sync and conflict rules', () => {
  it('builds golden records from all three systems, linked by owner id and e-mail, over several pages', async () => {
    for (let i = 0; i < 60; i += 1) {
      const owner = `${T}-c${i}`;
      const email = `c${i}@acme-${i}.test`;
      h.standins.netsuite.editCustomer(
        { externalId: owner },
        {
          companyName: `Customer ${i}`,
          email,
          phone: `0812000${String(i).padStart(4, '0')}`,
          custentity_saldo_tier: 'pro',
        },
        nsAt(0),
      );
      h.standins.zendesk.editUser(
        owner,
        { name: `Customer ${i}`, email, phone: null, user_fields: { company: 'Acme' } },
        at(1),
      );
      h.standins.activecampaign.editContact(
        email,
        {
          firstName: 'Customer',
          lastName: String(i),
          phone: '',
          fieldValues: { '4': 'PRO', '5': `Acme Holdings ${i}` },
        },
        at(2),
      );
    }
    const reports = (await hub.syncNow(T))!;
    expect(reports.map((r) => [r.connector, r.read, r.quarantined, r.error])).toEqual([
      ['netsuite', 60, 0, undefined],
      ['zendesk', 60, 0, undefined],
      ['activecampaign', 60, 0, undefined],
    ]);
    const c7 = (await customer(`${T}-c7`))!;
    expect(c7.links.map((l) => l.connector).sort()).toEqual(['activecampaign', 'netsuite', 'zendesk']);
    expect(c7.fields['email']).toMatchObject({ value: 'c7@acme-7.test', source: 'netsuite' });
    expect(c7.fields['phone']).toMatchObject({ value: '+628120000007', source: 'netsuite' });
    expect(c7.fields['tier']).toMatchObject({ value: 'pro' });
    // custom:longest — "Acme Holdings 7" (ActiveCampaign) beats "Acme" (Zendesk)
    expect(c7.fields['company']).toMatchObject({ value: 'Acme Holdings 7', source: 'activecampaign' });
    // enrichment: country from the phone's calling code, company domain from the e-mail
    expect(c7.fields['country']).toMatchObject({ value: 'ID', source: 'hub' });
    expect(c7.fields['company_domain']).toMatchObject({ value: 'acme-7.test', source: 'hub' });
    const [counts] = await rows<{ n: string }>(
      h.db,
      `SELECT count(*)::text AS n FROM hub.customers WHERE tenant_id = $1`,
      [T],
    );
    expect(counts!.n).toBe('60');
    const status = await hub.status(T);
    expect(status.cursors.every((c) => c.initialDone)).toBe(true);
    // The name reached ActiveCampaign split in two, and NetSuite's phone reached Zendesk (write-back).
    expect(h.standins.zendesk.users.get(`x:${T}-c7`)!.phone).toBe('+628120000007');
  });

  it('last write wins by modification time; within the skew tolerance source priority decides; both audited', async () => {
    const id = `${T}-c1`;
    h.standins.zendesk.editUser(id, { phone: '+6281111111' }, at(100));
    h.standins.netsuite.editCustomer({ externalId: id }, { phone: '+6282222222' }, nsAt(110));
    const id2 = `${T}-c2`;
    h.standins.zendesk.editUser(id2, { phone: '+6283333333' }, at(201)); // 1 s after NetSuite: a tie
    h.standins.netsuite.editCustomer({ externalId: id2 }, { phone: '+6284444444' }, nsAt(200));
    await hub.syncNow(T);
    expect(await value(id, 'phone')).toBe('+6282222222');
    expect(await value(id2, 'phone')).toBe('+6284444444'); // NetSuite first in priority
    const [lww] = await hub.conflicts(T, id);
    expect(lww).toMatchObject({
      field: 'phone',
      rule: 'lww',
      winner: { source: 'netsuite', value: '+6282222222' },
    });
    expect(lww!.explanation).toContain('last write wins');
    const [tie] = await hub.conflicts(T, id2);
    expect(tie!.explanation).toContain('within the 2000 ms clock-skew tolerance');
    expect(tie!.winner).toMatchObject({ source: 'netsuite' });
    // The losing systems now hold the winner (written back), and nothing comes back as a change.
    expect(h.standins.zendesk.users.get(`x:${id}`)!.phone).toBe('+6282222222');
    const again = (await hub.syncNow(T))!;
    expect(again.reduce((n, r) => n + r.decisions + r.written, 0)).toBe(0);
  });

  it('source priority: NetSuite’s tier wins over a newer ActiveCampaign edit; the field rule is recorded', async () => {
    const id = `${T}-c3`;
    h.standins.activecampaign.editContact('c3@acme-3.test', { fieldValues: { '4': 'enterprise' } }, at(400));
    h.standins.netsuite.editCustomer({ externalId: id }, { custentity_saldo_tier: 'free' }, nsAt(300));
    await hub.syncNow(T);
    expect(await value(id, 'tier')).toBe('free');
    const decisions = await hub.conflicts(T, id);
    expect(decisions.find((d) => d.field === 'tier')).toMatchObject({
      rule: 'priority',
      winner: { source: 'netsuite', value: 'free' },
    });
    expect(h.standins.activecampaign.contacts.get('c3@acme-3.test')!.fieldValues['4']).toBe('free');
  });
});

describe('data quality', () => {
  it('an invalid e-mail is quarantined with the reason and overwrites nothing; a fix in the vendor releases it', async () => {
    const id = `${T}-c4`;
    h.standins.zendesk.editUser(id, { email: 'not-an-email', name: 'Customer 4 (renamed)' }, at(500));
    const [report] = (await hub.syncNow(T, ['zendesk']))!;
    expect(report!.quarantined).toBe(1);
    expect(await value(id, 'email')).toBe('c4@acme-4.test');
    expect(await value(id, 'name')).toBe('Customer 4'); // the whole record waits, not half of it
    const [q] = await hub.quarantine(T);
    expect(q).toMatchObject({
      connector: 'zendesk',
      reasons: ['email: "not-an-email" is not an e-mail address'],
    });
    // Retrying under the same mapping quarantines it again.
    expect(await hub.quarantineRetry(q!.id)).toEqual({ passed: false });
    h.standins.zendesk.editUser(id, { email: 'c4@acme-4.test' }, at(501));
    await hub.syncNow(T, ['zendesk']);
    expect(await hub.quarantine(T)).toEqual([]);
    expect(await value(id, 'name')).toBe('Customer 4 (renamed)');
  });

  it('duplicates: exact e-mail and name+phone merge automatically; a near match waits for review, then an operator merges it', async () => {
    // Zendesk users without an owner id: one with the e-mail of c5, one with c6's name and phone.
    h.standins.zendesk.editUser(`zd-only-${tag}-1`, { name: 'Someone', email: 'c5@acme-5.test' }, at(600));
    const z1 = h.standins.zendesk.users.get(`x:zd-only-${tag}-1`)!;
    z1.external_id = null; // a support agent created it by hand
    h.standins.zendesk.editUser(`zd-only-${tag}-2`, { name: 'Customer 6', phone: '+628120000006' }, at(601));
    h.standins.zendesk.users.get(`x:zd-only-${tag}-2`)!.external_id = null;
    // An ActiveCampaign contact close to c8 by name, same company domain: ambiguous.
    h.standins.activecampaign.editContact(
      'sales@acme-8.test',
      { firstName: 'Custmer', lastName: '8' },
      at(602),
    );
    const reports = (await hub.syncNow(T))!;
    expect(reports.find((r) => r.connector === 'zendesk')!.autoMerged).toBe(2);
    expect((await customer(`${T}-c5`))!.links.filter((l) => l.connector === 'zendesk')).toHaveLength(2);
    expect((await customer(`${T}-c6`))!.links.filter((l) => l.connector === 'zendesk')).toHaveLength(2);
    const reviews = await hub.reviews(T);
    expect(reviews).toHaveLength(1);
    expect(reviews[0]!.reasons.join(' ')).toContain('same e-mail domain acme-8.test');
    const merged = await hub.reviewMerge(reviews[0]!.id, 'dana');
    expect(merged.survivor).toBe(`${T}-c8`);
    expect((await customer(merged.merged))!.state).toBe('merged');
    expect((await customer(`${T}-c8`))!.links.map((l) => l.connector).sort()).toEqual([
      'activecampaign',
      'activecampaign',
      'netsuite',
      'zendesk',
    ]);
    expect(await hub.reviews(T)).toEqual([]);
  });
});

describe('schema drift', () => {
  it('a renamed Zendesk field pauses only that field; a new mapping version resumes it', async () => {
    h.standins.zendesk.changeUserField('saldo_tier', { rename: 'plan_tier' });
    const id = `${T}-c9`;
    h.standins.zendesk.editUser(
      id,
      { name: 'Customer 9 Ltd', user_fields: { plan_tier: 'enterprise' } },
      at(700),
    );
    const [report] = (await hub.syncNow(T, ['zendesk']))!;
    expect(report!.paused).toEqual(['tier']);
    expect(report!.error).toBeUndefined();
    expect(await value(id, 'name')).toBe('Customer 9 Ltd'); // the rest goes on
    expect(await value(id, 'tier')).toBe('pro');
    const paused = await hub.paused(T);
    expect(paused).toEqual([
      expect.objectContaining({
        connector: 'zendesk',
        sourceField: 'user_fields.saldo_tier',
        hubField: 'tier',
      }),
    ]);
    const fixed = structuredClone((await hub.showMapping(T)).mapping);
    fixed.fields['tier']!.sources.zendesk!.field = 'user_fields.plan_tier';
    fixed.fields['tier']!.rule = 'lww';
    await hub.saveMapping(T, fixed, 'erin', 'Zendesk renamed saldo_tier to plan_tier');
    h.standins.zendesk.editUser(id, { user_fields: { plan_tier: 'Enterprise' } }, at(900));
    const [after] = (await hub.syncNow(T, ['zendesk']))!;
    expect(after!.paused).toEqual([]);
    expect(await hub.paused(T)).toEqual([]);
    expect(await value(id, 'tier')).toBe('enterprise');
  });
});

describe('write-back', () => {
  it('1,000 round trips across the three systems converge without an echo loop', async () => {
    const writesBefore = h.standins.zendesk.counters.requests;
    let rounds = 0;
    for (let cycle = 0; cycle < 10; cycle += 1) {
      for (let i = 20; i < 40; i += 1) {
        const owner = `${T}-c${i}`;
        const phone = `+62855${String(cycle).padStart(2, '0')}${String(i).padStart(4, '0')}`;
        if (cycle % 3 === 0)
          h.standins.netsuite.editCustomer({ externalId: owner }, { phone }, nsAt(1000 + cycle * 10));
        else if (cycle % 3 === 1) h.standins.zendesk.editUser(owner, { phone }, at(1000 + cycle * 10));
        else h.standins.activecampaign.editContact(`c${i}@acme-${i}.test`, { phone }, at(1000 + cycle * 10));
        rounds += 5; // the edit, its read, two writes back, the two echoes read
      }
      await hub.syncNow(T);
      for (let i = 20; i < 40; i += 1) {
        const phone = `+62855${String(cycle).padStart(2, '0')}${String(i).padStart(4, '0')}`;
        expect(await value(`${T}-c${i}`, 'phone')).toBe(phone);
        expect(h.standins.zendesk.users.get(`x:${T}-c${i}`)!.phone).toBe(phone);
        expect(h.standins.activecampaign.contacts.get(`c${i}@acme-${i}.test`)!.phone).toBe(phone);
        expect(
          [...h.standins.netsuite.customers.values()].find((c) => c.externalId === `${T}-c${i}`)!.fields[
            'phone'
          ],
        ).toBe(phone);
      }
    }
    expect(rounds).toBe(1_000);
    // Quiet now: two more runs read only echoes and write nothing.
    for (let i = 0; i < 2; i += 1) {
      const reports = (await hub.syncNow(T))!;
      expect(reports.reduce((n, r) => n + r.written + r.decisions + r.changedFields, 0)).toBe(0);
    }
    expect(h.standins.zendesk.counters.requests - writesBefore).toBeLessThan(200);
  });
});

describe('operator commands', () => {
  it('hub status, mappings, conflicts, preview, review and sync now through the built CLI', async () => {
    const env = h.env;
    const status = await cliAsync(['hub', 'status', '--tenant', T, '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      customers: { active: expect.any(Number) },
      paused: [],
    });
    const list = await cliAsync(['hub', 'mappings', 'list', '--tenant', T], env);
    expect(list.stdout).toContain('v3');
    expect(list.stdout).toContain('(restore of v1)');
    const diff = await cliAsync(['hub', 'mappings', 'diff', '--tenant', T, '3', '4'], env);
    expect(diff.stdout).toContain(
      '~ fields.tier.sources.zendesk.field: "user_fields.saldo_tier" → "user_fields.plan_tier"',
    );
    // Version 2 names the field Zendesk renamed: a restore is validated like any save, and refused.
    const refused = await cliAsync(
      ['hub', 'mappings', 'restore', '--tenant', T, '2', '--author', 'frank'],
      env,
    );
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('zendesk has no field "user_fields.saldo_tier"');
    const restore = await cliAsync(
      ['hub', 'mappings', 'restore', '--tenant', T, '4', '--author', 'frank'],
      env,
    );
    expect(restore.stdout).toContain('version 4 restored as version 5');
    const conflicts = await cliAsync(['hub', 'conflicts', '--tenant', T, '--customer', `${T}-c1`], env);
    expect(conflicts.stdout).toContain('last write wins');
    const dir = mkdtempSync(path.join(tmpdir(), 'hub-'));
    const draft = structuredClone(defaultMapping());
    draft.fields['name']!.sources.netsuite!.transforms = ['trim', 'upper'];
    writeFileSync(path.join(dir, 'draft.json'), JSON.stringify(draft));
    const nsId = (await customer(`${T}-c10`))!.links.find((l) => l.connector === 'netsuite')!.externalId;
    const preview = await cliAsync(
      [
        'hub',
        'mappings',
        'preview',
        '--tenant',
        T,
        '--connector',
        'netsuite',
        '--id',
        nsId,
        '--file',
        path.join(dir, 'draft.json'),
        '--json',
      ],
      env,
    );
    expect(JSON.parse(preview.stdout)).toMatchObject({
      before: { name: 'Customer 10' },
      after: { name: 'CUSTOMER 10' },
    });
    const sync = await cliAsync(['hub', 'sync', 'now', '--tenant', T, '--connector', 'zendesk'], env);
    expect(sync.code).toBe(0);
    expect(sync.stdout).toMatch(/^zendesk: read \d+/);
    const bad = await cliAsync(['hub', 'sync', 'now', '--tenant', T, '--connector', 'salesforce'], env);
    expect(bad.code).toBe(2);
    // The operator's front door, `saldo hub …`, runs the same commands.
    const saldo = spawnSync(
      process.execPath,
      [path.join(ROOT, 'bin/saldo.js'), 'hub', 'review', 'list', '--tenant', T, '--json'],
      {
        cwd: ROOT,
        env: { ...process.env, ...env, SALDO_CLI_BUILD: '0' },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(saldo.stderr).toBe('');
    expect(JSON.parse(saldo.stdout)).toEqual([]);
  }, 400_000); // a dozen CLI processes, each connecting to PostgreSQL and the stand-ins
});

describe('engine', () => {
  it('one run per tenant at a time across workers', async () => {
    const [a, b] = await Promise.all([engine.run(T), engine.run(T)]);
    expect([a, b].filter((r) => r === null)).toHaveLength(1);
  });
});
