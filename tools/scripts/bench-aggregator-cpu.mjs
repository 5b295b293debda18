#!/usr/bin/env node
// CPU per action of the transaction-aggregator process (and, for reference, the ledger's), for
// unary Transfers and for SubmitBatch, in one short run on a private database.
//
//   node tools/scripts/bench-aggregator-cpu.mjs [--actions 3000] [--concurrency 32] [--batch 1000]
//        [--port-base 51100] [--db-prefix saldo_bench_agg]
//
// Needs the build (node tools/scripts/build.mjs), PostgreSQL and Redis as for npm test. CPU is
// read from /proc/<pid>/stat (utime + stime) before and after each phase; the figures include
// everything the process does in that time (gRPC, JSON/proto, crypto, the event loop).
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const pg = require('pg');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .map((arg, i, all) => (arg.startsWith('--') ? [arg.slice(2), all[i + 1] ?? 'true'] : undefined))
    .filter(Boolean),
);
const actions = Number(args.actions ?? 3000);
const concurrency = Number(args.concurrency ?? 32);
const batchSize = Number(args.batch ?? 1000);
const portBase = Number(args['port-base'] ?? 51100);
const pgUrl = (db) => `postgres://${process.env.PGUSER ?? 'postgres'}@127.0.0.1:5432/${db}`;
const dbName = `${args['db-prefix'] ?? 'saldo_bench_agg'}_${randomBytes(3).toString('hex')}`;
const token = `bench-${randomBytes(16).toString('hex')}`;
const apiKey = `bench-key-${randomBytes(16).toString('hex')}`;
const TICKS_PER_S = 100;
const children = [];

