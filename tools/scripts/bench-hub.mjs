#!/usr/bin/env node
// Measures the integration hub (apps/erp-sync/src/hub) on this machine with the real PostgreSQL and
// the vendor stand-ins at their real rate limits (Zendesk incremental export 10/min, ActiveCampaign
// 5 requests/s, NetSuite 5 concurrent; erp-sync's own pacing):
//   1. the initial sync of N customers spread over NetSuite, Zendesk and ActiveCampaign (overlaps,
//      conflicts, duplicates, near duplicates, broken records) through a 429 and 5xx storm:
//      records/s per connector, golden records matched;
//   2. a round of changes in the three systems, resolved and written back (echo-free: a second run
//      writes nothing);
//   3. reliability: the share of vendor records synced without a person (the rest named:
//      quarantined, in review, dead with a reason), and CPU per record of the hub's process.
//
//   npm run bench:hub -- [--customers 10000] [--changes 1000] [--no-build]
//
// Creates a database of its own (BENCH_DB_PREFIX, default saldo_bench_hub) and drops it.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const pg = require('pg');

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const customers = Number(option('customers', 10_000));
const changes = Number(option('changes', 1_000));
const pgHost = process.env.PGHOST ?? '127.0.0.1';
const pgPort = process.env.PGPORT ?? '5432';
const pgUser = process.env.PGUSER ?? 'postgres';
const dbName = `${process.env.BENCH_DB_PREFIX ?? 'saldo_bench_hub'}_${randomBytes(3).toString('hex')}`;
const adminUrl = `postgres://${pgUser}@${pgHost}:${pgPort}/postgres`;
const dbUrl = `postgres://${pgUser}@${pgHost}:${pgPort}/${dbName}`;
const dist = (p) => require(path.join(root, 'dist/out-tsc', p));
const cleanups = [];

