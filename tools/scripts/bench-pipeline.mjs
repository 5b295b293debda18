#!/usr/bin/env node
// `npm run bench:pipeline`: the whole stack as `npm start` runs it (wallet-ledger with its outbox
// relay and Firestore mirror, transaction-aggregator, erp-sync on the vendor stand-ins, the Pub/Sub
// and Firestore emulators), on ports of its own and a database of its own; transfers and usages
// through the public API for a fixed time; then, per mode, actions/s, p50/p99, CPU ms per action
// of every process, the outbox backlog, the mirror lag p99 and erp-sync's lag; ends with
// `ledger verify` on its database.
//
//   npm run bench:pipeline -- [--duration 20] [--concurrency 16] [--wallets 200] [--batch-size 100]
//                             [--modes unary,batch] [--base-port N] [--keep]
//
// - unary: `concurrency` clients in a closed loop, each one call at a time (Transfer or BookUsage);
// - batch: the same clients, each sending SubmitBatch calls of `batch-size` actions (skipped with a
//   note when the build has no SubmitBatch).
// --base-port N puts every listener on N..N+11 (default: free ports); --keep leaves the database.
// CPU per process is utime+stime from /proc over the measured window (PostgreSQL: the backends of
// this database). Mirror lag: the ledger's saldo_mirror_lag_seconds histogram over the window
// (change → Firestore commit). erp-sync lag: ledger commit → erp-sync recorded the event, p99 over
// the window's events, and how long erp-sync needed to drain after the load stopped.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const pg = require('pg');

const args = parseArgs(process.argv.slice(2));
const durationS = positive('duration', 20);
const concurrency = positive('concurrency', 16);
const walletCount = positive('wallets', 200);
const batchSize = Math.min(1_000, positive('batch-size', 100));
const modes = String(args.modes ?? 'unary,batch').split(',');
const WARMUP_MS = 2_000;
const DRAIN_TIMEOUT_MS = 120_000;
const START_TIMEOUT_MS = 300_000;

const runId = randomBytes(3).toString('hex');
const pgHost = process.env.PGHOST ?? '127.0.0.1';
const pgPort = process.env.PGPORT ?? '5432';
const pgUser = process.env.PGUSER ?? 'postgres';
const dbName = `saldo_bench_pipeline_${runId}`;
const adminUrl = `postgres://${pgUser}@${pgHost}:${pgPort}/postgres`;
const dbUrl = `postgres://${pgUser}@${pgHost}:${pgPort}/${dbName}`;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'saldo-bench-pipeline-'));
const cleanups = [];

async function main() {
  console.log('bench: building…');
  execFileSync(process.execPath, [path.join(root, 'tools/scripts/build.mjs')], { stdio: 'inherit' });
  const ports = await choosePorts();
  const env = stackEnv(ports);
  console.log(`bench: npm start on ports ${Object.values(ports).join(', ')}, database ${dbName}…`);
  const stack = await startStack(env);
  cleanups.push(() => stack.stop());
  if (!args.keep) cleanups.push(() => dropDatabase(dbName));
  const db = new pg.Pool({ connectionString: dbUrl, max: 4 });
  cleanups.push(() => db.end());

  const local = readEnvFile(path.join(stateDir, 'local.env'));
  const { createGrpcClient } = require(
    path.join(root, 'dist/out-tsc/libs/infra/grpc-kit/src/grpc-client.js'),
  );
  const protoRoot = path.join(root, 'proto');
  const api = createGrpcClient({
    protoPath: path.join(protoRoot, 'saldo/transaction/v1/transaction.proto'),
    includeDirs: [protoRoot],
    serviceName: 'saldo.transaction.v1.TransactionService',
    address: env.AGGREGATOR_GRPC_URL,
    token: local.SALDO_DEMO_API_KEY,
    defaultDeadlineMs: 60_000,
  });
  cleanups.push(api.close);

  console.log(`bench: opening ${walletCount} wallets through the API…`);
  const wallets = await openWallets(api.client, walletCount);
  await waitDrained(db, ports, 'the set-up');

  const results = [];
  for (const mode of modes) {
    if (mode === 'batch' && typeof api.client.submitBatch !== 'function') {
      console.log('bench: batch: skipped, this build has no TransactionService.SubmitBatch');
      continue;
    }
    console.log(`bench: ${mode}, ${concurrency} clients, ${durationS} s…`);
    results.push(await measure(mode, api.client, wallets, db, stack, ports));
  }

  console.log('bench: ledger verify…');
  const verify = runVerify(env);
  report(results, verify);
  if (verify.status !== 0) process.exitCode = 1;
}

