#!/usr/bin/env node
// Benchmarks the wallet-ledger and, in the same run on the same PostgreSQL, pgbench's tpcb-like at
// the same client count, then prints one ratio per workload (figures on shared machines are noisy;
// ratios measured side by side are what to compare) and the CPU each process spent per action.
//
//   npm run bench:ledger -- [--concurrency 16] [--duration 15] [--wallets 1000] [--batch 1000]
//                           [--grown-entries 5000000] [--skip-pgbench] [--skip-aggregator] [--skip-grown]
//                           [--only sql-batch,ledger-unary,…] [--profile-ledger]
//
// Workloads (transfers of 1 between funded wallets; `concurrency` closed-loop clients unless said):
// - sql-batch: ledger.post_commands called directly by this process, `--batch` transfers per call;
//   each client draws its transfers from its own share of the wallets (a partitioned queue), so
//   clients do not queue on each other's row locks;
// - ledger-unary: LedgerService.PostTransaction, random wallets;
// - ledger-batch: LedgerService.PostBatch, `--batch` transfers per call, wallets shared as in sql-batch;
// - hot-wallet: PostTransaction, every debit on one wallet;
// - ledger-unary @50%: an open loop at half the ledger-unary rate, for its p99 (goal <= 25 ms);
// - e2e-unary / e2e-batch: TransactionService.Transfer / SubmitBatch (product API -> aggregator ->
//   ledger), personal wallets, an API key (e2e-batch only when the aggregator serves SubmitBatch);
// - grown: ledger-unary again after `--grown-entries` entries were preloaded (see preloadHistory).
// Every run ends with `ledger verify` on its database.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const pg = require('pg');

const args = parseArgs(process.argv.slice(2));
const concurrency = Number(args.concurrency ?? 16);
const durationS = Number(args.duration ?? 15);
const walletCount = Number(args.wallets ?? 1000);
const batchSize = Number(args.batch ?? 1000);
const grownEntries = Number(args['grown-entries'] ?? 5_000_000);
/** --only sql-batch,ledger-unary,…: run only these workloads. */
const want = (name) => !args.only || String(args.only).split(',').includes(name);
const pgHost = process.env.PGHOST ?? '127.0.0.1';
const pgPort = process.env.PGPORT ?? '5432';
const pgUser = process.env.PGUSER ?? 'postgres';
const runId = randomBytes(3).toString('hex');
const dbName = `saldo_bench_${runId}`;
const pgbenchDb = `saldo_bench_${runId}_pgbench`;
const adminUrl = `postgres://${pgUser}@${pgHost}:${pgPort}/postgres`;
const dbUrl = `postgres://${pgUser}@${pgHost}:${pgPort}/${dbName}`;
const token = `bench-${randomBytes(16).toString('hex')}`;

let ledgerProcess;
let aggregatorProcess;
const cleanups = [];