async function admin(sql) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function main() {
  if (!argv.includes('--no-build')) {
    console.log('bench:hub: building…');
    execFileSync(process.execPath, [path.join(root, 'tools/scripts/build.mjs')], { stdio: 'inherit' });
  }
  const { startStandins, seedHubScenario } = dist('libs/vendor-standins/src/index.js');
  const { loadErpSyncConfig } = dist('apps/erp-sync/src/config.js');
  const { createErpSyncDataSource, ERP_SYNC_MIGRATION_LOCK } = dist(
    'apps/erp-sync/src/database/erp-sync-data-source.js',
  );
  const { runMigrationsUnderLock } = dist('libs/infra/postgres/src/index.js');
  const { createConnectors, createHub } = dist('apps/erp-sync/src/runtime.js');
  const { SyncStore } = dist('apps/erp-sync/src/store/sync-store.js');
  const { defaultMapping } = dist('apps/erp-sync/src/hub/mapping.js');
  const { createLogger } = dist('libs/infra/logging/src/index.js');

  await admin(`CREATE DATABASE ${dbName}`);
  cleanups.push(() => admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));
  const db = await createErpSyncDataSource(dbUrl, 8).initialize();
  cleanups.unshift(() => db.destroy());
  await runMigrationsUnderLock(db, ERP_SYNC_MIGRATION_LOCK);
  const standins = await startStandins();
  cleanups.unshift(() => standins.stop());
  const tenant = `bench-${randomBytes(2).toString('hex')}`;
  const config = loadErpSyncConfig({
    ...standins.env,
    DATABASE_URL: dbUrl,
    ERP_SYNC_TENANTS_JSON: '{}',
    ERP_SYNC_HUB_PAGE_SIZE: '1000',
    ERP_SYNC_HUB_MAX_PAGES: '1000',
    ERP_SYNC_BULK_POLL_MS: '250',
    LOG_LEVEL: 'silent',
  });
  const store = new SyncStore(db);
  const hub = createHub(config, db, createConnectors(config, store), createLogger('bench-hub', 'silent'));
  await hub.service.saveMapping(tenant, defaultMapping(), 'bench', 'bench');
  const scenario = seedHubScenario(standins, tenant, customers, Math.ceil(Date.now() / 1000) * 1000 + 60_000);
  const total = scenario.records.netsuite + scenario.records.zendesk + scenario.records.activecampaign;
  console.log(
    `bench:hub: ${customers} customers → ${total} vendor records (netsuite ${scenario.records.netsuite}, zendesk ${scenario.records.zendesk}, activecampaign ${scenario.records.activecampaign})`,
  );

  // 1. The initial sync through a storm.
  standins.activecampaign.throttleNext(6, 1);
  standins.zendesk.failNext(3, 503);
  standins.netsuite.failNext(2, 500);
  const cpu0 = process.cpuUsage();
  let started = Date.now();
  const initial = await hub.engine.run(tenant, undefined, { writeBack: false });
  const initialS = (Date.now() - started) / 1000;
  for (const r of initial) if (r.error) throw new Error(`${r.connector}: ${r.error}`);
  console.log(
    `initial sync: ${total} records in ${initialS.toFixed(1)} s (${Math.round(total / initialS)} records/s)`,
  );
  for (const r of initial)
    console.log(
      `  ${r.connector.padEnd(15)} ${String(r.read).padStart(6)} records in ${(r.readMs / 1000).toFixed(1).padStart(5)} s = ${String(Math.round((r.read * 1000) / Math.max(1, r.readMs))).padStart(5)} records/s; created ${r.created}, auto-merged ${r.autoMerged}, review ${r.queuedForReview}, quarantined ${r.quarantined}, decisions ${r.decisions}`,
    );
  const throttled =
    standins.activecampaign.counters.throttled +
    standins.zendesk.counters.throttled +
    standins.netsuite.counters.throttled;
  console.log(`  storm ridden out: ${throttled} answers 429, 5 answers 5xx; no connector failed`);
  const values = await db.query(
    `SELECT f.customer_id, f.field, f.value FROM hub.field_values f JOIN hub.customers c USING (tenant_id, customer_id)
      WHERE f.tenant_id = $1 AND c.state = 'active'`,
    [tenant],
  );
  const byCustomer = new Map();
  for (const v of values)
    byCustomer.set(v.customer_id, { ...byCustomer.get(v.customer_id), [v.field]: v.value });
  const byEmail = new Map([...byCustomer.values()].map((f) => [f.email, f]));
  let matched = 0;
  for (const [email, want] of scenario.golden) {
    const got = byEmail.get(email);
    if (
      got &&
      got.name === want.name &&
      (got.phone ?? null) === want.phone &&
      (got.tier ?? null) === want.tier &&
      (got.company ?? null) === want.company
    )
      matched += 1;
  }
  console.log(
    `  golden records: ${matched} of ${scenario.golden.size} match (hub customers: ${byCustomer.size})`,
  );

  // 2. The merged values written back to every system that takes them (bulk, at the vendors' pace).
  started = Date.now();
  const pushed = await hub.engine.writeBackOnly(tenant, ['netsuite', 'zendesk', 'activecampaign']);
  const pushedS = (Date.now() - started) / 1000;
  console.log(
    `initial write-back: ${pushed.reduce((s, r) => s + r.written, 0)} records in ${pushedS.toFixed(1)} s (${pushed.map((r) => `${r.connector} ${r.written}${r.writeFailures ? ` (${r.writeFailures} refused)` : ''}`).join(', ')})`,
  );

  // 3. Changes in all three systems, resolved and written back; then a quiet run.
  const base = Math.ceil(Date.now() / 1000) * 1000 + 3_600_000;
  const at = (s) => new Date(base + s * 1000).toISOString().replace(/\.000Z$/, 'Z');
  for (let n = 0; n < changes; n += 1) {
    const i = (n * 7) % customers;
    const k = i % 10;
    const phone = `+62877${String(n).padStart(7, '0')}`;
    if (k <= 2)
      standins.netsuite.editCustomer(
        { externalId: `${tenant}-${i}` },
        { phone },
        at(n).slice(0, 19).replace('T', ' '),
      );
    else if (k <= 6) standins.zendesk.editUser(`${tenant}-${i}`, { phone }, at(n));
    else {
      const email = i % 3 === 0 ? `c${i}.${tenant}@gmail.com` : `c${i}@firm${i}-${tenant}.test`;
      standins.activecampaign.editContact(email, { phone }, at(n));
    }
  }
  started = Date.now();
  const round = await hub.engine.run(tenant);
  const roundS = (Date.now() - started) / 1000;
  const written = round.reduce((s, r) => s + r.written, 0);
  const failures = [...round, ...pushed].reduce((s, r) => s + r.writeFailures, 0);
  console.log(
    `changes: ${changes} edits in the vendors → read, resolved and ${written} writes back in ${roundS.toFixed(1)} s (${round.map((r) => `${r.connector} ${r.changedFields} changed/${r.written} written`).join(', ')})`,
  );
  const quiet = await hub.engine.run(tenant);
  const echoes = quiet.reduce((s, r) => s + r.echoes, 0);
  const again = quiet.reduce((s, r) => s + r.written + r.decisions + r.changedFields, 0);
  console.log(`  next run: ${echoes} echoes recognised, ${again} changes or writes (no ping-pong)`);

  // 4. Reliability and CPU.
  const [{ linked }] = await db.query(`SELECT count(*)::int AS linked FROM hub.links WHERE tenant_id = $1`, [
    tenant,
  ]);
  const status = await hub.store.status(tenant);
  const auto = linked - status.inReview;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `reliability: ${((auto / total) * 100).toFixed(2)} % of vendor records synced without a person; named states: quarantined ${status.quarantined}, in review ${status.inReview}, dead ${failures}`,
  );
  console.log(
    `cpu: ${((cpu.user + cpu.system) / 1000 / (total + changes)).toFixed(2)} ms per record in the hub's process (Node)`,
  );
  if (matched !== scenario.golden.size || again !== 0) process.exitCode = 1;
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of cleanups) await c().catch(() => undefined);
  });
