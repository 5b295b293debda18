#!/usr/bin/env node
// Benchmarks a legacy migration (apps/migrator) on this machine: the legacy simulator seeded with
// --wallets wallets, then `migrator import` into a fresh Saldo database through the real
// wallet-ledger, while a live workload (closed-loop transfers of --live-concurrency clients on
// another tenant, through the same ledger) runs. Prints wallets/s, the import time, and the live
// workload's throughput during the import relative to its throughput alone (goal >= 0.8).
//
//   npm run bench:migrate -- [--wallets 1000000] [--rate 0] [--live-concurrency 8] [--live-seconds 15]
//                            [--concurrency 16] [--page-size 1000] [--skip-build] [--keep]
//
// Databases: migration_bench_<id> (Saldo) and migration_bench_<id>_legacy, dropped at the end
// unless --keep. Figures on a shared machine are noisy; the ratio is measured side by side.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const pg = require('pg');

const args = parseArgs(process.argv.slice(2));
const wallets = Number(args.wallets ?? 1_000_000);
const liveConcurrency = Number(args['live-concurrency'] ?? 8);
const liveSeconds = Number(args['live-seconds'] ?? 15);
const pgHost = process.env.PGHOST ?? '127.0.0.1';
const pgPort = process.env.PGPORT ?? '5432';
const pgUser = process.env.PGUSER ?? 'postgres';
const id = randomBytes(3).toString('hex');
const saldoDb = `migration_bench_${id}`;
const legacyDb = `${saldoDb}_legacy`;
const url = (db) => `postgres://${pgUser}@${pgHost}:${pgPort}/${db}`;
const token = `bench-${randomBytes(16).toString('hex')}`;
const dist = (app, file) => path.join(root, 'dist/out-tsc/apps', app, 'src', file);
const cleanups = [];
const log = (message) => console.log(`bench:migrate: ${message}`);