// ---------------------------------------------------------------------------------------------
// The stack

async function choosePorts() {
  const names = [
    'pubsub',
    'firestore',
    'ledger',
    'ledgerHttp',
    'aggregator',
    'aggregatorHttp',
    'erpSyncHttp',
    'erpSyncWebhook',
    'netsuite',
    'zendesk',
    'activecampaign',
    'aggregatorConnect',
  ];
  const base = args['base-port'] === undefined ? undefined : Number(args['base-port']);
  const ports = {};
  for (const [i, name] of names.entries()) ports[name] = base === undefined ? await freePort() : base + i;
  return ports;
}

function stackEnv(ports) {
  const env = { ...process.env };
  // This stack's own everything: none of the caller's Saldo settings leak in.
  for (const key of Object.keys(env))
    if (/^(LEDGER_|AGGREGATOR_|ERP_SYNC_|SALDO_|PUBSUB_|FIRESTORE_|GOOGLE_CLOUD_PROJECT)/.test(key))
      delete env[key];
  return {
    ...env,
    SALDO_START_BUILD: '0', // built above
    SALDO_STATE_DIR: stateDir,
    SALDO_LOG_FORMAT: 'json',
    NO_COLOR: '1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: dbUrl,
    PUBSUB_EMULATOR_HOST: `127.0.0.1:${ports.pubsub}`,
    FIRESTORE_EMULATOR_HOST: `127.0.0.1:${ports.firestore}`,
    LEDGER_GRPC_URL: `127.0.0.1:${ports.ledger}`,
    LEDGER_HTTP_PORT: String(ports.ledgerHttp),
    AGGREGATOR_GRPC_URL: `127.0.0.1:${ports.aggregator}`,
    AGGREGATOR_HTTP_PORT: String(ports.aggregatorHttp),
    AGGREGATOR_CONNECT_PORT: String(ports.aggregatorConnect),
    ERP_SYNC_HTTP_PORT: String(ports.erpSyncHttp),
    ERP_SYNC_WEBHOOK_PORT: String(ports.erpSyncWebhook),
    SALDO_STANDIN_PORTS: `${ports.netsuite},${ports.zendesk},${ports.activecampaign}`,
  };
}

