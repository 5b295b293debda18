#!/usr/bin/env node
// Measures the ledger-events path on this machine, with the real emulators and PostgreSQL:
//   1. relay throughput: a backlog of outbox rows drained to Pub/Sub (events/s and rows/s);
//   2. mirror lag: changes at a steady rate on a mix of hot and cold wallets while the mirror runs;
//      the lag of each change is from its commit to the moment a Firestore listener sees the
//      wallet at that version or newer (what an app sees), printed as p50/p99/max.
//
//   npm run bench:relay -- [--backlog 5000] [--rate 200] [--duration 10] [--wallets 20] [--hot 3]
//
// Starts its own Pub/Sub and Firestore emulators and a database of its own, and removes them.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const pg = require('pg');
const emulators = require(path.join(root, 'libs/test-support/src/shared/emulators.cjs'));

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce(
      (pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs),
      [],
    ),
);
const backlog = Number(args.backlog ?? 5_000);
const rate = Number(args.rate ?? 200);
const durationS = Number(args.duration ?? 10);
const walletCount = Number(args.wallets ?? 20);
const hotCount = Number(args.hot ?? 3);
const pgHost = process.env.PGHOST ?? '127.0.0.1';
const pgPort = process.env.PGPORT ?? '5432';
const pgUser = process.env.PGUSER ?? 'postgres';
const dbName = `saldo_bench_relay_${randomBytes(3).toString('hex')}`;
const adminUrl = `postgres://${pgUser}@${pgHost}:${pgPort}/postgres`;
const dbUrl = `postgres://${pgUser}@${pgHost}:${pgPort}/${dbName}`;
const cleanups = [];
const dist = (p) => require(path.join(root, 'dist/out-tsc/apps/wallet-ledger/src', p));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  console.log('bench:relay: building…');
  execFileSync(process.execPath, [path.join(root, 'tools/scripts/build.mjs')], { stdio: 'inherit' });
  const logDir = path.join(root, 'tmp', `bench-relay-${Date.now()}`);
  const [pubsubEmu, firestoreEmu] = await Promise.all([
    emulators.startEmulator('pubsub', { projectId: 'saldo-bench', logDir }),
    emulators.startEmulator('firestore', { projectId: 'saldo-bench', logDir }),
  ]);
  cleanups.push(
    () => pubsubEmu.stop(),
    () => firestoreEmu.stop(),
  );
  process.env.PUBSUB_EMULATOR_HOST = pubsubEmu.host;
  process.env.FIRESTORE_EMULATOR_HOST = firestoreEmu.host;

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  cleanups.push(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });
  execFileSync(process.execPath, [path.join(root, 'dist/out-tsc/apps/wallet-ledger/src/cli.js'), 'migrate'], {
    env: { ...process.env, DATABASE_URL: dbUrl },
    stdio: 'inherit',
  });
  const pool = new pg.Pool({ connectionString: dbUrl, max: 16 });
  cleanups.unshift(() => pool.end());

  const call = (fn, input) =>
    pool
      .query(`SELECT ledger.${fn}($1::jsonb) AS r`, [
        JSON.stringify({ request_hash: 'h', idempotency_key: randomUUID(), ...input }),
      ])
      .then((r) => r.rows[0].r);
  const tenant = 'bench';
  await pool.query(`SELECT ledger.define_asset($1, 'IDR', 0::smallint)`, [tenant]);
  const wallets = [];
  for (let i = 0; i < walletCount; i += 1) {
    const account = await call('open_account', {
      tenant_id: tenant,
      asset_code: 'IDR',
      overdraft_limit: '0',
      metadata: { wallet_id: `w${i}`, owner_id: `uid-${i}`, owner_type: 'personal' },
    });
    wallets.push(account.account_id);
  }
  const post = (legs, action) =>
    call('post_transaction', { tenant_id: tenant, asset_code: 'IDR', legs, action });
  const topUp = (w, amount) =>
    post(
      [
        { system_account: 'cash_clearing', side: 'debit', amount: String(amount) },
        { account_id: w, side: 'credit', amount: String(amount) },
      ],
      'TOP_UP',
    );
  const transfer = (a, b) =>
    post(
      [
        { account_id: a, side: 'debit', amount: '1' },
        { account_id: b, side: 'credit', amount: '1' },
      ],
      'TRANSFER',
    );
  await Promise.all(wallets.map((w) => topUp(w, 1_000_000_000)));

  // 1. Relay throughput over a backlog.
  console.log(`bench:relay: writing a backlog of ${backlog} changes…`);
  for (let done = 0; done < backlog; done += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, backlog - done) }, (_, i) => {
        const a = wallets[(done + i) % walletCount];
        const b = wallets[(done + i + 1) % walletCount];
        return transfer(a, b);
      }),
    );
  }
  const { PubSub } = require('@google-cloud/pubsub');
  const { Registry } = require('prom-client');
  const { createLogger } = require(path.join(root, 'dist/out-tsc/libs/infra/logging/src/index.js'));
  const logger = createLogger('bench-relay', 'warn');
  const pubsub = new PubSub({ projectId: 'saldo-bench' });
  cleanups.unshift(() => pubsub.close());
  const { PubSubEventPublisher } = dist('outbox/event-publisher.js');
  const { OutboxRelay } = dist('outbox/outbox-relay.js');
  const { ProtoJsonCodec } = dist('outbox/proto-json.js');
  const { RelayMetrics } = dist('outbox/relay-metrics.js');
  const registry = new Registry();
  const relayMetrics = new RelayMetrics(registry);
  const publisher = new PubSubEventPublisher(pubsub, {
    topicName: 'ledger-events',
    createTopic: true,
    publishTimeoutMs: 30_000,
  });
  await publisher.publishAll([]); // creates the topic outside the measurement
  const [outbox] = (
    await pool.query(`SELECT count(*)::int AS n FROM ledger.outbox WHERE published_at IS NULL`)
  ).rows.map((r) => r.n);
  const relay = new OutboxRelay({
    databaseUrl: dbUrl,
    pool,
    publisher,
    codec: ProtoJsonCodec.load('saldo/events/v1/events.proto'),
    logger,
    metrics: relayMetrics,
    batchSize: Number(args.batch ?? 500),
    pollIntervalMs: 20,
    standbyPollMs: 500,
    retryBaseMs: 100,
    retryMaxMs: 5_000,
    batchTimeoutMs: 60_000,
    retentionHours: 24,
    backlogSampleMs: 1_000,
  });
  const drainStarted = Date.now();
  relay.start();
  cleanups.unshift(() => relay.stop());
  for (;;) {
    const left = (await pool.query(`SELECT count(*)::int AS n FROM ledger.outbox WHERE published_at IS NULL`))
      .rows[0].n;
    if (left === 0) break;
    await sleep(20);
  }
  const drainS = (Date.now() - drainStarted) / 1000;
  const events = (await relayMetrics.eventsPublished.get()).values[0]?.value ?? 0;
  console.log(
    `relay: ${outbox} outbox rows → ${events} events in ${drainS.toFixed(2)} s: ${(events / drainS).toFixed(0)} events/s, ${(outbox / drainS).toFixed(0)} rows/s (batch ${args.batch ?? 500}, one relay)`,
  );

  // 2. Mirror lag under a steady load (the relay keeps running, as in production).
  const { Firestore } = require('@google-cloud/firestore');
  const firestore = new Firestore({ projectId: 'saldo-bench' });
  cleanups.unshift(() => firestore.terminate());
  const { FirestoreMirror } = dist('mirror/firestore-mirror.js');
  const { MirrorWorker } = dist('mirror/mirror-worker.js');
  const { MirrorMetrics } = dist('mirror/mirror-metrics.js');
  const { rebuildMirror } = dist('mirror/mirror-rebuild.js');
  const mirror = new FirestoreMirror(firestore, 100);
  await rebuildMirror({ pool, mirror, name: 'bench', restart: true, pageSize: 100 });
  await pool.query(
    `UPDATE ledger.mirror_state SET pending_since = NULL WHERE pending_version <= mirrored_version`,
  );
  const worker = new MirrorWorker({
    pool,
    mirror,
    logger,
    metrics: new MirrorMetrics(registry),
    batchSize: 200,
    minIntervalMs: 1_000,
    pollIntervalMs: 50,
    leaseMs: 30_000,
    retryBaseMs: 100,
    retryMaxMs: 5_000,
    backlogSampleMs: 1_000,
  });
  worker.start();
  cleanups.unshift(() => worker.stop());

  const committed = new Map(); // `${walletId}:${version}` → commit time
  const seenVersion = new Map(); // walletId → newest version seen by the listener
  const lagsMs = [];
  const idOf = new Map(wallets.map((w, i) => [w, `w${i}`]));
  const unsubscribe = firestore.collection('wallets').onSnapshot((snapshot) => {
    const now = Date.now();
    for (const change of snapshot.docChanges()) {
      const walletId = change.doc.id;
      const version = change.doc.get('version');
      const before = seenVersion.get(walletId) ?? -1;
      if (version <= before) continue;
      seenVersion.set(walletId, version);
      for (let v = before + 1; v <= version; v += 1) {
        const at = committed.get(`${walletId}:${v}`);
        if (at !== undefined) {
          lagsMs.push(now - at);
          committed.delete(`${walletId}:${v}`);
        }
      }
    }
  });
  cleanups.unshift(() => unsubscribe());
  await sleep(1_000);
  for (const [w, id] of idOf) {
    const version = (await pool.query(`SELECT version FROM ledger.accounts WHERE id = $1`, [w])).rows[0]
      .version;
    seenVersion.set(id, Math.max(seenVersion.get(id) ?? -1, Number(version)));
  }
  console.log(
    `mirror: ${rate} changes/s for ${durationS} s on ${walletCount} wallets (${hotCount} hot take half the load)…`,
  );
  const loadStarted = Date.now();
  let issued = 0;
  const inFlight = new Set();
  while (Date.now() - loadStarted < durationS * 1000) {
    const due = Math.floor(((Date.now() - loadStarted) / 1000) * rate);
    while (issued < due) {
      const hot = issued % 2 === 0;
      const a = wallets[hot ? issued % hotCount : hotCount + (issued % (walletCount - hotCount))];
      const b = wallets[(wallets.indexOf(a) + 1) % walletCount];
      issued += 1;
      const p = transfer(a, b).then((tx) => {
        const at = Date.now();
        for (const e of tx.entries)
          committed.set(`${idOf.get(e.account_id)}:${Number(e.account_version)}`, at);
      });
      inFlight.add(p);
      p.finally(() => inFlight.delete(p));
    }
    await sleep(5);
  }
  await Promise.all(inFlight);
  const deadline = Date.now() + 30_000;
  while (committed.size > 0 && Date.now() < deadline) await sleep(50);
  lagsMs.sort((x, y) => x - y);
  console.log(
    `mirror lag (commit → visible to a Firestore listener), ${lagsMs.length} changes: ` +
      `p50 ${percentile(lagsMs, 50)} ms, p99 ${percentile(lagsMs, 99)} ms, max ${lagsMs[lagsMs.length - 1]} ms` +
      (committed.size ? `; ${committed.size} changes never seen` : ''),
  );
  const hotDocWrites = (await registry.getSingleMetric('saldo_mirror_writes_total').get()).values.reduce(
    (s, v) => s + v.value,
    0,
  );
  console.log(`mirror: ${hotDocWrites} wallet document writes for ${issued * 2} wallet changes (coalesced)`);
}

let exitCode = 0;
main()
  .catch((error) => {
    console.error(`bench:relay failed: ${error.stack ?? error}`);
    exitCode = 1;
  })
  .finally(async () => {
    for (const cleanup of cleanups)
      await Promise.resolve()
        .then(cleanup)
        .catch((e) => console.error(`cleanup: ${e.message}`));
    process.exit(exitCode);
  });
