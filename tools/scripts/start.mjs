#!/usr/bin/env node
// `npm start`: the whole Saldo stack on this machine, in the foreground, until Ctrl-C.
//
//   1. npm install if node_modules is missing or older than package-lock.json; build (dist/out-tsc)
//   2. local secrets: LEDGER_SERVICE_TOKEN, SALDO_KEY_ENCRYPTION_KEY, a demo API key and erp-sync's
//      own API key of tenant "demo" (SALDO_ERP_SYNC_API_KEY: erp-sync calls the aggregator's
//      ResolveErpDocument with it, so shadow-balance confirmation is on), generated once into
//      $SALDO_STATE_DIR/local.env (default .saldo/, git-ignored) and reused afterwards
//   3. both apps' configs validated up front (a bad variable is named before anything starts)
//   4. Pub/Sub and Firestore emulators on PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST (default
//      127.0.0.1:8085 / :8086): reused when one answers there, started when the host is local,
//      refused otherwise; firestore.rules loaded into the Firestore emulator for the project (a
//      fresh emulator is empty: the ledger's mirror notices its missing marker and re-mirrors)
//   5. PostgreSQL: the database of DATABASE_URL created if missing, every app's migrate command
//   6. the Pub/Sub topics and subscriptions the apps use (idempotent)
//   7. the vendor stand-ins (NetSuite, Zendesk, ActiveCampaign from @saldo/vendor-standins, in this
//      process, on 127.0.0.1:4010-4012) with a demo tenant mapping for tenant "demo" kept in
//      $SALDO_STATE_DIR/erp-sync-tenants.json, $SALDO_STATE_DIR/erp-sync.env (this run's vendor
//      credentials, for `saldo erp …`) and the NetSuite stand-in's journals kept across runs in
//      $SALDO_STATE_DIR/netsuite-standin-records.json; unless erp-sync is pointed elsewhere (ERP_SYNC_TENANTS_FILE,
//      ERP_SYNC_TENANTS_JSON, NETSUITE_/ZENDESK_/ACTIVECAMPAIGN_BASE_URL) or SALDO_STANDINS=0
//   8. wallet-ledger, then transaction-aggregator, each ready once its gRPC health service says
//      SERVING; then erp-sync, ready once its /readyz answers 200, when it is built and has a tenant
//      mapping (the demo one, or ERP_SYNC_TENANTS_FILE / ERP_SYNC_TENANTS_JSON), else skipped with a
//      note. Logs prefixed with the service name.
//      The Console (apps/console: web page and /api on CONSOLE_PORT, 127.0.0.1:8480), ready once its
//      /readyz answers, with the demo key for tenant "demo"; its first admin comes from
//      `npx saldo console create-admin` (the banner says how)
//   9. a banner with every address, a first command and one that shows the ERP side; `start: ready`
//      marks it for scripts
//  10. SIGINT/SIGTERM: services stopped gracefully (reverse order), then the stand-ins and the
//      emulators this run started; exit 0. A service that dies on its own stops the rest and exits 1.
//
// Knobs (environment; every app variable is passed through to the apps as well):
//   DATABASE_URL, REDIS_URL, LEDGER_GRPC_URL (127.0.0.1:50052), AGGREGATOR_GRPC_URL (127.0.0.1:50051),
//   LEDGER_HTTP_HOST/LEDGER_HTTP_PORT (127.0.0.1:9464), ERP_SYNC_HTTP_HOST/ERP_SYNC_HTTP_PORT
//   (127.0.0.1:9466), ERP_SYNC_TENANTS_FILE / ERP_SYNC_TENANTS_JSON, SALDO_STANDINS=0 (no stand-ins),
//   SALDO_STANDIN_PORTS (NetSuite,Zendesk,ActiveCampaign: 4010,4011,4012),
//   PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT (saldo-local),
//   SALDO_STATE_DIR (.saldo), SALDO_START_BUILD=0 (skip install and build: dist must be current),
//   SALDO_LOG_FORMAT=json (raw pino lines instead of the compact form), NO_COLOR.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import emulators from '../../libs/test-support/src/shared/emulators.cjs';
import databases from '../../libs/test-support/src/shared/databases.cjs';
import { installNeeded, npmInstallCommand } from './lib/npm-install.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(root, 'package.json'));

const PROJECT_ID = 'saldo-local';
const INSTALL_TIMEOUT_MS = 20 * 60_000;
const BUILD_TIMEOUT_MS = 10 * 60_000;
const MIGRATE_TIMEOUT_MS = 5 * 60_000;
const SERVICE_READY_TIMEOUT_MS = 60_000;
const SERVICE_STOP_GRACE_MS = 15_000;
const EMULATOR_START_TIMEOUT_MS = 120_000;
const PUBSUB_SETUP_TIMEOUT_MS = 30_000;
const RULES_LOAD_TIMEOUT_MS = 90_000;
const LOG_EXTRA_MAX_CHARS = 400;
const STDERR_TAIL_LINES = 30;

const dist = (app, file) => `dist/out-tsc/apps/${app}/src/${file}`;
const STANDINS_SCRIPT = 'dist/out-tsc/libs/vendor-standins/src/index.js';
const DEFAULT_STANDIN_PORTS = '4010,4011,4012'; // erp-sync's default vendor base URLs
const DEMO_TENANT = 'demo';
/** Summary journals sooner than production's 30 s, so a usage shows in the stand-in ERP quickly. */
const LOCAL_SUMMARY_DELAY_MS = '5000';
/** Any of these set: erp-sync talks to vendors (or a mapping) chosen by the user, not the stand-ins. */
const ERP_SYNC_OVERRIDES = [
  'ERP_SYNC_TENANTS_FILE',
  'ERP_SYNC_TENANTS_JSON',
  'NETSUITE_BASE_URL',
  'ZENDESK_BASE_URL',
  'ACTIVECAMPAIGN_BASE_URL',
];
const MIGRATIONS = [
  { app: 'wallet-ledger', script: dist('wallet-ledger', 'cli.js') },
  { app: 'transaction-aggregator', script: dist('transaction-aggregator', 'cli.js') },
  { app: 'erp-sync', script: dist('erp-sync', 'cli.js') },
  { app: 'migrator', script: dist('migrator', 'cli.js') },
  { app: 'console', script: dist('console', 'cli.js') },
];

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const log = (message) => console.log(`${paint('1', 'start:')} ${message}`);
const fail = (message) => console.error(`${paint('1;31', 'start:')} ${message}`);