async function main() {
  console.log(`bench: building…`);
  execFileSync(process.execPath, [path.join(root, 'tools/scripts/build.mjs')], { stdio: 'inherit' });
  await admin(`CREATE DATABASE ${dbName}`);
  cleanups.push(() => dropDatabase(dbName));
  execFileSync(process.execPath, [path.join(root, 'dist/out-tsc/apps/wallet-ledger/src/cli.js'), 'migrate'], {
    env: { ...process.env, DATABASE_URL: dbUrl },
    stdio: 'inherit',
  });
  const aggregatorCli = path.join(root, 'dist/out-tsc/apps/transaction-aggregator/src/cli.js');
  if (!args['skip-aggregator']) {
    execFileSync(process.execPath, [aggregatorCli, 'migrate'], {
      env: { ...process.env, DATABASE_URL: dbUrl },
      stdio: 'inherit',
    });
  }

  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  // --profile-ledger writes a V8 CPU profile of the ledger process to tmp/bench-profiles/.
  const profileArgs = args['profile-ledger']
    ? ['--cpu-prof', `--cpu-prof-dir=${path.join(root, 'tmp/bench-profiles')}`]
    : [];
  ledgerProcess = spawn(
    process.execPath,
    [...profileArgs, path.join(root, 'dist/out-tsc/apps/wallet-ledger/src/main.js')],
    {
      env: {
        ...process.env,
        DATABASE_URL: dbUrl,
        LEDGER_GRPC_URL: address,
        LEDGER_SERVICE_TOKEN: token,
        LEDGER_DB_POOL_SIZE: String(concurrency + 4),
        LEDGER_HTTP_PORT: '0',
        // The posting path alone: the outbox rows are written (same transaction), not drained.
        LEDGER_OUTBOX_RELAY_ENABLED: 'false',
        LEDGER_MIRROR_ENABLED: 'false',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  cleanups.push(() => stopProcess(ledgerProcess));

  const { createGrpcClient } = require(
    path.join(root, 'dist/out-tsc/libs/infra/grpc-kit/src/grpc-client.js'),
  );
  const protoRoot = path.join(root, 'proto');
  const { client, close } = createGrpcClient({
    protoPath: path.join(protoRoot, 'saldo/ledger/v1/ledger.proto'),
    includeDirs: [protoRoot],
    serviceName: 'saldo.ledger.v1.LedgerService',
    address,
    token,
    defaultDeadlineMs: 60_000,
  });
  cleanups.push(close);
  await waitForLedger(client);

  const tenantId = `bench-${runId}`;
  console.log(`bench: opening ${walletCount} wallets…`);
  const wallets = await setUp(client, tenantId, walletCount);
  const hot = wallets[0];
  const cold = wallets.slice(1);
  const results = new Map();
  const workload = async (name, run) => {
    if (want(name)) results.set(name, await run());
  };
  const pick = () => cold[Math.floor(Math.random() * cold.length)];
  const uniformPair = () => {
    const from = pick();
    let to = from;
    while (to === from) to = pick();
    return [from, to];
  };

  // sql-batch: the set-based function itself, one Node client per connection.
  const sqlPool = new pg.Pool({ connectionString: dbUrl, max: concurrency });
  cleanups.push(() => sqlPool.end());
  console.log(
    `bench: sql-batch, ledger.post_commands with ${batchSize} transfers per call, ${concurrency} clients, ${durationS}s…`,
  );
  await workload('sql-batch', () =>
    measured(durationS, concurrency, async (i, worker) => {
      const share = cold.filter((_, index) => index % concurrency === worker);
      const rows = await sqlPool.query(
        POST_COMMANDS_SQL,
        postCommandsParams(tenantId, `s-${i}`, share, batchSize),
      );
      const refused = rows.rows.filter((row) => row.entry_id === null && row.code !== null);
      if (refused.length)
        throw new Error(`${refused.length} refused: ${refused[0].code} ${refused[0].message}`);
      return batchSize;
    }),
  );

  console.log(`bench: ledger-unary (PostTransaction, uniform), ${concurrency} clients, ${durationS}s…`);
  await workload('ledger-unary', () =>
    measured(durationS, concurrency, async (i) => {
      const [from, to] = uniformPair();
      await client.postTransaction(transfer(tenantId, `u-${i}`, from, to));
      return 1;
    }),
  );

  console.log(
    `bench: ledger-batch (PostBatch, ${batchSize} per call), ${concurrency} clients, ${durationS}s…`,
  );
  await workload('ledger-batch', () =>
    measured(durationS, concurrency, async (i, worker) => {
      const share = cold.filter((_, index) => index % concurrency === worker);
      const commands = Array.from({ length: batchSize }, (_, j) => ({
        postTransaction: transfer(
          tenantId,
          `b-${i}-${j}`,
          share[j % share.length],
          share[(j + 1) % share.length],
        ),
      }));
      const response = await client.postBatch({ commands });
      const failed = response.outcomes.find((outcome) => !outcome.transaction);
      if (failed) throw new Error(`${failed.error?.code} ${failed.error?.message}`);
      return batchSize;
    }),
  );

  console.log(`bench: hot-wallet (every debit on one wallet, unary), ${concurrency} clients, ${durationS}s…`);
  await workload('hot-wallet', () =>
    measured(durationS, concurrency, async (i) => {
      await client.postTransaction(transfer(tenantId, `h-${i}`, hot, pick()));
      return 1;
    }),
  );

  const halfRate = (results.get('ledger-unary')?.tps ?? 100) / 2;
  console.log(`bench: ledger-unary @50% (open loop at ${halfRate.toFixed(0)}/s), ${durationS}s…`);
  await workload('ledger-unary @50%', () =>
    measured(
      durationS,
      concurrency,
      async (i) => {
        const [from, to] = uniformPair();
        await client.postTransaction(transfer(tenantId, `p-${i}`, from, to));
        return 1;
      },
      { ratePerS: halfRate },
    ),
  );

  if (!args['skip-aggregator'])
    await aggregatorWorkloads(results, createGrpcClient, protoRoot, tenantId, address);

  let pgbenchTps;
  if (!args['skip-pgbench']) {
    console.log(`bench: pgbench tpcb-like, ${concurrency} clients, ${durationS}s, same PostgreSQL…`);
    pgbenchTps = runPgbench();
  }

  let preload;
  if (!args['skip-grown'] && want('grown')) {
    console.log(`bench: preloading ${grownEntries.toLocaleString('en')} entries (set-based INSERT)…`);
    preload = await preloadHistory(tenantId, cold, grownEntries);
    console.log(
      `bench: preloaded in ${(preload.ms / 1000).toFixed(1)}s; grown (ledger-unary), ${concurrency} clients, ${durationS}s…`,
    );
    await workload('grown', () =>
      measured(durationS, concurrency, async (i) => {
        const [from, to] = uniformPair();
        await client.postTransaction(transfer(tenantId, `g-${i}`, from, to));
        return 1;
      }),
    );
  }

  report(results, pgbenchTps, preload);

  console.log('');
  console.log('bench: verifying the ledger after the run…');
  execFileSync(process.execPath, [path.join(root, 'dist/out-tsc/apps/wallet-ledger/src/cli.js'), 'verify'], {
    env: { ...process.env, DATABASE_URL: dbUrl },
    stdio: 'inherit',
  });
}

const POST_COMMANDS_SQL = `SELECT * FROM ledger.post_commands($1::text[], $2::text[], $3::text[], $4::text[],
  $5::text[], $6::int[], $7::text[], $8::jsonb[], $9::jsonb[], $10::uuid[], $11::bigint[], $12::text[], $13::int[],
  $14::uuid[], $15::text[], $16::text[], $17::bigint[])`;

/** `count` transfers of 1 within `share` as ledger.post_commands' arrays (see docs/ledger.md). */
function postCommandsParams(tenantId, keyPrefix, share, count) {
  const fill = (value) => Array.from({ length: count }, () => value);
  const accounts = [];
  const sides = [];
  for (let j = 0; j < count; j += 1) {
    const from = share[Math.floor(Math.random() * share.length)];
    let to = from;
    while (to === from) to = share[Math.floor(Math.random() * share.length)];
    accounts.push(from, to);
    sides.push('debit', 'credit');
  }
  return [
    fill('post'),
    fill(tenantId),
    Array.from({ length: count }, (_, j) => `${keyPrefix}-${j}`),
    Array.from({ length: count }, () => randomUUID()),
    fill('IDR'),
    fill(0),
    fill('TRANSFER'),
    fill('{}'),
    fill('{}'),
    fill(null),
    fill(null),
    fill(null),
    fill(2),
    accounts,
    Array.from({ length: 2 * count }, () => null),
    sides,
    Array.from({ length: 2 * count }, () => '1'),
  ];
}

async function aggregatorWorkloads(results, createGrpcClient, protoRoot, tenantId, ledgerAddress) {
  if (!want('e2e-unary') && !want('e2e-batch')) return;
  const workload = async (name, run) => {
    if (want(name)) results.set(name, await run());
  };
  const apiKey = `bench-key-${randomBytes(16).toString('hex')}`;
  const aggregatorAddress = `127.0.0.1:${await freePort()}`;
  aggregatorProcess = spawn(
    process.execPath,
    [path.join(root, 'dist/out-tsc/apps/transaction-aggregator/src/main.js')],
    {
      env: {
        ...process.env,
        DATABASE_URL: dbUrl,
        AGGREGATOR_GRPC_URL: aggregatorAddress,
        AGGREGATOR_LEDGER_TARGET: ledgerAddress,
        AGGREGATOR_DB_POOL_SIZE: String(concurrency + 4),
        LEDGER_SERVICE_TOKEN: token,
        SALDO_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        SALDO_API_KEYS: `${tenantId}-api=${apiKey}`,
        AGGREGATOR_PUBSUB_ENABLED: 'false',
        AGGREGATOR_HTTP_PORT: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  cleanups.push(() => stopProcess(aggregatorProcess));
  const aggregator = createGrpcClient({
    protoPath: path.join(protoRoot, 'saldo/transaction/v1/transaction.proto'),
    includeDirs: [protoRoot],
    serviceName: 'saldo.transaction.v1.TransactionService',
    address: aggregatorAddress,
    token: apiKey,
    defaultDeadlineMs: 60_000,
  });
  cleanups.push(aggregator.close);
  await waitForAggregator(aggregator.client);
  const count = Math.min(walletCount, 300);
  console.log(`bench: opening ${count} wallets through the aggregator…`);
  const publicWallets = await setUpThroughAggregator(aggregator.client, count);
  const pickPublic = () => publicWallets[Math.floor(Math.random() * publicWallets.length)];
  console.log(`bench: e2e-unary (TransactionService.Transfer), ${concurrency} clients, ${durationS}s…`);
  await workload('e2e-unary', () =>
    measured(durationS, concurrency, async (i) => {
      const from = pickPublic();
      let to = from;
      while (to === from) to = pickPublic();
      await aggregator.client.transfer({
        idempotencyKey: `e2e-${i}`,
        fromWalletId: from,
        toWalletId: to,
        amount: '1',
      });
      return 1;
    }),
  );
  if (typeof aggregator.client.submitBatch !== 'function') {
    console.log(
      'bench: e2e-batch skipped: this build of the aggregator has no TransactionService.SubmitBatch',
    );
    return;
  }
  console.log(
    `bench: e2e-batch (TransactionService.SubmitBatch, ${batchSize} per call), ${concurrency} clients, ${durationS}s…`,
  );
  await workload('e2e-batch', () =>
    measured(durationS, concurrency, async (i, worker) => {
      const share = publicWallets.filter((_, index) => index % concurrency === worker);
      const actions = Array.from({ length: batchSize }, (_, j) => ({
        transfer: {
          idempotencyKey: `e2eb-${i}-${j}`,
          fromWalletId: share[j % share.length],
          toWalletId: share[(j + 1) % share.length],
          amount: '1',
        },
      }));
      const response = await aggregator.client.submitBatch({ actions });
      const failed = response.outcomes.find((outcome) => !outcome.transaction);
      if (failed) throw new Error(`${failed.error?.reason ?? failed.error?.code} ${failed.error?.message}`);
      return batchSize;
    }),
  );
}

/**
 * Preloads `entries` entries of history on the benchmark's wallets, fast: transfers of 1 between
 * wallets (each wallet keeps its funding), written with a few set-based INSERT … SELECT statements
 * straight into transactions, entries (running totals and versions computed with window functions),
 * idempotency keys and the accounts' totals — as the ledger would have written them, minus the
 * outbox (long published and purged in a real ledger). The session runs with
 * session_replication_role = replica, so the guards are not run row by row on 5 million rows;
 * `ledger verify` at the end of the run re-proves every invariant over the whole database instead.
 */
async function preloadHistory(tenantId, wallets, entries) {
  const started = Date.now();
  const transactions = Math.floor(entries / 2);
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    await c.query('SET session_replication_role = replica');
    await c.query("SET work_mem = '256MB'");
    await c.query('BEGIN');
    await c.query('LOCK TABLE ledger.accounts IN EXCLUSIVE MODE');
    await c.query(
      `CREATE TEMP TABLE preload ON COMMIT DROP AS
       SELECT g AS n, gen_random_uuid() AS tx, w[1 + (g % cardinality(w))] AS from_id,
              w[1 + ((g + 1 + (g / cardinality(w)) % (cardinality(w) - 1)) % cardinality(w))] AS to_id
         FROM generate_series(1, $2::int) g, (SELECT $1::uuid[] AS w) p`,
      [wallets, transactions],
    );
    const [{ at }] = (await c.query(`SELECT clock_timestamp() AS at`)).rows;
    await c.query(
      `INSERT INTO ledger.transactions (id, tenant_id, kind, status, action, idempotency_key, asset_code, created_at)
       SELECT tx, $1, 'posted', 'posted', 'TRANSFER', 'preload-' || n, 'IDR', $2 FROM preload`,
      [tenantId, at],
    );
    await c.query(
      `INSERT INTO ledger.idempotency_keys (tenant_id, key, operation, request_hash, result_id, created_at)
       SELECT $1, 'preload-' || n, 'post_transaction', 'preload', tx, $2 FROM preload`,
      [tenantId, at],
    );
    // The history continues each wallet's chain from its state now (ids after its entries so far).
    await c.query(
      `CREATE TEMP TABLE preload_entries ON COMMIT DROP AS
       SELECT x.*, row_number() OVER (ORDER BY x.n, x.side DESC) AS k
         FROM (SELECT n, tx, from_id AS account_id, 'debit' AS side FROM preload
               UNION ALL SELECT n, tx, to_id, 'credit' FROM preload) x`,
    );
    await c.query(
      `INSERT INTO ledger.entries (id, tenant_id, transaction_id, account_id, asset_code, side, phase, amount,
                                   account_version, debits_posted, credits_posted, debits_pending, credits_pending,
                                   created_at)
       OVERRIDING SYSTEM VALUE
       SELECT s.base_id + e.k, $1, e.tx, e.account_id, 'IDR', e.side, 'posted', 1,
              a.version + row_number() OVER w,
              a.debits_posted + count(*) FILTER (WHERE e.side = 'debit') OVER w,
              a.credits_posted + count(*) FILTER (WHERE e.side = 'credit') OVER w,
              a.debits_pending, a.credits_pending, $2
         FROM preload_entries e JOIN ledger.accounts a ON a.id = e.account_id,
              (SELECT setval('ledger.entries_id_seq', nextval('ledger.entries_id_seq') + $3::bigint) - $3::bigint AS base_id) s
       WINDOW w AS (PARTITION BY e.account_id ORDER BY e.k)`,
      [tenantId, at, transactions * 2],
    );
    await c.query(
      `UPDATE ledger.accounts a
          SET debits_posted = a.debits_posted + d.debits, credits_posted = a.credits_posted + d.credits,
              version = a.version + d.n
         FROM (SELECT account_id, count(*) FILTER (WHERE side = 'debit') AS debits,
                      count(*) FILTER (WHERE side = 'credit') AS credits, count(*) AS n
                 FROM preload_entries GROUP BY account_id) d
        WHERE a.id = d.account_id`,
    );
    await c.query('COMMIT');
    await c.query('ANALYZE ledger.entries');
    await c.query('ANALYZE ledger.transactions');
    await c.query('ANALYZE ledger.idempotency_keys');
    const [{ n }] = (await c.query('SELECT count(*)::bigint AS n FROM ledger.entries')).rows;
    return { ms: Date.now() - started, entries: Number(n) };
  } finally {
    await c.end();
  }
}

function report(results, pgbenchTps, preload) {
  console.log('');
  console.log(
    `wallet-ledger benchmark — ${concurrency} concurrent clients, ${durationS}s per workload, ${walletCount} wallets, ${batchSize} per batch`,
  );
  console.log(`node ${process.version}, PostgreSQL at ${pgHost}:${pgPort}`);
  if (preload)
    console.log(
      `grown: ${preload.entries.toLocaleString('en')} entries in the ledger (preloaded in ${(preload.ms / 1000).toFixed(1)}s)`,
    );
  console.log('');
  console.log('workload              actions        tps     p50 ms   p99 ms   errors');
  for (const [name, r] of results) {
    console.log(
      `${name.padEnd(20)} ${String(r.ok).padStart(8)} ${r.tps.toFixed(1).padStart(10)}  ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}   ${r.errors}${r.firstError ? ` (${r.firstError})` : ''}`,
    );
  }
  if (pgbenchTps)
    console.log(`${'pgbench tpcb-like'.padEnd(20)} ${''.padStart(8)} ${pgbenchTps.toFixed(1).padStart(10)}`);
  console.log('');
  console.log('CPU per action (ms of CPU time per transfer, per process; /proc/<pid>/stat):');
  for (const [name, r] of results) {
    const per = (ms) => (ms / Math.max(1, r.actions)).toFixed(3);
    const parts = [`postgres ${per(r.cpu.postgres)}`, `ledger ${per(r.cpu.ledger)}`];
    if (r.cpu.aggregator !== undefined) parts.push(`aggregator ${per(r.cpu.aggregator)}`);
    parts.push(`bench client ${per(r.cpu.client)}`);
    const total = r.cpu.postgres + r.cpu.ledger + (r.cpu.aggregator ?? 0) + r.cpu.client;
    console.log(`  ${name.padEnd(20)} ${parts.join('  ')}  total ${per(total)}`);
  }
  console.log('');
  const goals = {
    'sql-batch': 2.0,
    'ledger-unary': 0.6,
    'ledger-batch': 1.5,
    'e2e-unary': 0.3,
    'e2e-batch': 1.0,
  };
  if (pgbenchTps) {
    for (const name of [
      'sql-batch',
      'ledger-unary',
      'ledger-batch',
      'hot-wallet',
      'e2e-unary',
      'e2e-batch',
      'grown',
    ]) {
      const r = results.get(name);
      if (!r) continue;
      const goal = goals[name] ? `  (goal >= ${goals[name].toFixed(2)})` : '';
      console.log(`ratio ${name} / pgbench tpcb-like = ${(r.tps / pgbenchTps).toFixed(2)}${goal}`);
    }
  }
  const unary = results.get('ledger-unary') ?? { tps: NaN };
  const hotRun = results.get('hot-wallet');
  const grown = results.get('grown');
  const half = results.get('ledger-unary @50%');
  if (hotRun)
    console.log(`ratio hot-wallet / ledger-unary = ${(hotRun.tps / unary.tps).toFixed(2)}  (goal >= 0.80)`);
  if (grown)
    console.log(`ratio grown / ledger-unary = ${(grown.tps / unary.tps).toFixed(2)}  (goal >= 0.90)`);
  if (half) console.log(`p99 at half the unary rate = ${half.p99.toFixed(1)} ms  (goal <= 25 ms)`);
}

function transfer(tenantId, key, from, to) {
  return {
    tenantId,
    idempotencyKey: key,
    legs: [
      { accountId: from, side: 'ENTRY_SIDE_DEBIT', amount: '1' },
      { accountId: to, side: 'ENTRY_SIDE_CREDIT', amount: '1' },
    ],
    assetCode: 'IDR',
    action: 'TRANSFER',
  };
}

async function setUp(client, tenantId, count) {
  await client.defineAsset({ tenantId, code: 'IDR', scale: 0 });
  const wallets = [];
  for (let start = 0; start < count; start += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - start) }, async (_, j) => {
        const i = start + j;
        const account = await client.openAccount({
          tenantId,
          idempotencyKey: `w-${i}`,
          assetCode: 'IDR',
          type: 'ACCOUNT_TYPE_WALLET',
        });
        await client.postTransaction({
          tenantId,
          idempotencyKey: `fund-${i}`,
          assetCode: 'IDR',
          action: 'TOP_UP',
          legs: [
            { systemAccount: 'ACCOUNT_TYPE_CASH_CLEARING', side: 'ENTRY_SIDE_DEBIT', amount: '1000000000' },
            { accountId: account.accountId, side: 'ENTRY_SIDE_CREDIT', amount: '1000000000' },
          ],
        });
        return account.accountId;
      }),
    );
    wallets.push(...batch);
  }
  return wallets;
}

/**
 * drive() plus the CPU time each process spent meanwhile: the ledger, the aggregator (if running),
 * this client, and the database's backends (every backend of the bench database).
 */
async function measured(seconds, clients, work, options = {}) {
  const before = cpuSnapshot();
  const backends = await backendSampler();
  const result = await drive(seconds, clients, work, options);
  const postgres = await backends.stop();
  const after = cpuSnapshot();
  return {
    ...result,
    cpu: {
      ledger: after.ledger - before.ledger,
      client: after.client - before.client,
      postgres,
      ...(aggregatorProcess ? { aggregator: after.aggregator - before.aggregator } : {}),
    },
  };
}

function cpuSnapshot() {
  const client = process.cpuUsage();
  return {
    ledger: procCpuMs(ledgerProcess.pid),
    aggregator: aggregatorProcess ? procCpuMs(aggregatorProcess.pid) : 0,
    client: (client.user + client.system) / 1000,
  };
}

/**
 * CPU of the bench database's backends over a workload. Pools open and close connections, so the
 * backends are sampled every 250 ms: each backend counts from its first sample (or from 0 when it
 * appeared during the workload) to its last one.
 */
async function backendSampler() {
  const seen = new Map();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  let first = true;
  const sample = async () => {
    const { rows } = await admin.query(`SELECT pid FROM pg_stat_activity WHERE datname = $1`, [dbName]);
    for (const { pid } of rows) {
      const now = procCpuMs(pid);
      const entry = seen.get(pid);
      if (entry) entry.last = now;
      else seen.set(pid, { first: first ? now : 0, last: now });
    }
    first = false;
  };
  await sample();
  let running = true;
  const loop = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, 250));
      await sample().catch(() => undefined);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await sample();
      await admin.end();
      let total = 0;
      for (const { first: from, last } of seen.values()) total += Math.max(0, last - from);
      return total;
    },
  };
}