async function main() {
  if (!args['skip-build'])
    execFileSync(process.execPath, [path.join(root, 'tools/scripts/build.mjs')], { stdio: 'inherit' });
  for (const db of [saldoDb, legacyDb]) {
    await admin(`CREATE DATABASE ${db}`);
    if (!args.keep) cleanups.push(() => admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`));
  }
  for (const app of ['wallet-ledger', 'transaction-aggregator', 'migrator'])
    execFileSync(process.execPath, [dist(app, 'cli.js'), 'migrate'], {
      env: { ...process.env, DATABASE_URL: url(saldoDb) },
      stdio: 'ignore',
    });

  let started = Date.now();
  execFileSync(
    process.execPath,
    [
      dist('migrator', 'cli.js'),
      'simulator',
      'seed',
      '--database',
      url(legacyDb),
      '--wallets',
      String(wallets),
      '--json',
    ],
    { stdio: 'ignore' },
  );
  log(`seeded ${wallets} legacy wallets in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const target = `127.0.0.1:${await freePort()}`;
  const ledger = spawn(process.execPath, [dist('wallet-ledger', 'main.js')], {
    env: {
      ...process.env,
      DATABASE_URL: url(saldoDb),
      LEDGER_GRPC_URL: target,
      LEDGER_SERVICE_TOKEN: token,
      LEDGER_HTTP_PORT: '0',
      LEDGER_DB_POOL_SIZE: String(liveConcurrency + 8),
      LEDGER_OUTBOX_RELAY_ENABLED: 'false',
      LEDGER_MIRROR_ENABLED: 'false',
      LOG_LEVEL: 'warn',
    },
    stdio: 'inherit',
  });
  cleanups.unshift(
    () =>
      new Promise((resolve) =>
        ledger.exitCode !== null ? resolve() : (ledger.once('exit', resolve), ledger.kill('SIGTERM')),
      ),
  );
  const { createGrpcClient } = require(path.join(root, 'dist/out-tsc/libs/infra/grpc-kit/src/index.js'));
  const { protoFile, protoRoot } = require(path.join(root, 'dist/out-tsc/libs/proto/src/index.js'));
  const client = createGrpcClient({
    protoPath: protoFile('saldo/ledger/v1/ledger.proto'),
    includeDirs: [protoRoot()],
    serviceName: 'saldo.ledger.v1.LedgerService',
    address: target,
    token,
    defaultDeadlineMs: 60_000,
  });
  cleanups.unshift(() => client.close());
  await waitForLedger(client.client);

  // The live tenant: 200 funded wallets; its workload is transfers between random pairs.
  const live = 'bench-live';
  await client.client.defineAsset({ tenantId: live, code: 'USD', scale: 2 });
  const accounts = [];
  for (let i = 0; i < 200; i++) {
    const account = await client.client.openAccount({
      tenantId: live,
      idempotencyKey: `open-${i}`,
      assetCode: 'USD',
      type: 'ACCOUNT_TYPE_WALLET',
      overdraftLimit: '0',
      externalRef: '',
      metadata: {},
    });
    await client.client.postTransaction(
      posting(live, `fund-${i}`, [
        { systemAccount: 'ACCOUNT_TYPE_CASH_CLEARING', side: 'ENTRY_SIDE_DEBIT', amount: '100000000' },
        { accountId: account.accountId, side: 'ENTRY_SIDE_CREDIT', amount: '100000000' },
      ]),
    );
    accounts.push(account.accountId);
  }
  let liveCount = 0;
  const liveLoop = async (signal) => {
    const lane = async () => {
      while (!signal.aborted) {
        const a = accounts[Math.floor(Math.random() * accounts.length)];
        let b = accounts[Math.floor(Math.random() * accounts.length)];
        if (a === b) b = accounts[(accounts.indexOf(a) + 1) % accounts.length];
        await client.client.postTransaction(
          posting(live, `t-${randomBytes(8).toString('hex')}`, [
            { accountId: a, side: 'ENTRY_SIDE_DEBIT', amount: '1' },
            { accountId: b, side: 'ENTRY_SIDE_CREDIT', amount: '1' },
          ]),
        );
        liveCount++;
      }
    };
    await Promise.all(Array.from({ length: liveConcurrency }, lane));
  };

  const baseline = new AbortController();
  liveCount = 0;
  started = Date.now();
  setTimeout(() => baseline.abort(), liveSeconds * 1000);
  await liveLoop(baseline.signal);
  const baselineTps = liveCount / ((Date.now() - started) / 1000);
  log(
    `live workload alone: ${baselineTps.toFixed(1)} transfers/s (${liveConcurrency} clients, ${liveSeconds} s)`,
  );

  const during = new AbortController();
  liveCount = 0;
  started = Date.now();
  const liveRun = liveLoop(during.signal);
  const importArgs = ['import', '--tenant', 'bench-mig', '--source', url(legacyDb), '--json', '--quiet'];
  for (const flag of ['rate', 'concurrency', 'page-size'])
    if (args[flag] !== undefined) importArgs.push(`--${flag}`, String(args[flag]));
  const report = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [dist('migrator', 'cli.js'), ...importArgs], {
      env: {
        ...process.env,
        DATABASE_URL: url(saldoDb),
        MIGRATOR_LEDGER_TARGET: target,
        LEDGER_SERVICE_TOKEN: token,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('close', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`import exited ${code}`)),
    );
  });
  const importSeconds = (Date.now() - started) / 1000;
  during.abort();
  await liveRun;
  const duringTps = liveCount / ((Date.now() - started) / 1000);
  const ratio = duringTps / baselineTps;
  const result = {
    wallets,
    imported: report.wallets.mapped,
    openingPostings: report.postings.posted + report.postings.replayed,
    importSeconds: Number(importSeconds.toFixed(1)),
    walletsPerSecond: Number((report.wallets.mapped / importSeconds).toFixed(1)),
    liveBaselineTps: Number(baselineTps.toFixed(1)),
    liveDuringImportTps: Number(duringTps.toFixed(1)),
    liveRatio: Number(ratio.toFixed(2)),
    goal: 'liveRatio >= 0.8',
  };
  log(
    `imported ${result.imported} wallets (${result.openingPostings} opening postings) in ${result.importSeconds} s: ${result.walletsPerSecond} wallets/s`,
  );
  log(
    `live workload during the import: ${result.liveDuringImportTps} transfers/s = ${result.liveRatio} of alone (goal >= 0.8)`,
  );
  console.log(JSON.stringify(result));
}

function posting(tenantId, key, legs) {
  return {
    tenantId,
    idempotencyKey: key,
    assetCode: 'USD',
    legs: legs.map((l) => ({
      accountId: l.accountId ?? '',
      systemAccount: l.systemAccount ?? 'ACCOUNT_TYPE_UNSPECIFIED',
      side: l.side,
      amount: l.amount,
    })),
    pending: false,
    timeoutSeconds: 0,
    action: 'TRANSFER',
    references: {},
    metadata: {},
    shadowDocumentId: '',
  };
}

async function waitForLedger(client) {
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      await client.listSystemAccounts({ tenantId: 'probe', assetCode: 'USD' });
      return;
    } catch (error) {
      if (error.code === 5) return; // NOT_FOUND: the ledger answers (the probe asset does not exist)
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}

async function admin(sql) {
  const c = new pg.Client({ connectionString: url('postgres') });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
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

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[a.slice(2)] = true;
    else out[a.slice(2)] = argv[++i];
  }
  return out;
}

let cleaning = false;
async function cleanup() {
  if (cleaning) return;
  cleaning = true;
  for (const fn of cleanups) await Promise.resolve(fn()).catch(() => undefined);
}
process.once('SIGINT', () => cleanup().then(() => process.exit(130)));
main()
  .then(cleanup, async (error) => {
    console.error(`bench:migrate: ${error.stack ?? error.message}`);
    await cleanup();
    process.exitCode = 1;
  })
  .then(() => setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref());