class StartError extends Error {}

const state = {
  emulators: [], // started by this run
  standins: null, // the vendor stand-ins, when this run started them
  standinSaver: null, // interval that saves the NetSuite stand-in's records
  services: [], // running service handles, in start order
  children: new Set(), // install/build/migrate children, killed on a signal
  stopping: null,
  signal: null,
};

// ---------------------------------------------------------------------------------------------
// Child processes

function run(label, command, args, { env = process.env, timeoutMs, quiet = false } = {}) {
  if (state.signal) return Promise.reject(new StartError(`${label}: interrupted`));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    state.children.add(child);
    const output = [];
    const collect = (stream, target) =>
      readline.createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        if (output.length > 200) output.shift();
        if (!quiet) target.write(`${paint('2', `[${label}]`)} ${line}\n`);
      });
    collect(child.stdout, process.stdout);
    collect(child.stderr, process.stderr);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      state.children.delete(child);
      reject(new StartError(`${label}: cannot run ${command}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      state.children.delete(child);
      if (code === 0) return resolve(output);
      const how = signal ? `killed by ${signal}` : `exit code ${code}`;
      const tail = quiet ? `\n${output.slice(-STDERR_TAIL_LINES).join('\n')}` : '';
      reject(new StartError(`${label} failed (${how})${tail}`));
    });
  });
}

async function ensureInstalled() {
  if (!installNeeded(root)) return;
  log('node_modules is missing or older than package-lock.json: npm install');
  const { command, args } = npmInstallCommand();
  await run('npm install', command, args, { timeoutMs: INSTALL_TIMEOUT_MS });
}

// ---------------------------------------------------------------------------------------------
// Local secrets, kept across restarts

const stateDir = path.resolve(root, process.env.SALDO_STATE_DIR || '.saldo');
const envFile = path.join(stateDir, 'local.env');
const shownPath = (file) => (file.startsWith(`${root}${path.sep}`) ? path.relative(root, file) : file);

function readEnvFile(file) {
  if (!fs.existsSync(file)) return {};
  const entries = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.match(/^([A-Z0-9_]+)=(.*)$/))
    .filter(Boolean)
    .map(([, key, value]) => [key, value.replace(/^'(.*)'$/, '$1')]);
  return Object.fromEntries(entries);
}

/** Returns the local secrets (generated once) and whether the demo key is new. */
function localSecrets() {
  const saved = readEnvFile(envFile);
  const secret = (bytes) => randomBytes(bytes).toString('base64url');
  const demoKey = saved.SALDO_DEMO_API_KEY || `sk_demo_${secret(32)}`;
  // erp-sync's own key (not the demo key: revocable on its own), added to a local.env of before.
  const erpSyncKey = saved.SALDO_ERP_SYNC_API_KEY || `sk_erp_sync_${secret(32)}`;
  const apiKeys = saved.SALDO_API_KEYS || `${DEMO_TENANT}=${demoKey}`;
  const secrets = {
    LEDGER_SERVICE_TOKEN: saved.LEDGER_SERVICE_TOKEN || secret(32),
    SALDO_KEY_ENCRYPTION_KEY: saved.SALDO_KEY_ENCRYPTION_KEY || secret(48),
    SALDO_DEMO_API_KEY: demoKey,
    SALDO_ERP_SYNC_API_KEY: erpSyncKey,
    // erp-sync resolves ERP documents and nothing else (scoped keys, issue 11 #8).
    SALDO_API_KEYS: withKeyEntry(apiKeys, `${DEMO_TENANT}=${erpSyncKey}`, ERP_SYNC_SCOPES),
  };
  const created = Object.keys(secrets).some((key) => saved[key] !== secrets[key]);
  if (created) {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const lines = [
      '# Generated by `npm start` for this machine only. Never commit, never use in production.',
      '# Delete this file to get new secrets (existing data stays readable only with the old ones).',
      ...Object.entries(secrets).map(([key, value]) => `${key}='${value}'`),
    ];
    fs.writeFileSync(envFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  }
  return { secrets, newDemoKey: !saved.SALDO_DEMO_API_KEY };
}

const ERP_SYNC_SCOPES = ';scopes=erp:resolve';

/** SALDO_API_KEYS ("tenant=key[;scopes=…],…") with `entry` + `scopes` in it (an unscoped entry of before gains them). */
const withKeyEntry = (keys, entry, scopes = '') => {
  const entries = keys.split(',').map((e) => e.trim());
  if (entries.includes(entry + scopes)) return keys;
  if (entries.some((e) => e.split(';')[0] === entry))
    return entries.map((e) => (e.split(';')[0] === entry ? entry + scopes : e)).join(',');
  return `${keys},${entry}${scopes}`;
};

// ---------------------------------------------------------------------------------------------
// Configuration

const localHost = (hostPort) => hostPort.replace(/^(0\.0\.0\.0|\[::\]|::):/, '127.0.0.1:');
const portOf = (hostPort) => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
const isLoopback = (hostPort) => /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(hostPort);

function stackEnv(secrets) {
  const defaults = {
    NODE_ENV: 'development',
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/saldo',
    REDIS_URL: 'redis://127.0.0.1:6379',
    GOOGLE_CLOUD_PROJECT: PROJECT_ID,
    PUBSUB_EMULATOR_HOST: '127.0.0.1:8085',
    FIRESTORE_EMULATOR_HOST: '127.0.0.1:8086',
    METADATA_SERVER_DETECTION: 'none', // no GCE metadata server: do not probe for one
    LEDGER_GRPC_URL: '127.0.0.1:50052',
    LEDGER_HTTP_HOST: '127.0.0.1',
    LEDGER_HTTP_PORT: '9464',
    AGGREGATOR_GRPC_URL: '127.0.0.1:50051',
    AGGREGATOR_HTTP_HOST: '127.0.0.1',
    AGGREGATOR_HTTP_PORT: '9465',
    AGGREGATOR_CONNECT_HOST: '127.0.0.1',
    AGGREGATOR_CONNECT_PORT: '8080',
    ERP_SYNC_HTTP_HOST: '127.0.0.1',
    ERP_SYNC_HTTP_PORT: '9466',
    CONSOLE_HOST: '127.0.0.1',
    CONSOLE_PORT: '8480',
    CONSOLE_HTTP_HOST: '127.0.0.1',
    CONSOLE_HTTP_PORT: '9469',
  };
  const env = { ...defaults, ...secrets, ...withoutEmpty(process.env) };
  env.PUBSUB_PROJECT_ID ||= env.GOOGLE_CLOUD_PROJECT;
  env.FIRESTORE_PROJECT_ID ||= env.GOOGLE_CLOUD_PROJECT;
  env.AGGREGATOR_LEDGER_TARGET ||= localHost(env.LEDGER_GRPC_URL);
  // Shadow-balance confirmation: erp-sync calls the aggregator of this stack with its own key of
  // tenant "demo" ("tenant=key,…", apps/erp-sync/src/config.ts), when the aggregator registers it.
  env.ERP_SYNC_AGGREGATOR_TARGET ||= localHost(env.AGGREGATOR_GRPC_URL);
  const erpSyncEntry = `${DEMO_TENANT}=${env.SALDO_ERP_SYNC_API_KEY}`;
  if (
    env.SALDO_ERP_SYNC_API_KEY &&
    (env.SALDO_API_KEYS ?? '').split(',').some((e) => e.trim().split(';')[0] === erpSyncEntry)
  )
    env.ERP_SYNC_AGGREGATOR_API_KEYS ||= erpSyncEntry;
  // The Console reads and acts for tenant "demo" with the demo key, and reads the ledger's entries.
  env.CONSOLE_AGGREGATOR_TARGET ||= localHost(env.AGGREGATOR_GRPC_URL);
  env.CONSOLE_LEDGER_TARGET ||= localHost(env.LEDGER_GRPC_URL);
  if (env.SALDO_DEMO_API_KEY) env.CONSOLE_TENANT_API_KEYS ||= `${DEMO_TENANT}=${env.SALDO_DEMO_API_KEY}`;
  env.CONSOLE_ERP_SYNC_METRICS_URL ||= `http://${localHost(`${env.ERP_SYNC_HTTP_HOST}:${env.ERP_SYNC_HTTP_PORT}`)}/metrics`;
  return env;
}

const withoutEmpty = (env) => Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));