/** utime + stime of a process, in ms (Linux /proc; 0 elsewhere). */
function procCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/**
 * Closed loop: `clients` workers each run `work(sequence, worker)` (which returns how many actions
 * it did) until the time is up; with `ratePerS`, an open loop that starts calls at that rate
 * instead. The first second is warm-up: counted for CPU, not for throughput or latency.
 */
async function drive(seconds, clients, work, { ratePerS } = {}) {
  const latencies = [];
  let errors = 0;
  let firstError;
  let sequence = 0;
  let warmupActions = 0;
  let done = 0;
  const warmupEnd = Date.now() + 1_000;
  const end = warmupEnd + seconds * 1000;
  let lastDone = warmupEnd;
  const once = async (worker) => {
    const started = performance.now();
    const startedAt = Date.now();
    try {
      const count = await work(`${process.pid}-${sequence++}`, worker);
      if (startedAt < warmupEnd) {
        warmupActions += count;
        return;
      }
      // Every call started in the window counts, also one that ends after it (a batch of 1,000
      // can take seconds): throughput = actions / (last completion - window start).
      latencies.push(performance.now() - started);
      done += count;
      lastDone = Math.max(lastDone, Date.now());
    } catch (error) {
      errors += 1;
      firstError ??= `${error.code ?? ''} ${error.details ?? error.message}`.slice(0, 200);
    }
  };
  if (ratePerS) {
    const calls = [];
    const interval = 1000 / ratePerS;
    const t0 = performance.now();
    for (let k = 0; Date.now() < end; k += 1) {
      const due = t0 + k * interval;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      calls.push(once(k % clients));
    }
    await Promise.all(calls);
  } else {
    await Promise.all(
      Array.from({ length: clients }, async (_, worker) => {
        while (Date.now() < end) await once(worker);
      }),
    );
  }
  const elapsedS = (lastDone - warmupEnd) / 1000;
  latencies.sort((a, b) => a - b);
  const pick = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    ok: done,
    actions: done + warmupActions,
    tps: done / Math.max(elapsedS, 0.001),
    p50: pick(0.5),
    p99: pick(0.99),
    errors,
    firstError,
  };
}