async function startStack(env) {
  const child = spawn(process.execPath, [path.join(root, 'tools/scripts/start.mjs')], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logFile = path.join(stateDir, 'stack.log');
  const log = fs.createWriteStream(logFile);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let output = '';
  child.stdout.on('data', (chunk) => {
    if (output.length < 1_000_000) output += chunk.toString();
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!/start: ready/.test(output)) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`npm start exited before it was ready; its log: ${logFile}\n${tail(logFile)}`);
    if (Date.now() > deadline)
      throw new Error(`npm start not ready in ${START_TIMEOUT_MS} ms; log ${logFile}`);
    await sleep(200);
  }
  return {
    pid: child.pid,
    logFile,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The stack's processes by role, found under npm start's process (its children and the emulators' java). */
function stackProcesses(stack) {
  const roles = [
    ['wallet-ledger', /apps\/wallet-ledger\/src\/main\.js/],
    ['transaction-aggregator', /apps\/transaction-aggregator\/src\/main\.js/],
    ['erp-sync', /apps\/erp-sync\/src\/main\.js/],
    ['pubsub emulator', /java.*pubsub/i],
    ['firestore emulator', /java.*(firestore|datastore)/i],
  ];
  const found = { 'npm start + stand-ins': [stack.pid] };
  for (const pid of descendants(stack.pid)) {
    const command = cmdline(pid);
    const role = roles.find(([, pattern]) => pattern.test(command));
    if (role) (found[role[0]] ??= []).push(pid);
  }
  return found;
}

function descendants(rootPid) {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      (children.get(ppid) ?? children.set(ppid, []).get(ppid)).push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const out = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** utime + stime of a process, in ms (Linux /proc). */
function procCpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms (USER_HZ 100)
  } catch {
    return 0;
  }
}

async function cpuSnapshot(db, stack) {
  const snapshot = {};
  for (const [role, pids] of Object.entries(stackProcesses(stack)))
    snapshot[role] = pids.reduce((sum, pid) => sum + procCpuMs(pid), 0);
  const { rows } = await db.query(`SELECT pid FROM pg_stat_activity WHERE datname = $1`, [dbName]);
  snapshot.postgres = rows.reduce((sum, row) => sum + procCpuMs(row.pid), 0);
  const self = process.cpuUsage();
  snapshot['bench client'] = (self.user + self.system) / 1000;
  return snapshot;
}

// ---------------------------------------------------------------------------------------------
// The load

async function openWallets(client, count) {
  const ids = [];
  for (let start = 0; start < count; start += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, count - start) }, async (_, j) => {
        const i = start + j;
        const wallet = await client.openWallet({
          idempotencyKey: `bench-${runId}-open-${i}`,
          ownerType: 'PERSONAL',
          ownerId: `bench-user-${i}`,
          currency: 'IDR',
        });
        await client.topUp({
          idempotencyKey: `bench-${runId}-top-${i}`,
          walletId: wallet.walletId,
          amount: '1000000000',
          reference: `bench-${i}`,
        });
        return wallet.walletId;
      }),
    );
    ids.push(...batch);
  }
  return ids;
}

let sequence = 0;
/** Two thirds transfers between random wallets, one third usages with a vendor cost. */
function nextAction(wallets) {
  const i = sequence++;
  const key = `bench-${runId}-${i}`;
  const from = wallets[Math.floor(Math.random() * wallets.length)];
  if (i % 3 === 2)
    return {
      bookUsage: {
        idempotencyKey: key,
        walletId: from,
        amount: '40',
        productCode: 'esign.basic',
        costAmount: '10',
      },
    };
  let to = from;
  while (to === from) to = wallets[Math.floor(Math.random() * wallets.length)];
  return { transfer: { idempotencyKey: key, fromWalletId: from, toWalletId: to, amount: '1' } };
}

async function drive(mode, client, wallets, seconds) {
  const latencies = [];
  let actions = 0;
  let errors = 0;
  let firstError;
  const warmupEnd = Date.now() + WARMUP_MS;
  const end = warmupEnd + seconds * 1000;
  let measuredStart;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const started = performance.now();
        let done = 0;
        try {
          if (mode === 'batch') {
            const batch = Array.from({ length: batchSize }, () => nextAction(wallets));
            const response = await client.submitBatch({ actions: batch });
            for (const outcome of response.outcomes ?? []) {
              if (outcome.error) {
                errors += 1;
                firstError ??= `${outcome.error.code} ${outcome.error.message}`;
              } else done += 1;
            }
          } else {
            const action = nextAction(wallets);
            if (action.transfer) await client.transfer(action.transfer);
            else await client.bookUsage(action.bookUsage);
            done = 1;
          }
        } catch (error) {
          errors += mode === 'batch' ? batchSize : 1;
          firstError ??= `${error.code} ${error.details ?? error.message}`;
        }
        if (Date.now() >= warmupEnd) {
          measuredStart ??= Date.now();
          latencies.push(performance.now() - started);
          actions += done;
        }
      }
    }),
  );
  const elapsedS = (Date.now() - (measuredStart ?? warmupEnd)) / 1000;
  latencies.sort((a, b) => a - b);
  const pick = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { actions, elapsedS, perS: actions / elapsedS, p50: pick(0.5), p99: pick(0.99), errors, firstError };
}

