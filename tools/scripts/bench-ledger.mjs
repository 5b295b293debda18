#!/usr/bin/env node
// Benchmarks the wallet-ledger over gRPC and, in the same run on the same PostgreSQL, pgbench's
// tpcb-like at the same client count, then prints the ratios (figures on shared machines are
// noisy; ratios measured side by side are what to compare).
//
//   npm run bench:ledger -- [--concurrency 16] [--duration 15] [--wallets 1000] [--skip-pgbench] [--skip-aggregator]
//
// Workloads, each a closed loop of `concurrency` clients:
// - LedgerService (internal API): "uniform" transfers between random wallets; "hot" transfers
//   that all debit one wallet;
// - TransactionService end to end (product API → aggregator → ledger): uniform Transfers between
//   personal wallets, authenticated with an API key.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
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
    defaultDeadlineMs: 30_000,
  });
  cleanups.push(close);
  await waitForLedger(client);

  const tenantId = `bench-${runId}`;
  console.log(`bench: opening ${walletCount} wallets…`);
  const wallets = await setUp(client, tenantId, walletCount);
  const hot = wallets[0];

  console.log(`bench: uniform transfers, ${concurrency} clients, ${durationS}s…`);
  const uniform = await measured(client, durationS, concurrency, (i) => {
    const from = wallets[1 + Math.floor(Math.random() * (wallets.length - 1))];
    let to = from;
    while (to === from) to = wallets[1 + Math.floor(Math.random() * (wallets.length - 1))];
    return transfer(tenantId, `u-${i}`, from, to);
  });
  console.log(`bench: hot wallet (every debit on one wallet), ${concurrency} clients, ${durationS}s…`);
  const hotRun = await measured(client, durationS, concurrency, (i) =>
    transfer(tenantId, `h-${i}`, hot, wallets[1 + Math.floor(Math.random() * (wallets.length - 1))]),
  );

  let aggregatorRun;
  if (!args['skip-aggregator']) {
    const apiKey = `bench-key-${randomBytes(16).toString('hex')}`;
    const aggregatorAddress = `127.0.0.1:${await freePort()}`;
    const aggregatorProcess = spawn(
      process.execPath,
      [path.join(root, 'dist/out-tsc/apps/transaction-aggregator/src/main.js')],
      {
        env: {
          ...process.env,
          DATABASE_URL: dbUrl,
          AGGREGATOR_GRPC_URL: aggregatorAddress,
          AGGREGATOR_LEDGER_TARGET: address,
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
      defaultDeadlineMs: 30_000,
    });
    cleanups.push(aggregator.close);
    await waitForAggregator(aggregator.client);
    const count = Math.min(walletCount, 300);
    console.log(`bench: opening ${count} wallets through the aggregator…`);
    const publicWallets = await setUpThroughAggregator(aggregator.client, count);
    console.log(`bench: TransactionService transfers end to end, ${concurrency} clients, ${durationS}s…`);
    aggregatorRun = await measured(
      aggregator.client,
      durationS,
      concurrency,
      (i) => {
        const from = publicWallets[Math.floor(Math.random() * publicWallets.length)];
        let to = from;
        while (to === from) to = publicWallets[Math.floor(Math.random() * publicWallets.length)];
        return { idempotencyKey: `e2e-${i}`, fromWalletId: from, toWalletId: to, amount: '1' };
      },
      'transfer',
      aggregatorProcess,
    );
  }

  let pgbenchTps;
  if (!args['skip-pgbench']) {
    console.log(`bench: pgbench tpcb-like, ${concurrency} clients, ${durationS}s, same PostgreSQL…`);
    pgbenchTps = runPgbench();
  }

  console.log('');
  console.log(
    `wallet-ledger benchmark — ${concurrency} concurrent clients, ${durationS}s per workload, ${walletCount} wallets`,
  );
  console.log(`node ${process.version}, PostgreSQL at ${pgHost}:${pgPort}, ${await serverVersion()}`);
  console.log('');
  console.log('workload              ops     tps        p50 ms   p99 ms   errors');
  const rows = [
    ['uniform transfers', uniform],
    ['hot wallet', hotRun],
    ...(aggregatorRun ? [['end to end (API)', aggregatorRun]] : []),
  ];
  for (const [name, r] of rows) {
    console.log(
      `${name.padEnd(20)} ${String(r.ok).padStart(6)} ${r.tps.toFixed(1).padStart(9)}  ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}   ${r.errors}${r.firstError ? ` (${r.firstError})` : ''}`,
    );
  }
  if (pgbenchTps)
    console.log(`${'pgbench tpcb-like'.padEnd(20)} ${''.padStart(6)} ${pgbenchTps.toFixed(1).padStart(9)}`);
  console.log('');
  console.log('');
  console.log('CPU per operation (ms; shows where the time goes on a shared machine):');
  for (const [name, r] of rows) {
    const per = (ms) => (ms / Math.max(1, r.ok + r.warmup)).toFixed(3);
    const aggregatorCpu = r.cpu.aggregator !== undefined ? `  aggregator ${per(r.cpu.aggregator)}` : '';
    console.log(
      `  ${name.padEnd(18)} ledger ${per(r.cpu.ledger)}${aggregatorCpu}  bench client ${per(r.cpu.client)}  postgres ${per(r.cpu.postgres)}`,
    );
  }
  console.log('');
  if (pgbenchTps)
    console.log(
      `ratio uniform / pgbench tpcb-like = ${(uniform.tps / pgbenchTps).toFixed(2)}  (goal >= 0.50)`,
    );
  console.log(`ratio hot / uniform               = ${(hotRun.tps / uniform.tps).toFixed(2)}  (goal >= 0.25)`);
  if (aggregatorRun && pgbenchTps) {
    console.log(`ratio end to end / pgbench        = ${(aggregatorRun.tps / pgbenchTps).toFixed(2)}`);
  }

  console.log('');
  console.log('bench: verifying the ledger after the run…');
  execFileSync(process.execPath, [path.join(root, 'dist/out-tsc/apps/wallet-ledger/src/cli.js'), 'verify'], {
    env: { ...process.env, DATABASE_URL: dbUrl },
    stdio: 'inherit',
  });
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

/** drive() plus the CPU time the ledger process, this client and the database's backends used. */
async function measured(client, seconds, clients, makeRequest, method = 'postTransaction', extraProcess) {
  const before = await cpuSnapshot();
  const extraBefore = extraProcess ? procCpuMs(extraProcess.pid) : 0;
  const result = await drive(client, seconds, clients, makeRequest, method);
  const after = await cpuSnapshot();
  return {
    ...result,
    cpu: {
      ledger: after.ledger - before.ledger,
      client: after.client - before.client,
      postgres: after.postgres - before.postgres,
      ...(extraProcess ? { aggregator: procCpuMs(extraProcess.pid) - extraBefore } : {}),
    },
  };
}

async function cpuSnapshot() {
  const { rows } = await admin(`SELECT pid FROM pg_stat_activity WHERE datname = '${dbName}'`);
  const client = process.cpuUsage();
  return {
    ledger: procCpuMs(ledgerProcess.pid),
    client: (client.user + client.system) / 1000,
    postgres: rows.reduce((sum, row) => sum + procCpuMs(row.pid), 0),
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

/** Closed loop: `clients` workers each send one request at a time until the time is up. */
async function drive(client, seconds, clients, makeRequest, method = 'postTransaction') {
  const latencies = [];
  let errors = 0;
  let firstError;
  let sequence = 0;
  const warmupEnd = Date.now() + 1_000;
  const end = warmupEnd + seconds * 1000;
  let measuredStart;
  let warmup = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < end) {
        const request = makeRequest(`${process.pid}-${sequence++}`);
        const started = performance.now();
        try {
          await client[method](request);
          const now = Date.now();
          if (now >= warmupEnd) {
            measuredStart ??= now;
            latencies.push(performance.now() - started);
          } else warmup += 1;
        } catch (error) {
          errors += 1;
          firstError ??= `${error.code} ${error.details ?? error.message}`;
        }
      }
    }),
  );
  const elapsedS = (Date.now() - (measuredStart ?? warmupEnd)) / 1000;
  latencies.sort((a, b) => a - b);
  const pick = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    ok: latencies.length,
    warmup,
    tps: latencies.length / elapsedS,
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