function runPgbench() {
  execFileSync('psql', [
    '-h',
    pgHost,
    '-p',
    pgPort,
    '-U',
    pgUser,
    '-qc',
    `CREATE DATABASE ${pgbenchDb}`,
    'postgres',
  ]);
  cleanups.push(() => dropDatabase(pgbenchDb));
  // Scale = clients, so tpcb-like's branch rows are not an artificial bottleneck.
  execFileSync(
    'pgbench',
    ['-h', pgHost, '-p', pgPort, '-U', pgUser, '-i', '-q', '-s', String(Math.max(1, concurrency)), pgbenchDb],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  const out = execFileSync(
    'pgbench',
    [
      '-h',
      pgHost,
      '-p',
      pgPort,
      '-U',
      pgUser,
      '-b',
      'tpcb-like',
      '-c',
      String(concurrency),
      '-j',
      '2',
      '-T',
      String(durationS),
      '-n',
      pgbenchDb,
    ],
    { encoding: 'utf8' },
  );
  const match = /tps = ([\d.]+)/.exec(out);
  if (!match) throw new Error(`could not read pgbench output:\n${out}`);
  return Number(match[1]);
}

async function setUpThroughAggregator(client, count) {
  const ids = [];
  for (let start = 0; start < count; start += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, count - start) }, async (_, j) => {
        const i = start + j;
        const wallet = await client.openWallet({
          idempotencyKey: `open-${i}`,
          ownerType: 'PERSONAL',
          ownerId: `user-${i}`,
          currency: 'IDR',
        });
        await client.topUp({
          idempotencyKey: `top-${i}`,
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

async function waitForAggregator(client) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await client.getWallet({ walletId: '00000000-0000-4000-8000-000000000000' }, { deadlineMs: 1_000 });
      return;
    } catch (error) {
      if (error.code === 5 || error.code === 3) return; // NOT_FOUND / INVALID_ARGUMENT: it answers
      if (Date.now() > deadline) throw new Error(`the aggregator did not start: ${error.message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function waitForLedger(client) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await client.listSystemAccounts({ tenantId: 'bench-probe', assetCode: 'IDR' }, { deadlineMs: 1_000 });
      return;
    } catch (error) {
      if (error.code === 5) return; // NOT_FOUND: the service answers
      if (Date.now() > deadline) throw new Error(`the ledger did not start: ${error.message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function admin(sql) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

async function dropDatabase(name) {
  await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
  await admin(`DROP DATABASE IF EXISTS ${name}`);
}

async function serverVersion() {
  const { rows } = await admin('SHOW server_version');
  return `PostgreSQL ${rows[0].server_version}`;
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

function stopProcess(child) {
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

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
}

process.once('SIGINT', () => cleanup().then(() => process.exit(130)));
main()
  .then(cleanup, async (error) => {
    console.error(`bench failed: ${error.stack ?? error}`);
    await cleanup();
    process.exit(1);
  })
  .then(() => process.exit(0));
