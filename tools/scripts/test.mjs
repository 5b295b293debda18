#!/usr/bin/env node
// `npm test`: prepares the real services for one test run, runs every Jest suite once, tears down.
//
//   1. npm install, if node_modules is missing or older than package-lock.json (never `npm ci`)
//   2. build (tools/scripts/build.mjs -> dist/out-tsc); the emulators start meanwhile
//   3. PostgreSQL: `saldo_test_<id>_tpl` is migrated by every entry of MIGRATIONS, then made a
//      template nobody may connect to; `saldo_test_<id>` is cloned from it for specs that share
//   4. Pub/Sub and Firestore emulators on free ports (unless *_EMULATOR_HOST is already set)
//   5. Jest over unit, integration and e2e suites; `npm test -- <args>` passes <args> to Jest
//   6. teardown, also on failure and SIGINT/SIGTERM: stop our emulators, drop saldo_test_<id>*
//      (SALDO_TEST_KEEP=1 keeps them)
//   6. the Console's browser suite (apps/console/browser, @playwright/test driving Debian's
//      chromium, installed with apt-get when missing) after Jest, when the run is unfiltered or a
//      filter names the console; SALDO_TEST_BROWSER=0 skips it, =1 runs it with any filter
//   7. one last line `tests: N passed, N failed` (Jest's and the browser suite's tests together);
//      exit code 0 only if tests ran and none failed
//
// Jest and the migrations see, on top of the caller's environment:
//   DATABASE_URL, SALDO_TEST_DATABASE_URL   the shared database of this run
//   SALDO_TEST_TEMPLATE_DB                  migrated template to clone (see @saldo/test-support)
//   SALDO_TEST_RUN_ID                       short id of this run; logs are in tmp/test-run-<id>/
//   REDIS_URL                               redis://127.0.0.1:6379 unless already set
//   PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST
//   GOOGLE_CLOUD_PROJECT, PUBSUB_PROJECT_ID, FIRESTORE_PROJECT_ID   all `saldo-test`
//   METADATA_SERVER_DETECTION               `none` unless set (no GCE metadata probing)
//
// Knobs: SALDO_TEST_WORKERS (Jest --maxWorkers, default 2), SALDO_TEST_TIMEOUT_MIN (whole Jest
// run, default 60), SALDO_TEST_KEEP=1, PGHOST/PGPORT/PGUSER/PGPASSWORD.
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import emulators from '../../libs/test-support/src/shared/emulators.cjs';
import databases from '../../libs/test-support/src/shared/databases.cjs';
import { installNeeded, npmInstallCommand } from './lib/npm-install.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Each app that owns a schema adds its migrate command here; an entry whose script is not built
// (the app has no CLI yet) is skipped with a note.
const MIGRATIONS = [
  { app: 'wallet-ledger', script: 'dist/out-tsc/apps/wallet-ledger/src/cli.js', args: ['migrate'] },
  {
    app: 'transaction-aggregator',
    script: 'dist/out-tsc/apps/transaction-aggregator/src/cli.js',
    args: ['migrate'],
  },
  { app: 'erp-sync', script: 'dist/out-tsc/apps/erp-sync/src/cli.js', args: ['migrate'] },
  { app: 'migrator', script: 'dist/out-tsc/apps/migrator/src/cli.js', args: ['migrate'] },
  { app: 'console', script: 'dist/out-tsc/apps/console/src/cli.js', args: ['migrate'] },
];

const PROJECT_ID = 'saldo-test';
const MIGRATION_TIMEOUT_MS = 5 * 60_000;
const INSTALL_TIMEOUT_MS = 20 * 60_000;
const BUILD_TIMEOUT_MS = 10 * 60_000;
const JEST_TIMEOUT_MS = Number(process.env.SALDO_TEST_TIMEOUT_MIN || 60) * 60_000;
const JEST_EXIT_GRACE_MS = 60_000; // Jest wrote its results but open handles keep it alive
const KILL_GRACE_MS = 10_000;
const EMULATOR_SETTLE_MS = 5_000; // on teardown, wait this long for an emulator still starting