async function measure(mode, client, wallets, db, stack, ports) {
  const metricsUrl = `http://127.0.0.1:${ports.ledgerHttp}/metrics`;
  const windowStart = (await db.query(`SELECT clock_timestamp() AS now`)).rows[0].now;
  const lagBefore = parseHistogram(await httpText(metricsUrl), 'saldo_mirror_lag_seconds');
  const cpuBefore = await cpuSnapshot(db, stack);
  let maxBacklog = 0;
  const sampler = setInterval(async () => {
    try {
      maxBacklog = Math.max(maxBacklog, await outboxBacklog(db));
    } catch {
      // sampling only
    }
  }, 1_000);
  const load = await drive(mode, client, wallets, durationS);
  clearInterval(sampler);
  const cpuAfter = await cpuSnapshot(db, stack);
  const backlogAtEnd = await outboxBacklog(db);
  const loadEnd = Date.now();
  const drained = await waitDrained(db, ports, `${mode} load`);
  const lagAfter = parseHistogram(await httpText(metricsUrl), 'saldo_mirror_lag_seconds');
  const erp = await erpSyncLag(db, windowStart);
  const cpu = {};
  for (const role of Object.keys(cpuAfter)) cpu[role] = (cpuAfter[role] ?? 0) - (cpuBefore[role] ?? 0);
  return {
    mode,
    load,
    cpu,
    maxBacklog: Math.max(maxBacklog, backlogAtEnd),
    backlogAtEnd,
    drainedS: (drained - loadEnd) / 1000,
    mirrorLagP99: histogramQuantile(lagBefore, lagAfter, 0.99),
    erp,
  };
}

async function outboxBacklog(db) {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM ledger.outbox WHERE published_at IS NULL`);
  return rows[0].n;
}

/** Waits until the outbox, the mirror and erp-sync's ingest have caught up; returns when. */
async function waitDrained(db, ports, what) {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const { rows } = await db.query(`
      SELECT (SELECT count(*) FROM ledger.outbox WHERE published_at IS NULL)::int AS outbox,
             (SELECT count(*) FROM ledger.mirror_state
               WHERE pending_version > mirrored_version OR pending_shadow_revision > mirrored_shadow_revision)::int AS mirror,
             (SELECT count(*) FROM ledger.outbox o
               WHERE o.published_at IS NOT NULL AND o.created_at > clock_timestamp() - interval '15 minutes'
                 AND NOT EXISTS (SELECT 1 FROM erp_sync.processed_events p WHERE p.event_id = o.id || '.1'))::int AS erp`);
    const left = rows[0];
    if (left.outbox === 0 && left.mirror === 0 && left.erp === 0) return Date.now();
    if (Date.now() > deadline) {
      console.log(`bench: ${what}: not drained in ${DRAIN_TIMEOUT_MS / 1000} s: ${JSON.stringify(left)}`);
      return Date.now();
    }
    await sleep(250);
  }
}

/** Ledger commit → erp-sync recorded the event, for the window's events. */
async function erpSyncLag(db, since) {
  const { rows } = await db.query(
    `SELECT count(*)::int AS events,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM p.processed_at - o.created_at)) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM p.processed_at - o.created_at)) AS p99,
            max(extract(epoch FROM p.processed_at - o.created_at)) AS max
       FROM erp_sync.processed_events p
       JOIN ledger.outbox o ON o.id = split_part(p.event_id, '.', 1)::bigint
      WHERE o.created_at >= $1`,
    [since],
  );
  return rows[0];
}

function parseHistogram(text, name) {
  const buckets = new Map();
  for (const line of text.split('\n')) {
    const match = line.match(new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)`));
    if (match) buckets.set(match[1], (buckets.get(match[1]) ?? 0) + Number(match[2]));
  }
  return buckets;
}