/** Loads the apps' own config schemas (built JS) so a bad variable is named before anything starts. */
function validateConfigs(env) {
  const checks = [
    ['wallet-ledger', dist('wallet-ledger', 'config.js'), 'loadLedgerConfig'],
    ['transaction-aggregator', dist('transaction-aggregator', 'config.js'), 'loadAggregatorConfig'],
    ['erp-sync', dist('erp-sync', 'config.js'), 'loadErpSyncConfig'],
    ['console', dist('console', 'config.js'), 'loadConsoleConfig'],
  ].filter(
    ([app, file]) => (app !== 'erp-sync' && app !== 'console') || fs.existsSync(path.join(root, file)),
  );
  const configs = {};
  const problems = [];
  for (const [app, file, loader] of checks) {
    try {
      configs[app] = require(path.join(root, file))[loader](env);
    } catch (error) {
      problems.push(`${app}: ${error.message}`);
    }
  }
  if (problems.length > 0) throw new StartError(`configuration refused:\n${problems.join('\n')}`);
  return configs;
}

function portFree(port, host) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function checkPortsFree(ports) {
  for (const { variable, hostPort } of ports) {
    const host = hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[|\]$/g, '');
    if (!(await portFree(portOf(hostPort), host))) {
      throw new StartError(
        `${hostPort} (${variable}) is already in use: is another Saldo running? Stop it or set ${variable} to a free address.`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Emulators, PostgreSQL, Redis, Pub/Sub resources

async function ensureEmulator(kind, variable, env) {
  const hostPort = env[variable];
  if (await emulators.answersOk(hostPort)) return { kind, hostPort, origin: 'already running' };
  if (!isLoopback(hostPort))
    throw new StartError(
      `${variable}=${hostPort} does not answer, and npm start only starts emulators on this machine`,
    );
  const started = Date.now();
  log(`${kind} emulator: starting on ${hostPort} (gcloud)`);
  const emulator = await emulators.startEmulator(kind, {
    projectId: env.GOOGLE_CLOUD_PROJECT,
    port: portOf(hostPort),
    logDir: path.join(stateDir, 'logs'),
    timeoutMs: EMULATOR_START_TIMEOUT_MS,
  });
  state.emulators.push(emulator);
  log(
    `${kind} emulator: ready on ${hostPort} in ${((Date.now() - started) / 1000).toFixed(1)} s, log ${shownPath(emulator.logFile)}`,
  );
  return { kind, hostPort, origin: 'started by npm start' };
}

/**
 * The local Firestore enforces firestore.rules like production (issue 12: without them any client,
 * anonymous included, read every wallet). Loaded for this stack's project, whether the emulator
 * was started here or found running.
 */
async function loadRules(env) {
  const rulesFile = path.join(root, 'firestore.rules');
  const projectId = env.FIRESTORE_PROJECT_ID || env.GOOGLE_CLOUD_PROJECT;
  try {
    // The emulator compiles the rules on first use: slow on a busy machine.
    await emulators.loadFirestoreRules(
      env.FIRESTORE_EMULATOR_HOST,
      projectId,
      fs.readFileSync(rulesFile, 'utf8'),
      RULES_LOAD_TIMEOUT_MS,
    );
  } catch (error) {
    throw new StartError(`cannot load ${shownPath(rulesFile)} into the Firestore emulator: ${error.message}`);
  }
  log(
    `firestore emulator: ${shownPath(rulesFile)} loaded for project ${projectId} (clients read under the rules)`,
  );
}

function quoteIdent(name) {
  return `"${name.replace(/"/g, '""')}"`;
}

async function ensureDatabase(databaseUrl) {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  if (!name) throw new StartError('DATABASE_URL names no database');
  const admin = databases.adminConfigFromUrl(databaseUrl);
  try {
    const created = await databases.withClient(admin, async (client) => {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (found.rowCount > 0) return false;
      await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
      return true;
    });
    log(created ? `PostgreSQL: created database ${name}` : `PostgreSQL: database ${name} exists`);
  } catch (error) {
    throw new StartError(
      `cannot prepare PostgreSQL database "${name}" (DATABASE_URL=${databases.redactUrl(databaseUrl)}): ${error.message}`,
    );
  }
}

/** PING over RESP; the ledger runs without Redis (best-effort locks), so this only warns. */
function redisAnswers(redisUrl) {
  const url = new URL(redisUrl);
  if (url.protocol !== 'redis:') return Promise.resolve(true); // rediss: TLS, not probed here
  return new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port || 6379) });
    socket.setTimeout(2_000);
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(/^(\+PONG|-NOAUTH)/.test(data.toString())));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

