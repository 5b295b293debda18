#!/usr/bin/env node
// `npm run drill`: Saldo's own fault drill (issue 11). It starts a PostgreSQL cluster of its own
// (initdb into a temporary directory), a Redis server of its own and the built wallet-ledger and
// transaction-aggregator on its own ports (DRILL_PORT_BASE, default 51300), runs a bank workload
// whose clients retry with the same idempotency key, and breaks one thing at a time:
//
//   kill -9 of the ledger, kill -9 of the aggregator, a PostgreSQL restart, Redis stopped,
//   the ledger paused (SIGSTOP/SIGCONT), and a flood of calls from one tenant.
//
// Then it checks: no INTERNAL/UNKNOWN answer at any time; each acknowledged write is in the ledger
// exactly once and no refused one is; money is conserved (the wallets hold exactly the acknowledged
// top-ups minus usages); no negative balance; `ledger verify` passes. One table row per fault:
// seconds unavailable, retries, recovery time, checks. Exit 0 only if every check passed.
// The machine's shared PostgreSQL and Redis are never touched.
//
//   npm run drill -- [--short] [--hold 5] [--workers 8] [--wallets 20]
//
// Not in this drill yet: erp-sync, the Pub/Sub emulator and the Firestore mirror (relay off).
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, chownSync, mkdirSync, createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const pg = require('pg');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const args = parseArgs(process.argv.slice(2));
const SHORT = Boolean(args.short);
const HOLD_S = Number(args.hold ?? (SHORT ? 2 : 5));
const WORKERS = Number(args.workers ?? (SHORT ? 4 : 8));
const WALLETS = Number(args.wallets ?? (SHORT ? 8 : 20));
const STEADY_S = SHORT ? 1 : 3;
const BASE = Number(process.env.DRILL_PORT_BASE ?? 51300);
const PORTS = {
  pg: BASE + 10,
  redis: BASE + 11,
  ledger: BASE + 20,
  ledgerHttp: BASE + 21,
  aggregator: BASE + 30,
  aggregatorHttp: BASE + 31,
};
const TENANT = 'drill';
const FLOOD_TENANT = 'drill-flood';
const KEY = `drill-${randomBytes(16).toString('hex')}`;
const FLOOD_KEY = `drill-flood-${randomBytes(16).toString('hex')}`;
const TOKEN = `drill-svc-${randomBytes(16).toString('hex')}`;
const KEK = randomBytes(32).toString('base64');
const RETRYABLE = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.ABORTED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.DEADLINE_EXCEEDED,
]);

const dir = mkdtempSync(path.join(os.tmpdir(), 'saldo-drill-'));
const pgData = path.join(dir, 'pg');
const pgSock = path.join(dir, 'sock');
const logDir = path.join(dir, 'logs');
mkdirSync(pgSock);
mkdirSync(logDir);
const pgBin = pgBinDir();
const asPostgres = process.getuid?.() === 0;
const dbUrl = `postgres://postgres@127.0.0.1:${PORTS.pg}/saldo_drill`;
const children = new Map();

const log = (line) => process.stdout.write(`drill: ${line}\n`);

// ---------------------------------------------------------------------------------------------
// Our own PostgreSQL and Redis