const runId = Array.from({ length: 8 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[randomInt(36)]).join('');
const runDir = emulators.runDirFor(runId);
const jestJson = path.join(runDir, 'jest.json');
const browserJson = path.join(runDir, 'playwright.json');
const BROWSER_TIMEOUT_MS = 15 * 60_000;
const CHROMIUM = process.env.CONSOLE_CHROMIUM || '/usr/bin/chromium';
const keep = process.env.SALDO_TEST_KEEP === '1';

const state = {
  children: new Set(),
  emulatorsStarting: null, // promise of the emulator env
  emulators: [], // started by this run, stopped on teardown
  dbBase: null, // set before the first CREATE DATABASE so teardown drops partial work
  signal: null,
  jestFailure: null, // how Jest exited, if not with code 0
  browserWanted: false,
  browserFailure: null, // why the browser suite did not run or how it exited
};

const log = (message) => console.log(`test: ${message}`);
const rel = (file) => path.relative(root, file) || '.';

class HarnessError extends Error {}

function run(label, command, args, { env = process.env, timeoutMs, onChild } = {}) {
  if (state.signal) return Promise.reject(new HarnessError(`${label}: not started, run interrupted`));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: 'inherit' });
    state.children.add(child);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killChild(child);
    }, timeoutMs);
    onChild?.(child);
    child.once('error', (error) => {
      clearTimeout(timer);
      state.children.delete(child);
      reject(new HarnessError(`${label}: cannot start ${command}: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      state.children.delete(child);
      if (timedOut) reject(new HarnessError(`${label}: timed out after ${Math.round(timeoutMs / 1000)} s`));
      else resolve({ code, signal });
    });
  });
}

async function runOrFail(label, command, args, options) {
  const { code, signal } = await run(label, command, args, options);
  if (code !== 0) throw new HarnessError(`${label}: failed (${describeExit(code, signal)})`);
}

const describeExit = (code, signal) => (signal ? `killed by ${signal}` : `exit code ${code}`);

function killChild(child) {
  child.kill('SIGTERM');
  setTimeout(
    () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'),
    KILL_GRACE_MS,
  ).unref();
}

async function ensureInstalled() {
  if (!installNeeded(root)) return;
  log('node_modules missing or older than package-lock.json: npm install');
  const { command, args } = npmInstallCommand();
  await runOrFail('npm install', command, args, { timeoutMs: INSTALL_TIMEOUT_MS });
}

async function startEmulators() {
  const env = {
    REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    GOOGLE_CLOUD_PROJECT: PROJECT_ID,
    PUBSUB_PROJECT_ID: PROJECT_ID,
    FIRESTORE_PROJECT_ID: PROJECT_ID,
    // No GCE metadata server here: without this the Google clients probe for one and warn.
    METADATA_SERVER_DETECTION: process.env.METADATA_SERVER_DETECTION || 'none',
  };
  const wanted = [
    ['pubsub', 'PUBSUB_EMULATOR_HOST'],
    ['firestore', 'FIRESTORE_EMULATOR_HOST'],
  ];
  const results = await Promise.allSettled(
    wanted.map(async ([kind, variable]) => {
      if (process.env[variable]) {
        log(`${kind}: using ${variable}=${process.env[variable]} from the environment`);
        return [variable, process.env[variable]];
      }
      const started = Date.now();
      const emulator = await emulators.startEmulator(kind, { projectId: PROJECT_ID, logDir: runDir });
      state.emulators.push(emulator);
      log(
        `${kind} emulator ready on ${emulator.host} in ${((Date.now() - started) / 1000).toFixed(1)}s (pgid ${emulator.pid})`,
      );
      return [variable, emulator.host];
    }),
  );
  const failures = results
    .filter((result) => result.status === 'rejected')
    .map((result) => result.reason.message);
  if (failures.length > 0) throw new HarnessError(failures.join('\n'));
  return { ...env, ...Object.fromEntries(results.map((result) => result.value)) };
}

// Fails fast if PostgreSQL is down, and drops what killed runs on this host left behind.
async function checkPostgres() {
  const admin = databases.adminConfigFromEnv();
  try {
    await databases.withClient(admin, (client) => client.query('SELECT 1'));
  } catch (error) {
    throw new HarnessError(
      `cannot reach PostgreSQL at ${admin.host}:${admin.port} as ${admin.user}: ${error.message} (is it running? .ci/run starts it)`,
    );
  }
  const reaped = await databases.withClient(admin, (client) => databases.reapOrphanedRuns(client));
  if (reaped.length > 0)
    log(`dropped ${reaped.length} database(s) left by killed runs: ${reaped.join(', ')}`);
}

async function prepareDatabases(serviceEnv) {
  const admin = databases.adminConfigFromEnv();
  const base = `${databases.NAME_PREFIX}${runId}`;
  const template = `${base}_tpl`;
  await databases.withClient(admin, async (client) => {
    state.dbBase = base;
    await databases.createDatabase(client, template);
    await databases.tagOwner(client, template, databases.ownerTag());
  });
  const templateUrl = databases.databaseUrl(admin, template);
  for (const { app, script, args } of MIGRATIONS) {
    if (!fs.existsSync(path.join(root, script))) {
      log(`migrate ${app}: skipped, ${script} does not exist (the app has no migrate CLI yet)`);
      continue;
    }
    log(`migrate ${app}: node ${script} ${args.join(' ')}`);
    await runOrFail(`migrate ${app}`, process.execPath, [script, ...args], {
      env: { ...process.env, ...serviceEnv, DATABASE_URL: templateUrl },
      timeoutMs: MIGRATION_TIMEOUT_MS,
    });
  }
  await databases.withClient(admin, async (client) => {
    await databases.markTemplate(client, template);
    await databases.createDatabase(client, base, { template });
    await databases.tagOwner(client, base, databases.ownerTag());
  });
  const url = databases.databaseUrl(admin, base);
  log(`databases ready: ${base} (shared), ${template} (template)`);
  return { DATABASE_URL: url, SALDO_TEST_DATABASE_URL: url, SALDO_TEST_TEMPLATE_DB: template };
}

function workerArgs(extra) {
  const chosen = extra.some((arg) => /^(-i|--runInBand|--maxWorkers(=.*)?|-w.*)$/.test(arg));
  return chosen ? [] : [`--maxWorkers=${process.env.SALDO_TEST_WORKERS || 2}`];
}

async function runJest(env) {
  const extra = process.argv.slice(2);
  const args = [
    'node_modules/jest/bin/jest.js',
    '--json',
    `--outputFile=${jestJson}`,
    ...workerArgs(extra),
    ...extra,
  ];
  log(`node ${args.join(' ')}`);
  let watchdog;
  const onChild = (child) => {
    const deadline = Date.now() + JEST_TIMEOUT_MS;
    watchdog = setInterval(() => {
      const resultsAt = fs.existsSync(jestJson) ? fs.statSync(jestJson).mtimeMs : null;
      if (resultsAt !== null && Date.now() - resultsAt > JEST_EXIT_GRACE_MS) {
        log(
          `Jest wrote its results but has not exited for ${JEST_EXIT_GRACE_MS / 1000} s (open handles? try --detectOpenHandles): stopping it`,
        );
      } else if (Date.now() > deadline) {
        log(`Jest ran longer than ${JEST_TIMEOUT_MS / 60_000} min (SALDO_TEST_TIMEOUT_MIN): stopping it`);
      } else return;
      clearInterval(watchdog);
      killChild(child);
    }, 1_000);
  };
  try {
    const { code, signal } = await run('jest', process.execPath, args, {
      env,
      timeoutMs: JEST_TIMEOUT_MS + KILL_GRACE_MS * 3,
      onChild,
    });
    return code === 0 ? null : describeExit(code, signal);
  } finally {
    clearInterval(watchdog);
  }
}

function browserSuiteWanted(extra) {
  if (process.env.SALDO_TEST_BROWSER === '0') return false;
  if (process.env.SALDO_TEST_BROWSER === '1') return true;
  const filters = extra.filter((arg) => !arg.startsWith('-'));
  return extra.length === 0 || filters.some((arg) => /console/.test(arg));
}

// Debian's chromium for the browser suite (Playwright's own download cannot work here).
async function ensureChromium() {
  if (fs.existsSync(CHROMIUM)) return;
  log(`${CHROMIUM} missing: apt-get install -y chromium`);
  const install = () =>
    run('apt-get install', 'apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
      timeoutMs: INSTALL_TIMEOUT_MS,
    });
  let { code } = await install();
  if (code !== 0) {
    await run('apt-get update', 'apt-get', ['update'], { timeoutMs: INSTALL_TIMEOUT_MS });
    ({ code } = await install());
  }
  if (code !== 0 || !fs.existsSync(CHROMIUM))
    throw new HarnessError(`cannot install chromium (apt-get exit ${code})`);
}

async function runBrowserSuite(env) {
  const args = [
    'node_modules/@playwright/test/cli.js',
    'test',
    '--config',
    'apps/console/browser/playwright.config.ts',
  ];
  log(`node ${args.join(' ')}`);
  const { code, signal } = await run('playwright', process.execPath, args, {
    env: { ...env, CONSOLE_PLAYWRIGHT_JSON: browserJson, CONSOLE_CHROMIUM: CHROMIUM },
    timeoutMs: BROWSER_TIMEOUT_MS,
  });
  return code === 0 ? null : `browser suite ${describeExit(code, signal)}`;
}

// Playwright's JSON report: expected = passed, unexpected = failed, flaky = passed on a retry.
function readBrowserReport() {
  try {
    const { stats, errors } = JSON.parse(fs.readFileSync(browserJson, 'utf8'));
    return {
      passed: stats.expected + stats.flaky,
      failed:
        stats.unexpected + (stats.expected + stats.unexpected + stats.flaky === 0 && errors?.length ? 1 : 0),
    };
  } catch {
    return null;
  }
}

async function teardown() {
  const pending = state.emulatorsStarting?.catch(() => {});
  if (pending)
    await Promise.race([pending, new Promise((resolve) => setTimeout(resolve, EMULATOR_SETTLE_MS))]);
  // Emulators still starting after that die with this process (their watchdog watches our pid).
  const stopping = state.emulators.map(async (emulator) => {
    await emulator.stop();
    log(`${emulator.kind} emulator on ${emulator.host} stopped`);
  });
  const dropping = (async () => {
    if (!state.dbBase) return;
    const admin = databases.adminConfigFromEnv();
    await databases.withClient(admin, async (client) => {
      if (keep) {
        for (const name of [state.dbBase, `${state.dbBase}_tpl`]) {
          await databases.tagOwner(client, name, databases.KEPT_TAG).catch(() => {});
        }
        log(`SALDO_TEST_KEEP=1: kept databases ${state.dbBase}*`);
        return;
      }
      const dropped = await databases.dropWithPrefix(client, state.dbBase);
      log(`dropped ${dropped.length} database(s) ${state.dbBase}*`);
    });
  })();
  const results = await Promise.allSettled([...stopping, dropping]);
  for (const result of results) {
    if (result.status === 'rejected') log(`WARNING teardown: ${result.reason.message}`);
  }
}

function readReport() {
  try {
    return JSON.parse(fs.readFileSync(jestJson, 'utf8'));
  } catch {
    return null;
  }
}

// A suite that failed to run (syntax error, failing hook, crash) counts as at least one failure.
function countResults(report) {
  const brokenSuites = report.testResults.filter(
    (suite) => suite.status === 'failed' && !suite.assertionResults.some((test) => test.status === 'failed'),
  ).length;
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests + Math.max(brokenSuites, report.numRuntimeErrorTestSuites),
  };
}

let finishing = null;
function finish({ error = null } = {}) {
  finishing ??= (async () => {
    if (error) {
      const message = error instanceof HarnessError ? error.message : (error.stack ?? String(error));
      console.error(`test: FAILED: ${message}`);
    }
    await teardown();
    const report = readReport();
    let { passed, failed } = report
      ? countResults(report)
      : { passed: 0, failed: error || state.signal ? 1 : 0 };
    const reasons = [];
    if (state.browserWanted) {
      const browser = readBrowserReport();
      passed += browser?.passed ?? 0;
      failed += browser ? browser.failed : 1;
      if (!browser) reasons.push(`browser suite: ${state.browserFailure ?? 'no results'}`);
      else if (state.browserFailure && browser.failed === 0) reasons.push(state.browserFailure);
    }
    if (failed > 0) reasons.push(`${failed} failed`);
    if (state.jestFailure) reasons.push(`jest ${state.jestFailure}`);
    if (report && passed + failed === 0) reasons.push('no test ran');
    if (!report) reasons.push('jest produced no results');
    if (state.signal) reasons.push(`interrupted by ${state.signal}`);
    if (reasons.length > 0) log(`run ${runId} failed: ${reasons.join(', ')}; logs kept in ${rel(runDir)}`);
    else if (!keep) fs.rmSync(runDir, { recursive: true, force: true });
    console.log(`tests: ${passed} passed, ${failed} failed`);
    const signalCodes = { SIGINT: 130, SIGTERM: 143 };
    process.exit(state.signal ? signalCodes[state.signal] : reasons.length > 0 ? 1 : 0);
  })();
  return finishing;
}

function onSignal(signal) {
  if (state.signal) {
    console.error(`test: ${signal} again: exiting without teardown (emulators die with this process)`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  }
  state.signal = signal;
  log(`${signal}: stopping the run`);
  for (const child of state.children) child.kill(signal);
  finish();
}

async function main() {
  fs.mkdirSync(runDir, { recursive: true });
  log(`run ${runId}, logs in ${rel(runDir)}`);
  await ensureInstalled();
  await checkPostgres();
  if (state.signal) return;
  state.emulatorsStarting = startEmulators();
  state.emulatorsStarting.catch(() => {}); // awaited below; teardown also waits for it
  state.browserWanted = browserSuiteWanted(process.argv.slice(2));
  const chromium = state.browserWanted ? ensureChromium() : Promise.resolve();
  chromium.catch(() => {}); // awaited after Jest
  await runOrFail('build', process.execPath, ['tools/scripts/build.mjs'], { timeoutMs: BUILD_TIMEOUT_MS });
  const serviceEnv = await state.emulatorsStarting;
  if (state.signal) return;
  const databaseEnv = await prepareDatabases(serviceEnv);
  if (state.signal) return;
  const testEnv = { ...process.env, ...serviceEnv, ...databaseEnv, SALDO_TEST_RUN_ID: runId };
  state.jestFailure = await runJest(testEnv);
  if (!state.browserWanted || state.signal) return;
  try {
    await chromium;
    state.browserFailure = await runBrowserSuite(testEnv);
  } catch (error) {
    state.browserFailure = error instanceof Error ? error.message : String(error);
  }
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
main().then(
  () => finish(),
  (error) => finish({ error }),
);