async function admin(sql) {
  const client = new pg.Client({ connectionString: pgUrl('postgres') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S; // utime + stime
}

function start(name, script, env) {
  const child = spawn(process.execPath, [path.join(root, script)], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  children.push(child);
  child.on('exit', (code) => code && console.error(`${name} exited with ${code}`));
  return child;
}

function client(proto, service, target) {
  const definition = loader.loadSync(path.join(root, 'proto', proto), {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [path.join(root, 'proto')],
  });
  const Ctor = service.split('.').reduce((node, part) => node[part], grpc.loadPackageDefinition(definition));
  return new Ctor(target, grpc.credentials.createInsecure());
}

function unary(stub, method, request, bearer) {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${bearer}`);
  return new Promise((resolve, reject) =>
    stub[method](request, metadata, { deadline: Date.now() + 60_000 }, (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

async function waitServing(stub, bearer) {
  for (let i = 0; i < 600; i += 1) {
    try {
      await unary(stub, 'GetWallet', { walletId: randomUUID() }, bearer);
    } catch (error) {
      if (error.code === grpc.status.NOT_FOUND) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the aggregator did not answer in 120 s');
}

async function main() {
  await admin(`CREATE DATABASE ${dbName}`);
  const env = { DATABASE_URL: pgUrl(dbName) };
  for (const app of ['wallet-ledger', 'transaction-aggregator']) {
    execFileSync(process.execPath, [path.join(root, `dist/out-tsc/apps/${app}/src/cli.js`), 'migrate'], {
      env: { ...process.env, ...env },
      stdio: 'inherit',
    });
  }
  const ledgerTarget = `127.0.0.1:${portBase + 1}`;
  const aggregatorTarget = `127.0.0.1:${portBase + 3}`;
  const ledger = start('wallet-ledger', 'dist/out-tsc/apps/wallet-ledger/src/main.js', {
    ...env,
    LEDGER_GRPC_URL: ledgerTarget,
    LEDGER_HTTP_PORT: String(portBase + 2),
    LEDGER_SERVICE_TOKEN: token,
    LEDGER_OUTBOX_RELAY_ENABLED: 'false',
    LEDGER_MIRROR_ENABLED: 'false',
  });
  const aggregator = start('transaction-aggregator', 'dist/out-tsc/apps/transaction-aggregator/src/main.js', {
    ...env,
    AGGREGATOR_GRPC_URL: aggregatorTarget,
    AGGREGATOR_HTTP_HOST: '127.0.0.1',
    AGGREGATOR_HTTP_PORT: String(portBase + 4),
    AGGREGATOR_CONNECT_HOST: '127.0.0.1',
    AGGREGATOR_CONNECT_PORT: String(portBase + 5),
    AGGREGATOR_LEDGER_TARGET: ledgerTarget,
    LEDGER_SERVICE_TOKEN: token,
    SALDO_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SALDO_API_KEYS: `bench=${apiKey}`,
    AGGREGATOR_PUBSUB_ENABLED: 'false',
  });
  const api = client(
    'saldo/transaction/v1/transaction.proto',
    'saldo.transaction.v1.TransactionService',
    aggregatorTarget,
  );
  await waitServing(api, apiKey);

  const wallets = [];
  for (let i = 0; i < 100; i += 1) {
    const opened = await unary(
      api,
      'OpenWallet',
      { idempotencyKey: randomUUID(), ownerType: 'PERSONAL', ownerId: `w${i}`, currency: 'IDR' },
      apiKey,
    );
    wallets.push(opened.walletId);
    await unary(
      api,
      'TopUp',
      { idempotencyKey: randomUUID(), walletId: opened.walletId, amount: '100000000' },
      apiKey,
    );
  }
  const transfer = (i) => {
    const from = wallets[i % wallets.length];
    const to =
      wallets[(i * 7 + 1) % wallets.length] === from
        ? wallets[(i + 1) % wallets.length]
        : wallets[(i * 7 + 1) % wallets.length];
    return { idempotencyKey: randomUUID(), fromWalletId: from, toWalletId: to, amount: '1' };
  };
  // Warm-up: JIT, caches, connections.
  await Promise.all(Array.from({ length: 200 }, (_, i) => unary(api, 'Transfer', transfer(i), apiKey)));

  const phase = async (name, run) => {
    const aggregatorBefore = cpuMs(aggregator.pid);
    const ledgerBefore = cpuMs(ledger.pid);
    const startedAt = process.hrtime.bigint();
    const ok = await run();
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const aggregatorMs = cpuMs(aggregator.pid) - aggregatorBefore;
    const ledgerMs = cpuMs(ledger.pid) - ledgerBefore;
    console.log(
      `${name}: ${ok}/${actions} ok in ${seconds.toFixed(2)} s (${(ok / seconds).toFixed(0)} actions/s); ` +
        `CPU per action: aggregator ${(aggregatorMs / actions).toFixed(3)} ms, ledger ${(ledgerMs / actions).toFixed(3)} ms`,
    );
  };

  await phase(`unary Transfer x${concurrency} in flight`, async () => {
    let next = 0;
    let ok = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < actions) {
          const i = (next += 1);
          await unary(api, 'Transfer', transfer(i), apiKey).then(
            () => (ok += 1),
            () => undefined,
          );
        }
      }),
    );
    return ok;
  });
  await phase(`SubmitBatch of ${batchSize} Transfers, 2 in flight`, async () => {
    const batches = [];
    for (let i = 0; i < actions; i += batchSize)
      batches.push(
        Array.from({ length: Math.min(batchSize, actions - i) }, (_, j) => ({ transfer: transfer(i + j) })),
      );
    let ok = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 2 }, async () => {
        while (next < batches.length) {
          const batch = batches[next];
          next += 1;
          const response = await unary(api, 'SubmitBatch', { actions: batch }, apiKey);
          ok += response.outcomes.filter((o) => o.transaction).length;
        }
      }),
    );
    return ok;
  });
  api.close();
}

async function stop() {
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch((error) =>
    console.error(error.message),
  );
}

main()
  .then(stop, async (error) => {
    console.error(error);
    await stop();
    process.exitCode = 1;
  })
  .finally(() => setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref());