function pgBinDir() {
  const versions = spawnSync('ls', ['/usr/lib/postgresql'], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .filter(Boolean);
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest ? `/usr/lib/postgresql/${newest}/bin` : '';
}

function pgCommand(tool, toolArgs) {
  const bin = pgBin ? path.join(pgBin, tool) : tool;
  // initdb and postgres refuse to run as root: run them as the postgres user.
  const command = asPostgres ? ['runuser', ['-u', 'postgres', '--', bin, ...toolArgs]] : [bin, toolArgs];
  const result = spawnSync(command[0], command[1], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${tool} failed: ${result.stderr || result.stdout}`);
  return result.stdout;
}

function startPostgres() {
  pgCommand('pg_ctl', [
    '-D',
    pgData,
    '-l',
    path.join(logDir, 'postgres.log'),
    '-w',
    '-t',
    '60',
    '-o',
    `-p ${PORTS.pg} -k ${pgSock} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off`,
    'start',
  ]);
}

function stopPostgres(mode = 'fast') {
  pgCommand('pg_ctl', ['-D', pgData, '-m', mode, '-w', '-t', '60', 'stop']);
}

async function setupPostgres() {
  if (asPostgres) {
    chownSync(dir, uidOf('postgres'), -1);
    for (const d of [pgSock, logDir]) chownSync(d, uidOf('postgres'), -1);
  }
  pgCommand('initdb', ['-D', pgData, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  startPostgres();
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${PORTS.pg}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE saldo_drill');
  await admin.end();
}

function uidOf(user) {
  return Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
}

function startRedis() {
  start(
    'redis',
    'redis-server',
    ['--port', String(PORTS.redis), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {},
  );
}

// ---------------------------------------------------------------------------------------------
// The services, from the build

function serviceEnv() {
  return {
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: dbUrl,
    REDIS_URL: `redis://127.0.0.1:${PORTS.redis}`,
    LEDGER_GRPC_URL: `127.0.0.1:${PORTS.ledger}`,
    LEDGER_HTTP_PORT: String(PORTS.ledgerHttp),
    LEDGER_HTTP_HOST: '127.0.0.1',
    LEDGER_SERVICE_TOKEN: TOKEN,
    LEDGER_OUTBOX_RELAY_ENABLED: 'false',
    LEDGER_MIRROR_ENABLED: 'false',
    METADATA_SERVER_DETECTION: 'none',
    LEDGER_DB_POOL_SIZE: '8',
    AGGREGATOR_GRPC_URL: `127.0.0.1:${PORTS.aggregator}`,
    AGGREGATOR_HTTP_PORT: String(PORTS.aggregatorHttp),
    AGGREGATOR_HTTP_HOST: '127.0.0.1',
    AGGREGATOR_CONNECT_PORT: String(BASE + 32),
    AGGREGATOR_CONNECT_HOST: '127.0.0.1',
    AGGREGATOR_LEDGER_TARGET: `127.0.0.1:${PORTS.ledger}`,
    AGGREGATOR_LEDGER_DEADLINE_MS: '3000',
    AGGREGATOR_DB_POOL_SIZE: '8',
    AGGREGATOR_PUBSUB_ENABLED: 'false',
    AGGREGATOR_TENANT_RATE_PER_S: '400',
    AGGREGATOR_KEY_MAX_IN_FLIGHT: '32',
    SALDO_KEY_ENCRYPTION_KEY: KEK,
    SALDO_API_KEYS: `${TENANT}=${KEY},${FLOOD_TENANT}=${FLOOD_KEY}`,
    SALDO_TRACING: 'off',
    LOG_LEVEL: 'warn',
  };
}

function start(name, command, commandArgs, env) {
  const out = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(command, commandArgs, {
    cwd: root,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  children.set(name, child);
  return child;
}

function startLedger() {
  return start(
    'ledger',
    process.execPath,
    [path.join(root, 'dist/out-tsc/apps/wallet-ledger/src/main.js')],
    serviceEnv(),
  );
}

function startAggregator() {
  return start(
    'aggregator',
    process.execPath,
    [path.join(root, 'dist/out-tsc/apps/transaction-aggregator/src/main.js')],
    serviceEnv(),
  );
}

function kill(name, signal = 'SIGKILL') {
  const child = children.get(name);
  if (!child || child.exitCode !== null) return Promise.resolve();
  const gone = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-child.pid, signal);
  } catch {
    return Promise.resolve();
  }
  return signal === 'SIGKILL' || signal === 'SIGTERM' ? gone : Promise.resolve();
}

function migrate() {
  for (const app of ['wallet-ledger', 'transaction-aggregator']) {
    const result = spawnSync(
      process.execPath,
      [path.join(root, `dist/out-tsc/apps/${app}/src/cli.js`), 'migrate'],
      {
        cwd: root,
        env: serviceEnv(),
        encoding: 'utf8',
      },
    );
    if (result.status !== 0) throw new Error(`migrate ${app}: ${result.stderr}`);
  }
}

// ---------------------------------------------------------------------------------------------
// A TransactionService client and the workload

const definition = protoLoader.loadSync(path.join(root, 'proto/saldo/transaction/v1/transaction.proto'), {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [path.join(root, 'proto')],
});
const Service = grpc.loadPackageDefinition(definition).saldo.transaction.v1.TransactionService;

function client() {
  return new Service(`127.0.0.1:${PORTS.aggregator}`, grpc.credentials.createInsecure(), {
    'grpc.max_reconnect_backoff_ms': 500,
    'grpc.initial_reconnect_backoff_ms': 100,
  });
}

function call(c, key, method, request, deadlineMs = 5_000) {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${key}`);
  return new Promise((resolve) =>
    c[method](request, metadata, { deadline: new Date(Date.now() + deadlineMs) }, (error, response) =>
      resolve(error ? { error } : { response }),
    ),
  );
}

const stats = {
  answers: new Map(), // status name → count
  broken: [], // INTERNAL/UNKNOWN answers
  acked: new Map(), // key → { kind, amount, from, to }
  refused: new Set(),
  retries: 0,
  lastOkAt: 0,
  firstRetryableAt: 0,
};

function count(code) {
  const name = grpc.status[code] ?? String(code);
  stats.answers.set(name, (stats.answers.get(name) ?? 0) + 1);
}

/** One write, retried with the same key until a definite answer (bounded by 90 s). */
async function write(c, method, request, record) {
  const started = Date.now();
  for (let attempt = 0; ; attempt += 1) {
    const { error, response } = await call(c, KEY, method, request);
    if (!error) {
      count(grpc.status.OK);
      stats.lastOkAt = Date.now();
      stats.acked.set(request.idempotencyKey, record(response));
      return;
    }
    count(error.code);
    if (error.code === grpc.status.INTERNAL || error.code === grpc.status.UNKNOWN) {
      stats.broken.push(`${method} ${request.idempotencyKey}: ${grpc.status[error.code]} ${error.details}`);
      return;
    }
    if (!RETRYABLE.has(error.code)) {
      stats.refused.add(request.idempotencyKey);
      return;
    }
    stats.retries += 1;
    if (Date.now() - started > 90_000) {
      stats.broken.push(
        `${method} ${request.idempotencyKey}: no definite answer in 90 s (${grpc.status[error.code]})`,
      );
      return;
    }
    const retryAfter = Number(error.metadata?.get('retry-after-ms')[0] ?? 0);
    await sleep(
      Math.max(retryAfter, Math.min(1_000, 50 * 2 ** Math.min(attempt, 4))) * (0.5 + Math.random()),
    );
  }
}

let running = false;
let opCounter = 0;

async function worker(c, wallets) {
  while (running) {
    const n = (opCounter += 1);
    const key = `op-${n}-${randomBytes(3).toString('hex')}`;
    const a = wallets[Math.floor(Math.random() * wallets.length)];
    const b = wallets[Math.floor(Math.random() * wallets.length)];
    const amount = 1 + Math.floor(Math.random() * 500);
    const roll = Math.random();
    if (roll < 0.5)
      await write(
        c,
        'topUp',
        { idempotencyKey: key, walletId: a, amount: String(amount), metadata: {} },
        () => ({ kind: 'topup', amount, to: a }),
      );
    else if (roll < 0.8)
      await write(
        c,
        'bookUsage',
        { idempotencyKey: key, walletId: a, amount: String(amount), productCode: 'drill', metadata: {} },
        () => ({ kind: 'usage', amount, from: a }),
      );
    else if (a !== b)
      await write(
        c,
        'transfer',
        { idempotencyKey: key, fromWalletId: a, toWalletId: b, amount: String(amount), metadata: {} },
        () => ({ kind: 'transfer', amount, from: a, to: b }),
      );
  }
}

async function waitServing(name, timeoutMs = 60_000) {
  const c = client();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const { error } = await call(
        c,
        KEY,
        'getWallet',
        { walletId: '00000000-0000-4000-8000-000000000000' },
        1_000,
      );
      if (error && error.code === grpc.status.NOT_FOUND) return;
      // A service that exited while starting (e.g. its port taken for a moment) starts again.
      if (children.get('ledger')?.exitCode !== null) startLedger();
      if (children.get('aggregator')?.exitCode !== null) startAggregator();
      if (Date.now() > deadline)
        throw new Error(`${name}: the stack did not answer within ${timeoutMs} ms (${error?.details})`);
      await sleep(200);
    }
  } finally {
    c.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Faults

const FAULTS = [
  {
    name: 'kill -9 ledger',
    inject: () => kill('ledger'),
    heal: () => startLedger(),
  },
  {
    name: 'kill -9 aggregator',
    inject: () => kill('aggregator'),
    heal: () => startAggregator(),
  },
  {
    name: 'PostgreSQL restart',
    inject: () => stopPostgres('fast'),
    heal: () => startPostgres(),
  },
  {
    name: 'Redis stopped',
    inject: () => kill('redis', 'SIGTERM'),
    heal: () => startRedis(),
  },
  {
    name: 'ledger paused (SIGSTOP)',
    inject: () => kill('ledger', 'SIGSTOP'),
    heal: () => kill('ledger', 'SIGCONT'),
  },
  {
    name: 'flood from one tenant',
    inject: async (context) => {
      context.flood = flood(SHORT ? 400 : 1_500);
    },
    heal: async (context) => {
      context.floodResult = await context.flood;
    },
  },
];

/** Many concurrent calls from another tenant (RESOURCE_EXHAUSTED is the expected refusal). */
async function flood(n) {
  const c = client();
  const wallet = await call(c, FLOOD_KEY, 'openWallet', {
    idempotencyKey: `flood-open-${randomBytes(3).toString('hex')}`,
    ownerType: 'PERSONAL',
    ownerId: 'flood',
    currency: 'USD',
    metadata: {},
  });
  const walletId = wallet.response?.walletId;
  const answers = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      i % 4 === 0
        ? call(c, FLOOD_KEY, 'topUp', {
            idempotencyKey: `flood-${i}-${randomBytes(3).toString('hex')}`,
            walletId,
            amount: '1',
            metadata: {},
          })
        : call(c, FLOOD_KEY, 'getWallet', { walletId }),
    ),
  );
  c.close();
  const broken = answers.filter(
    (a) => a.error && (a.error.code === grpc.status.INTERNAL || a.error.code === grpc.status.UNKNOWN),
  );
  for (const a of broken) stats.broken.push(`flood: ${grpc.status[a.error.code]} ${a.error.details}`);
  return {
    refused: answers.filter((a) => a.error?.code === grpc.status.RESOURCE_EXHAUSTED).length,
    broken: broken.length,
  };
}

async function runFault(fault) {
  const before = { retries: stats.retries, broken: stats.broken.length };
  await sleep(STEADY_S * 1_000);
  const context = {};
  const injectedAt = Date.now();
  await fault.inject(context);
  await sleep(HOLD_S * 1_000);
  await fault.heal(context);
  const healedAt = Date.now();
  // Recovery: the first acknowledged write after the fault was healed.
  const deadline = Date.now() + 90_000;
  const okBefore = stats.lastOkAt;
  while (stats.lastOkAt <= Math.max(okBefore, healedAt) && Date.now() < deadline) await sleep(50);
  const recoveredAt = stats.lastOkAt > healedAt ? stats.lastOkAt : NaN;
  return {
    fault: fault.name,
    unavailableS: ((recoveredAt - injectedAt) / 1_000).toFixed(1),
    retries: stats.retries - before.retries,
    recoveryS: ((recoveredAt - healedAt) / 1_000).toFixed(1),
    broken: stats.broken.length - before.broken,
    extra: context.floodResult
      ? `${context.floodResult.refused} of the flood refused RESOURCE_EXHAUSTED`
      : '',
  };
}

// ---------------------------------------------------------------------------------------------
// Checks

async function checks(wallets) {
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  try {
    const results = [];
    results.push([
      'no INTERNAL/UNKNOWN answer',
      stats.broken.length === 0,
      stats.broken.slice(0, 3).join('; '),
    ]);
    const rows = (
      await db.query(`SELECT idempotency_key FROM ledger.transactions WHERE tenant_id = $1`, [TENANT])
    ).rows;
    const perKey = new Map();
    for (const { idempotency_key } of rows) {
      const key = idempotency_key.replace(/^agg:([a-z-]+:)?/, '');
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
    }
    const ackedOps = [...stats.acked.keys()].filter((k) => k.startsWith('op-'));
    const missing = ackedOps.filter((k) => perKey.get(k) !== 1);
    const refusedPosted = [...stats.refused].filter((k) => perKey.has(k));
    results.push([
      'each acknowledged write exactly once',
      missing.length === 0,
      missing.slice(0, 3).join(', '),
    ]);
    results.push([
      'no refused write posted',
      refusedPosted.length === 0,
      refusedPosted.slice(0, 3).join(', '),
    ]);
    let expected = 0n;
    for (const op of stats.acked.values()) {
      if (op.kind === 'topup') expected += BigInt(op.amount);
      if (op.kind === 'usage') expected -= BigInt(op.amount);
    }
    const walletRows = (
      await db.query(
        `SELECT a.credits_posted - a.debits_posted AS balance FROM ledger.accounts a
          JOIN aggregator.wallets w ON w.ledger_account_id = a.id WHERE w.tenant_id = $1 AND w.id = ANY($2::uuid[])`,
        [TENANT, wallets],
      )
    ).rows;
    const total = walletRows.reduce((sum, r) => sum + BigInt(r.balance), 0n);
    results.push([
      'money conserved (wallets = acked top-ups − usages)',
      total === expected,
      `wallets ${total}, expected ${expected}`,
    ]);
    results.push(['no negative balance', walletRows.every((r) => BigInt(r.balance) >= 0n), '']);
    const verify = spawnSync(
      process.execPath,
      [path.join(root, 'dist/out-tsc/apps/wallet-ledger/src/cli.js'), 'verify'],
      {
        cwd: root,
        env: serviceEnv(),
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    results.push([
      'ledger verify',
      verify.status === 0,
      verify.status === 0 ? '' : (verify.stdout + verify.stderr).slice(-300),
    ]);
    return results;
  } finally {
    await db.end();
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  log(
    `own PostgreSQL on 127.0.0.1:${PORTS.pg}, own Redis on ${PORTS.redis}, services on ${PORTS.ledger}/${PORTS.aggregator}; logs in ${logDir}`,
  );
  await setupPostgres();
  startRedis();
  migrate();
  startLedger();
  startAggregator();
  await waitServing('stack');
  const c = client();
  const wallets = [];
  for (let i = 0; i < WALLETS; i += 1) {
    const { response, error } = await call(c, KEY, 'openWallet', {
      idempotencyKey: `open-${i}`,
      ownerType: 'PERSONAL',
      ownerId: `customer-${i}`,
      currency: 'USD',
      metadata: {},
    });
    if (error) throw new Error(`OpenWallet: ${error.details}`);
    wallets.push(response.walletId);
  }
  running = true;
  const clients = Array.from({ length: WORKERS }, () => client());
  const work = clients.map((wc) => worker(wc, wallets));
  const rows = [];
  for (const fault of FAULTS) {
    log(`fault: ${fault.name}`);
    rows.push(await runFault(fault));
  }
  await sleep(STEADY_S * 1_000);
  running = false;
  await Promise.all(work);
  for (const wc of clients) wc.close();
  c.close();
  const results = await checks(wallets);

  const table = [
    ['fault', 'unavailable s', 'retries', 'recovery s', 'INTERNAL/UNKNOWN', 'note'],
    ...rows.map((r) => [r.fault, r.unavailableS, String(r.retries), r.recoveryS, String(r.broken), r.extra]),
  ];
  printTable(table);
  printTable([
    ['check', 'result', 'detail'],
    ...results.map(([name, ok, detail]) => [name, ok ? 'ok' : 'FAILED', detail ?? '']),
  ]);
  const answers = [...stats.answers.entries()].map(([k, v]) => `${k} ${v}`).join(', ');
  log(`${stats.acked.size} writes acknowledged, ${stats.refused.size} refused for good; answers: ${answers}`);
  const ok = results.every(([, passed]) => passed) && rows.every((r) => r.recoveryS !== 'NaN');
  log(ok ? 'PASSED' : 'FAILED');
  return ok ? 0 : 1;
}

function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => `| ${r.map((cell, i) => String(cell).padEnd(widths[i])).join(' | ')} |`;
  process.stdout.write(
    `${line(rows[0])}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.slice(1).map(line).join('\n')}\n`,
  );
}

async function teardown() {
  for (const name of ['aggregator', 'ledger', 'redis']) {
    await kill(name, 'SIGCONT');
    await kill(name, 'SIGKILL');
  }
  try {
    stopPostgres('immediate');
  } catch {
    // already stopped
  }
  if (!process.env.DRILL_KEEP) rmSync(dir, { recursive: true, force: true });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (!arg.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[arg.slice(2)] = true;
    else {
      out[arg.slice(2)] = next;
      i += 1;
    }
  }
  return out;
}

let code = 1;
process.once('SIGINT', () => void teardown().then(() => process.exit(130)));
process.once('SIGTERM', () => void teardown().then(() => process.exit(143)));
try {
  code = await main();
} catch (error) {
  process.stderr.write(`drill: ${error instanceof Error ? error.stack : String(error)}\n`);
} finally {
  await teardown();
}
process.exit(code);