/** The q-quantile of the observations between two snapshots of a cumulative histogram (bucket upper bound). */
function histogramQuantile(before, after, q) {
  const bounds = [...after.keys()].sort((a, b) =>
    a === '+Inf' ? 1 : b === '+Inf' ? -1 : Number(a) - Number(b),
  );
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total === 0) return undefined;
  const index = counts.findIndex((count) => count >= q * total);
  return bounds[index] === '+Inf' ? Infinity : Number(bounds[index]);
}

function runVerify(env) {
  try {
    const out = execFileSync(
      process.execPath,
      [path.join(root, 'dist/out-tsc/apps/wallet-ledger/src/cli.js'), 'verify'],
      {
        env: { ...env, LOG_LEVEL: 'warn' },
        encoding: 'utf8',
      },
    );
    return { status: 0, out: out.trim() };
  } catch (error) {
    return { status: error.status ?? 1, out: `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() };
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function report(results, verify) {
  console.log('');
  for (const r of results) {
    const { load } = r;
    const total = Object.values(r.cpu).reduce((a, b) => a + b, 0);
    const per = (ms) => (load.actions > 0 ? (ms / load.actions).toFixed(2) : 'n/a');
    console.log(
      `${r.mode}: ${load.perS.toFixed(0)} actions/s (${load.actions} in ${load.elapsedS.toFixed(1)} s, ${concurrency} clients` +
        `${r.mode === 'batch' ? `, ${batchSize} per call` : ''}), p50 ${load.p50.toFixed(1)} ms, p99 ${load.p99.toFixed(1)} ms per call, ` +
        `${load.errors} errors${load.firstError ? ` (first: ${load.firstError})` : ''}`,
    );
    console.log(
      `  CPU ms per action: total ${per(total)} = ` +
        Object.entries(r.cpu)
          .sort((a, b) => b[1] - a[1])
          .map(([role, ms]) => `${role} ${per(ms)}`)
          .join(', '),
    );
    const lag =
      r.mirrorLagP99 === undefined
        ? 'n/a'
        : r.mirrorLagP99 === Infinity
          ? '> 300 s'
          : `≤ ${r.mirrorLagP99} s`;
    console.log(
      `  outbox backlog: max ${r.maxBacklog} rows, ${r.backlogAtEnd} when the load stopped; mirror lag p99 ${lag}; ` +
        `erp-sync lag p50 ${fmtS(r.erp.p50)}, p99 ${fmtS(r.erp.p99)}, max ${fmtS(r.erp.max)} over ${r.erp.events} events; ` +
        `everything drained ${r.drainedS.toFixed(1)} s after the load stopped`,
    );
  }
  console.log(
    `ledger verify: ${verify.status === 0 ? 'passed' : 'FAILED'}${verify.out ? `\n${indent(verify.out)}` : ''}`,
  );
}

const fmtS = (s) => (s === null || s === undefined ? 'n/a' : `${Number(s).toFixed(2)} s`);
const indent = (text) =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

// ---------------------------------------------------------------------------------------------
// Helpers

function positive(name, fallback) {
  if (args[name] === undefined) return fallback;
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name}: expected a whole number ≥ 1, got ${args[name]}`);
  return value;
}

function readEnvFile(file) {
  return Object.fromEntries(
    [...fs.readFileSync(file, 'utf8').matchAll(/^([A-Z_][A-Z0-9_]*)='(.*)'$/gm)].map((m) => [m[1], m[2]]),
  );
}

function httpText(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function dropDatabase(name) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (!arg.startsWith('--')) continue;
    const key = arg.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[key] = true;
    else {
      out[key] = next;
      i += 1;
    }
  }
  return out;
}

async function cleanup() {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch {
      // best effort: keep cleaning
    }
  }
  fs.rmSync(stateDir, { recursive: true, force: true });
}

process.once('SIGINT', () => cleanup().then(() => process.exit(130)));
main()
  .then(cleanup, async (error) => {
    console.error(`bench failed: ${error.stack ?? error}`);
    await cleanup();
    process.exit(1);
  })
  .then(() => process.exit(process.exitCode ?? 0));