async function migrate(env) {
  for (const { app, script } of MIGRATIONS) {
    if (!fs.existsSync(path.join(root, script))) {
      log(`migrate ${app}: skipped, ${script} is not built (the app has no migrate command yet)`);
      continue;
    }
    await run(`migrate ${app}`, process.execPath, [script, 'migrate'], {
      env,
      timeoutMs: MIGRATE_TIMEOUT_MS,
    });
  }
}

/** Topics and subscriptions of both apps; the apps create theirs too locally, this makes it explicit. */
function pubsubResources(configs) {
  const ledger = configs['wallet-ledger'];
  const aggregator = configs['transaction-aggregator'];
  const erpSync = configs['erp-sync'];
  // erp-sync's ordered subscription exists from the first run on, so it misses no ledger event
  // even while erp-sync itself is not started; same options as the app creates it with.
  const erpSyncSubscriptions = erpSync
    ? [
        {
          topic: erpSync.LEDGER_EVENTS_TOPIC,
          name: erpSync.ERP_SYNC_SUBSCRIPTION,
          options: { enableMessageOrdering: true, ackDeadlineSeconds: 60 },
        },
      ]
    : [];
  return {
    topics: [
      ledger.LEDGER_EVENTS_TOPIC,
      aggregator.AGGREGATOR_ACTIONS_TOPIC,
      aggregator.AGGREGATOR_RESULTS_TOPIC,
      aggregator.AGGREGATOR_DEAD_LETTER_TOPIC,
    ],
    subscriptions: [
      {
        topic: aggregator.AGGREGATOR_ACTIONS_TOPIC,
        name: aggregator.AGGREGATOR_ACTIONS_SUBSCRIPTION,
        options: { ackDeadlineSeconds: aggregator.AGGREGATOR_PUBSUB_ACK_DEADLINE_S },
      },
      ...erpSyncSubscriptions,
    ],
  };
}

async function ensurePubSubResources(env, resources) {
  process.env.METADATA_SERVER_DETECTION ||= 'none'; // this process's own Pub/Sub client, as the apps'
  const { PubSub } = require('@google-cloud/pubsub');
  const ALREADY_EXISTS = 6;
  const pubsub = new PubSub({ projectId: env.PUBSUB_PROJECT_ID, apiEndpoint: env.PUBSUB_EMULATOR_HOST });
  const ignoreExists = (error) => {
    if (error.code !== ALREADY_EXISTS) throw error;
  };
  const work = (async () => {
    for (const topic of resources.topics) await pubsub.createTopic(topic).catch(ignoreExists);
    for (const { topic, name, options } of resources.subscriptions)
      await pubsub.topic(topic).createSubscription(name, options).catch(ignoreExists);
  })();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer in ${PUBSUB_SETUP_TIMEOUT_MS / 1000} s`)),
      PUBSUB_SETUP_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([work, timeout]);
  } catch (error) {
    throw new StartError(`cannot create Pub/Sub topics on ${env.PUBSUB_EMULATOR_HOST}: ${error.message}`);
  } finally {
    clearTimeout(timer);
    await pubsub.close();
  }
  const subscriptions = resources.subscriptions.map((s) => `${s.name} (on ${s.topic})`);
  log(`Pub/Sub: topics ${resources.topics.join(', ')}; subscriptions ${subscriptions.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------
// Vendor stand-ins for erp-sync (NetSuite, Zendesk, ActiveCampaign)

const tenantsFile = path.join(stateDir, 'erp-sync-tenants.json');
const erpSyncEnvFile = path.join(stateDir, 'erp-sync.env');
const standinKeyFile = path.join(stateDir, 'netsuite-standin-key.pem');
// The NetSuite stand-in's records (journals, invoices and sales orders), kept across runs: erp-sync
// remembers what it wrote in PostgreSQL, so the ERP it wrote to must remember it too.
const standinRecordsFile = path.join(stateDir, 'netsuite-standin-records.json');
const STANDIN_SAVE_INTERVAL_MS = 5_000;

function loadStandinRecords(netsuite) {
  if (!fs.existsSync(standinRecordsFile)) return 0;
  let saved;
  try {
    saved = JSON.parse(fs.readFileSync(standinRecordsFile, 'utf8'));
  } catch (error) {
    log(`vendor stand-ins: ignoring ${shownPath(standinRecordsFile)} (${error.message})`);
    return 0;
  }
  for (const journal of saved.journals ?? []) netsuite.journals.set(journal.externalId, journal);
  for (const [key, document] of saved.documents ?? []) netsuite.documents.set(key, document);
  // New journals get internal ids after the kept ones (nextId is the stand-in's id counter).
  const maxId = Math.max(999, ...[...netsuite.journals.values()].map((j) => Number(j.id) || 0));
  netsuite.nextId = Math.max(netsuite.nextId ?? 1000, maxId + 1);
  return netsuite.journals.size;
}

function saveStandinRecords(netsuite) {
  const records = { journals: [...netsuite.journals.values()], documents: [...netsuite.documents.entries()] };
  const temporary = `${standinRecordsFile}.tmp`;
  fs.writeFileSync(temporary, JSON.stringify(records), { mode: 0o600 });
  fs.renameSync(temporary, standinRecordsFile);
}

/** Why the stand-ins are not started, or null when they are (the default). */
function standinsSkippedBecause(env) {
  if (env.SALDO_STANDINS === '0') return 'SALDO_STANDINS=0';
  const override = ERP_SYNC_OVERRIDES.find((name) => env[name]);
  if (override) return `${override} is set: erp-sync uses the configured vendors`;
  if (!fs.existsSync(path.join(root, STANDINS_SCRIPT))) return `not built (${STANDINS_SCRIPT} is missing)`;
  return null;
}

function standinPorts(env) {
  const raw = env.SALDO_STANDIN_PORTS || DEFAULT_STANDIN_PORTS;
  const ports = raw.split(',').map((p) => Number(p.trim()));
  if (ports.length !== 3 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535))
    throw new StartError(
      `configuration refused:\nSALDO_STANDIN_PORTS: expected three ports (NetSuite,Zendesk,ActiveCampaign), got "${raw}"`,
    );
  const [netsuite, zendesk, activecampaign] = ports;
  return { netsuite, zendesk, activecampaign };
}

/**
 * The demo tenant's accounting mapping (NetSuite internal ids of the stand-in ERP's chart of
 * accounts), written once and kept: edit it to try another mapping, delete it to get this one back.
 */
function demoTenantsMapping() {
  if (fs.existsSync(tenantsFile)) return { file: tenantsFile, created: false };
  const mapping = {
    [DEMO_TENANT]: {
      subsidiary: '1',
      accounts: {
        cashClearing: '100',
        customerPrepayment: '200',
        revenue: '400',
        costOfRevenue: '500',
        payables: '210',
      },
      currencies: { IDR: '5', USD: '1', EUR: '4' },
      products: { 'esign.basic': { item: '31' }, 'ekyc.check': { item: '32' } },
      defaultItem: '30',
      usageSummary: { periodMinutes: 60, singleEntryThresholdMinor: {} },
      crm: { zendesk: true, activeCampaign: true, contactEmailTemplate: '{ownerId}@customers.example.com' },
    },
  };
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(tenantsFile, `${JSON.stringify(mapping, null, 2)}\n`, { mode: 0o600 });
  return { file: tenantsFile, created: true };
}

const shellQuote = (value) => `'${String(value).replace(/'/g, `'\\''`)}'`;

/**
 * Starts the stand-ins in this process (fresh credentials each run) and returns erp-sync's vendor
 * environment. The same environment goes to $SALDO_STATE_DIR/erp-sync.env, so `saldo erp …` run
 * from a shell reaches this run's stand-ins.
 */
async function startVendorStandins(env) {
  const { startStandins } = require(path.join(root, STANDINS_SCRIPT));
  const ports = standinPorts(env);
  const standins = await startStandins({ ports });
  state.standins = standins;
  const kept = loadStandinRecords(standins.netsuite);
  state.standinSaver = setInterval(() => {
    try {
      saveStandinRecords(standins.netsuite);
    } catch (error) {
      log(`vendor stand-ins: cannot save ${shownPath(standinRecordsFile)}: ${error.message}`);
    }
  }, STANDIN_SAVE_INTERVAL_MS);
  state.standinSaver.unref();
  const { NETSUITE_PRIVATE_KEY: privateKey, ...vendorEnv } = standins.env;
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(standinKeyFile, privateKey, { mode: 0o600 });
  const erpEnv = {
    ...vendorEnv,
    NETSUITE_PRIVATE_KEY_FILE: standinKeyFile,
    ERP_SYNC_TENANTS_FILE: tenantsFile,
    DATABASE_URL: env.DATABASE_URL,
  };
  const lines = [
    "# Written by `npm start` on every run: erp-sync's vendor stand-ins of the running stack and their",
    '# credentials (fresh each run), for `saldo erp …` from a shell. Local only, never commit.',
    ...Object.entries(erpEnv).map(([key, value]) => `${key}=${shellQuote(value)}`),
  ];
  fs.writeFileSync(erpSyncEnvFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  log(
    `vendor stand-ins: NetSuite ${standins.netsuite.url}, Zendesk ${standins.zendesk.url}, ActiveCampaign ${standins.activecampaign.url}; credentials in ${shownPath(erpSyncEnvFile)}; NetSuite journals kept in ${shownPath(standinRecordsFile)} (${kept} from earlier runs)`,
  );
  return erpEnv;
}

async function stopVendorStandins() {
  if (!state.standins) return;
  clearInterval(state.standinSaver);
  try {
    saveStandinRecords(state.standins.netsuite);
  } catch (error) {
    fail(`vendor stand-ins: cannot save ${shownPath(standinRecordsFile)}: ${error.message}`);
  }
  await state.standins.stop();
  state.standins = null;
  log('vendor stand-ins: stopped');
}

// ---------------------------------------------------------------------------------------------
// Services

const LEVELS = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS = { 40: '33', 50: '31', 60: '31' };
const PINO_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'service', 'name', 'msg']);

/** A pino JSON line as `HH:MM:SS.mmm LEVEL message {extra}`; anything else unchanged. */
function formatLine(line) {
  if (process.env.SALDO_LOG_FORMAT === 'json' || !line.startsWith('{')) return line;
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || !('level' in entry)) return line;
  const time =
    typeof entry.time === 'string' ? entry.time.slice(11, 23) : new Date().toISOString().slice(11, 23);
  const level = LEVELS[entry.level] ?? String(entry.level);
  const extra = Object.fromEntries(Object.entries(entry).filter(([key]) => !PINO_KEYS.has(key)));
  let rest = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
  if (rest.length > LOG_EXTRA_MAX_CHARS) rest = `${rest.slice(0, LOG_EXTRA_MAX_CHARS)}…`;
  return `${paint('2', time)} ${paint(LEVEL_COLORS[entry.level] ?? '32', level.padEnd(5))} ${entry.msg ?? ''}${paint('2', rest)}`;
}

const SERVICE_COLORS = {
  'wallet-ledger': '36',
  'transaction-aggregator': '35',
  'erp-sync': '34',
  console: '33',
};

let healthClientCtor;
function checkHealth(target, service = '', timeoutMs = 1_000) {
  const grpc = require('@grpc/grpc-js');
  if (!healthClientCtor) {
    const { loadSync } = require('@grpc/proto-loader');
    const definition = loadSync(require.resolve('grpc-health-check/proto/health/v1/health.proto'), {
      keepCase: true,
      enums: String,
      defaults: true,
    });
    healthClientCtor = grpc.loadPackageDefinition(definition).grpc.health.v1.Health;
  }
  const client = new healthClientCtor(target, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.Check({ service }, { deadline: new Date(Date.now() + timeoutMs) }, (error, response) => {
      client.close();
      resolve(error ? undefined : response?.status);
    });
  });
}

/** The HTTP status of GET url, or undefined when nothing answers. */
function httpStatus(url, timeoutMs = 1_000) {
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

function startService(spec, env) {
  const width = Math.max(...Object.keys(SERVICE_COLORS).map((name) => name.length));
  const prefix = paint(SERVICE_COLORS[spec.name] ?? '1', `${spec.name.padEnd(width)} |`);
  // Own process group: Ctrl-C reaches only this script, which stops the services in order. The
  // watchdog stops the group should this script die without doing so.
  const child = spawn(process.execPath, [spec.script], {
    cwd: root,
    env: { ...env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const service = {
    ...spec,
    child,
    stderrTail: [],
    exit: null,
    watchdog: child.pid ? emulators.watchGroup(process.pid, child.pid) : null,
  };
  service.exited = new Promise((resolve) => {
    child.once('error', (error) => {
      service.exit = { error: error.message };
      resolve();
    });
    child.once('close', (code, signal) => {
      service.exit = { code, signal };
      resolve();
    });
  });
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    process.stdout.write(`${prefix} ${formatLine(line)}\n`);
  });
  readline.createInterface({ input: child.stderr }).on('line', (line) => {
    service.stderrTail.push(line);
    if (service.stderrTail.length > STDERR_TAIL_LINES) service.stderrTail.shift();
    process.stderr.write(`${prefix} ${formatLine(line)}\n`);
  });
  state.services.push(service);
  service.exited.then(() => {
    service.watchdog?.kill('SIGKILL');
    if (!state.stopping) onServiceDied(service);
  });
  return service;
}

const describeExit = (exit) =>
  exit?.error
    ? `could not start: ${exit.error}`
    : exit?.signal
      ? `killed by ${exit.signal}`
      : `exit code ${exit?.code}`;

async function waitUntilServing(service) {
  const deadline = Date.now() + SERVICE_READY_TIMEOUT_MS;
  const started = Date.now();
  while (!state.stopping) {
    if (service.exit)
      throw new StartError(`${service.name} exited before it was ready (${describeExit(service.exit)})`);
    const ready = service.readyUrl
      ? (await httpStatus(service.readyUrl)) === 200
      : (await checkHealth(service.healthTarget, service.healthService)) === 'SERVING';
    const where = service.readyUrl ?? service.healthTarget;
    if (ready) {
      log(`${service.name}: ready on ${where} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      return;
    }
    if (Date.now() > deadline)
      throw new StartError(
        `${service.name} was not ready on ${where} after ${SERVICE_READY_TIMEOUT_MS / 1000} s`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function onServiceDied(service) {
  const tail =
    service.stderrTail.length > 0 ? `; its last error output:\n${service.stderrTail.join('\n')}` : '';
  fail(`${service.name} stopped unexpectedly (${describeExit(service.exit)})${tail}`);
  shutdown(1);
}

async function stopService(service) {
  if (service.exit) return;
  service.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    log(`${service.name}: still running ${SERVICE_STOP_GRACE_MS / 1000} s after SIGTERM, killing it`);
    try {
      process.kill(-service.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, SERVICE_STOP_GRACE_MS);
  await service.exited;
  clearTimeout(timer);
  log(`${service.name}: stopped (${describeExit(service.exit)})`);
}

// ---------------------------------------------------------------------------------------------
// Banner

const consoleUrl = (env) => `http://${localHost(`${env.CONSOLE_HOST}:${env.CONSOLE_PORT}`)}/`;

function banner({ env, configs, emulatorInfo, started, skipped, newDemoKey, startedAt, standinsSkipped }) {
  const ledger = configs['wallet-ledger'];
  const aggregatorTarget = localHost(env.AGGREGATOR_GRPC_URL);
  const connectTarget = localHost(`${env.AGGREGATOR_CONNECT_HOST}:${env.AGGREGATOR_CONNECT_PORT}`);
  const envPath = shownPath(envFile);
  const openWallet = JSON.stringify({
    idempotency_key: 'first-wallet',
    owner_type: 'PERSONAL',
    owner_id: 'alice',
    currency: 'IDR',
  });
  const service = 'saldo.transaction.v1.TransactionService';
  const auth = '-H "authorization: Bearer $SALDO_DEMO_API_KEY"';
  const rows = [
    ['transaction-aggregator', `grpc ${aggregatorTarget}`, `${service} (public API; health, reflection)`],
    [
      'wallet-ledger',
      `grpc ${localHost(env.LEDGER_GRPC_URL)}`,
      'saldo.ledger.v1.LedgerService (internal; Bearer LEDGER_SERVICE_TOKEN)',
    ],
    [
      '',
      `http http://${localHost(`${ledger.LEDGER_HTTP_HOST}:${ledger.LEDGER_HTTP_PORT}`)}`,
      '/metrics /healthz /readyz',
    ],
    ...(started.includes('erp-sync')
      ? [
          [
            'erp-sync',
            `http http://${localHost(`${env.ERP_SYNC_HTTP_HOST}:${env.ERP_SYNC_HTTP_PORT}`)}`,
            '/metrics /healthz /readyz (ledger events → ERP, CRMs)',
          ],
        ]
      : []),
    ...(state.standins
      ? [
          [
            'NetSuite stand-in',
            `http ${state.standins.netsuite.url}`,
            'record API v1 journalEntry, SuiteQL (OAuth 2.0 JWT)',
          ],
          ['Zendesk stand-in', `http ${state.standins.zendesk.url}`, '/api/v2/users/create_or_update'],
          ['ActiveCampaign stand-in', `http ${state.standins.activecampaign.url}`, '/api/3/contact/sync'],
          [
            'erp-sync mapping',
            shownPath(tenantsFile),
            `tenant "${DEMO_TENANT}"; vendor credentials ${shownPath(erpSyncEnvFile)}`,
          ],
        ]
      : standinsSkipped
        ? [['vendor stand-ins', 'not started', standinsSkipped]]
        : []),
    ...(started.includes('console')
      ? [
          ['console', `http ${consoleUrl(env)}`, 'Saldo Console: web page for operators (sign in below)'],
          [
            '',
            `http http://${localHost(`${env.CONSOLE_HTTP_HOST}:${env.CONSOLE_HTTP_PORT}`)}`,
            '/metrics /healthz /readyz',
          ],
        ]
      : []),
    ...Object.entries(skipped).map(([name, why]) => [name, 'not started', why]),
    ['PostgreSQL', databases.redactUrl(env.DATABASE_URL), ''],
    ['Redis', env.REDIS_URL, ''],
    ...emulatorInfo.map((e) => [
      `${e.kind} emulator`,
      e.hostPort,
      `${e.origin}, project ${env.GOOGLE_CLOUD_PROJECT}`,
    ]),
    [
      'local secrets',
      envPath,
      'LEDGER_SERVICE_TOKEN, SALDO_KEY_ENCRYPTION_KEY, SALDO_DEMO_API_KEY (tenant "demo")',
    ],
  ];
  const lines = [
    '',
    paint('1;32', `Saldo is running (ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s)`),
    ...rows.map(([name, where, what]) => `  ${name.padEnd(24)}${where.padEnd(44)}${what}`),
    '',
  ];
  if (newDemoKey)
    lines.push(`Your demo API key (tenant "demo") is ${env.SALDO_DEMO_API_KEY} — also in ${envPath}.`, '');
  lines.push(
    'First command to try (opens a wallet for tenant "demo"):',
    `  set -a; . ${envPath}; set +a`,
    `  grpcurl -plaintext ${auth} -d '${openWallet}' ${aggregatorTarget} ${service}/OpenWallet`,
    'or, without grpcurl:',
    `  node tools/scripts/grpc-call.mjs ${auth} -d '${openWallet}' ${aggregatorTarget} ${service}/OpenWallet`,
    'or with curl, through the HTTP door (Connect JSON):',
    `  curl -H 'Content-Type: application/json' ${auth} -d '${openWallet}' http://${connectTarget}/${service}/OpenWallet`,
    '',
  );
  if (state.standins && started.includes('erp-sync')) {
    const erpEnvPath = shownPath(erpSyncEnvFile);
    const target = aggregatorTarget === '127.0.0.1:50051' ? '' : ` --target ${aggregatorTarget}`;
    lines.push(
      'Then the ERP side: top up that wallet and book a usage, and a few seconds later erp-sync has',
      'journalled them in the NetSuite stand-in; the reconciliation reads them back by SuiteQL:',
      `  set -a; . ${envPath}; . ${erpEnvPath}; set +a; WALLET=<wallet_id from OpenWallet>`,
      `  npx saldo topup $WALLET 15000${target} && npx saldo usage $WALLET 2500 --product esign.basic --cost 800${target}`,
      `  npx saldo erp reconcile --tenant ${DEMO_TENANT} --day $(date -u +%F)`,
      '',
    );
  }
  if (started.includes('console'))
    lines.push(
      `The Console is at ${consoleUrl(env)}; its first admin (once; the password is read from stdin):`,
      `  npx saldo console create-admin --email you@example.com --tenant ${DEMO_TENANT}`,
      '',
    );
  lines.push('Ctrl-C stops everything.');
  console.log(lines.join('\n'));
  log('ready');
}

// ---------------------------------------------------------------------------------------------
// Shutdown

function shutdown(code) {
  state.stopping ??= (async () => {
    for (const child of state.children) child.kill('SIGTERM');
    for (const service of [...state.services].reverse()) await stopService(service);
    await stopVendorStandins().catch((error) => fail(`vendor stand-ins: ${error.message}`));
    await Promise.allSettled(
      state.emulators.map(async (emulator) => {
        await emulator.stop();
        log(`${emulator.kind} emulator on ${emulator.host}: stopped`);
      }),
    );
    log(code === 0 ? 'everything stopped' : 'stopped after an error');
    process.exit(code);
  })();
  return state.stopping;
}

function onSignal(signal) {
  if (state.signal) {
    fail(`${signal} again: killing everything now`);
    for (const service of state.services) {
      try {
        process.kill(-service.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // Emulators die with this process: their watchdog sees it exit.
    process.exit(130);
  }
  state.signal = signal;
  log(`${signal}: stopping`);
  shutdown(0);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const startedAt = Date.now();
  if (process.env.SALDO_START_BUILD !== '0') {
    await ensureInstalled();
    log('building (tools/scripts/build.mjs)');
    await run('build', process.execPath, ['tools/scripts/build.mjs'], { timeoutMs: BUILD_TIMEOUT_MS });
  }
  const { secrets, newDemoKey } = localSecrets();
  const env = stackEnv(secrets);
  const configs = validateConfigs(env);
  const services = [
    {
      name: 'wallet-ledger',
      script: dist('wallet-ledger', 'main.js'),
      healthTarget: localHost(env.LEDGER_GRPC_URL),
      healthService: 'saldo.ledger.v1.LedgerService',
    },
    {
      name: 'transaction-aggregator',
      script: dist('transaction-aggregator', 'main.js'),
      healthTarget: localHost(env.AGGREGATOR_GRPC_URL),
      healthService: 'saldo.transaction.v1.TransactionService',
    },
    // erp-sync serves no gRPC: ready once its /readyz answers 200 (database reachable).
    {
      name: 'erp-sync',
      script: dist('erp-sync', 'main.js'),
      readyUrl: `http://${localHost(`${env.ERP_SYNC_HTTP_HOST}:${env.ERP_SYNC_HTTP_PORT}`)}/readyz`,
    },
    // The Console: ready once its /readyz answers 200 (database reachable).
    {
      name: 'console',
      script: dist('console', 'main.js'),
      readyUrl: `http://${localHost(`${env.CONSOLE_HTTP_HOST}:${env.CONSOLE_HTTP_PORT}`)}/readyz`,
    },
  ];
  const skipped = {};
  for (const service of services) {
    if (!fs.existsSync(path.join(root, service.script)))
      skipped[service.name] = `not built (${service.script} is missing)`;
  }
  const standinsSkipped = skipped['erp-sync'] ? 'erp-sync is not built' : standinsSkippedBecause(env);
  const standinPortList = standinsSkipped ? [] : Object.entries(standinPorts(env));
  if (standinsSkipped) {
    log(`vendor stand-ins: not started, ${standinsSkipped}`);
  } else {
    const { created } = demoTenantsMapping();
    log(
      `erp-sync: tenant "${DEMO_TENANT}" mapping ${created ? 'written to' : 'from'} ${shownPath(tenantsFile)}`,
    );
    env.ERP_SYNC_TENANTS_FILE = tenantsFile;
    env.ERP_SYNC_SUMMARY_DELAY_MS ||= LOCAL_SUMMARY_DELAY_MS;
  }
  if (!skipped['erp-sync'] && !env.ERP_SYNC_TENANTS_FILE && !env.ERP_SYNC_TENANTS_JSON)
    skipped['erp-sync'] =
      'needs its tenant accounting mapping: set ERP_SYNC_TENANTS_FILE or ERP_SYNC_TENANTS_JSON';
  for (const [name, why] of Object.entries(skipped)) log(`${name}: skipped, ${why}`);
  const toStart = services.filter((s) => !(s.name in skipped));

  await checkPortsFree([
    { variable: 'LEDGER_GRPC_URL', hostPort: env.LEDGER_GRPC_URL },
    {
      variable: 'LEDGER_HTTP_PORT',
      hostPort: `${configs['wallet-ledger'].LEDGER_HTTP_HOST}:${configs['wallet-ledger'].LEDGER_HTTP_PORT}`,
    },
    { variable: 'AGGREGATOR_GRPC_URL', hostPort: env.AGGREGATOR_GRPC_URL },
    {
      variable: 'AGGREGATOR_CONNECT_PORT',
      hostPort: `${env.AGGREGATOR_CONNECT_HOST}:${env.AGGREGATOR_CONNECT_PORT}`,
    },
    ...('erp-sync' in skipped
      ? []
      : [
          { variable: 'ERP_SYNC_HTTP_PORT', hostPort: `${env.ERP_SYNC_HTTP_HOST}:${env.ERP_SYNC_HTTP_PORT}` },
        ]),
    ...('console' in skipped
      ? []
      : [
          { variable: 'CONSOLE_PORT', hostPort: `${env.CONSOLE_HOST}:${env.CONSOLE_PORT}` },
          { variable: 'CONSOLE_HTTP_PORT', hostPort: `${env.CONSOLE_HTTP_HOST}:${env.CONSOLE_HTTP_PORT}` },
        ]),
    ...standinPortList.map(([vendor, port]) => ({
      variable: `SALDO_STANDIN_PORTS (${vendor} stand-in)`,
      hostPort: `127.0.0.1:${port}`,
    })),
  ]);
  if (!(await redisAnswers(env.REDIS_URL)))
    log(
      `WARNING: Redis does not answer at ${env.REDIS_URL} (REDIS_URL): the ledger runs without its cross-instance locks`,
    );

  const emulatorsReady = Promise.all([
    ensureEmulator('pubsub', 'PUBSUB_EMULATOR_HOST', env),
    ensureEmulator('firestore', 'FIRESTORE_EMULATOR_HOST', env),
  ]);
  emulatorsReady.catch(() => {}); // awaited below, after the database work that runs meanwhile
  await ensureDatabase(env.DATABASE_URL);
  await migrate(env);
  const emulatorInfo = await emulatorsReady;
  await loadRules(env);
  await ensurePubSubResources(env, pubsubResources(configs));
  if (!standinsSkipped && !state.stopping) Object.assign(env, await startVendorStandins(env));

  for (const spec of toStart) {
    if (state.stopping) return;
    log(`${spec.name}: starting (node ${spec.script})`);
    await waitUntilServing(startService(spec, env));
  }
  if (state.stopping) return;
  banner({
    env,
    configs,
    emulatorInfo,
    started: toStart.map((s) => s.name),
    skipped,
    newDemoKey,
    startedAt,
    standinsSkipped,
  });
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
main().catch(async (error) => {
  if (state.stopping) return;
  fail(error instanceof StartError ? error.message : (error.stack ?? String(error)));
  // Emulators still starting are stopped by their watchdog once this process exits.
  await shutdown(1);
});
