'use strict';
// Starts and stops the Google Cloud emulators (Pub/Sub, Firestore) for tests. One implementation,
// used by tools/scripts/test.mjs (one pair per `npm test` run) and by @saldo/test-support (a fresh
// emulator for a spec that needs its own). Plain CommonJS, no build step: the test.mjs script loads
// it before anything is compiled, and Jest/TypeScript load it too (types in emulators.d.cts). It
// lives inside the library because the lint forbids a library importing files outside projects.
//
// Each emulator runs in its own session and process group, led by gcloud (which spawns the java
// child; gcloud moves itself to a new group unless it leads its session, so it must be spawned as
// a session leader). stop() kills the whole group. A tiny bash watchdog outside the group kills it
// too if the owning process dies without stopping it (SIGKILL, a crashed Jest worker).
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '../../../..');

const DEFAULT_PROJECT_ID = 'saldo-test';
const START_TIMEOUT_MS = 90_000;
const START_ATTEMPTS_MAX = 3; // a free port can be taken between probing and the emulator binding it
const STOP_GRACE_MS = 10_000;
const STOP_KILL_WAIT_MS = 5_000;
const LOG_TAIL_LINES = 40;

const KINDS = {
  pubsub: {
    label: 'Pub/Sub emulator',
    args: (hostPort, projectId) => [
      'beta',
      'emulators',
      'pubsub',
      'start',
      `--host-port=${hostPort}`,
      `--project=${projectId}`,
    ],
    env: (hostPort, projectId) => ({ PUBSUB_EMULATOR_HOST: hostPort, PUBSUB_PROJECT_ID: projectId }),
  },
  firestore: {
    label: 'Firestore emulator',
    args: (hostPort, projectId) => [
      'emulators',
      'firestore',
      'start',
      `--host-port=${hostPort}`,
      `--project=${projectId}`,
    ],
    env: (hostPort, projectId) => ({ FIRESTORE_EMULATOR_HOST: hostPort, FIRESTORE_PROJECT_ID: projectId }),
  },
};

// $1 = owner pid, $2 = emulator process group. Kills the group once the owner is gone.
const WATCHDOG = [
  'while kill -0 "$1" 2>/dev/null && kill -0 -- "-$2" 2>/dev/null; do sleep 1; done',
  'kill -TERM -- "-$2" 2>/dev/null',
  'exit 0',
].join('\n');

/** Resolves to a TCP port that was free on 127.0.0.1 a moment ago (the OS picked it for port 0). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `predicate` every `intervalMs` until it returns a truthy value, which is returned.
 * A falsy result means "not yet"; an error thrown by the predicate aborts the wait at once.
 */
async function waitFor(predicate, options = {}) {
  const { timeoutMs = 10_000, intervalMs = 100, what = 'condition' } = options;
  if (!(timeoutMs > 0 && Number.isFinite(timeoutMs)))
    throw new RangeError(`waitFor: bad timeoutMs ${timeoutMs}`);
  if (!(intervalMs > 0 && Number.isFinite(intervalMs)))
    throw new RangeError(`waitFor: bad intervalMs ${intervalMs}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/** Resolves true if GET http://<hostPort>/ answers 200 with a body containing "Ok". */
function answersOk(hostPort, timeoutMs = 1_000) {
  return new Promise((resolve) => {
    const req = http.get(`http://${hostPort}/`, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        if (body.length < 1_000) body += chunk;
      });
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('Ok')));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Resolves true if nothing accepts TCP connections on the port any more. */
function portClosed(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

function logTail(file, lines = LOG_TAIL_LINES) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return (
      text
        .split('\n')
        .slice(-lines - 1)
        .join('\n')
        .trimEnd() || '(log is empty)'
    );
  } catch (error) {
    return `(cannot read ${file}: ${error.message})`;
  }
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if (error.code !== 'ESRCH') throw error;
  }
}

/** Where a test run keeps its logs; test.mjs and @saldo/test-support agree on it through the run id. */
function runDirFor(runId) {
  return runId
    ? path.join(repoRoot, 'tmp', `test-run-${runId}`)
    : path.join(os.tmpdir(), 'saldo-test-emulators');
}

async function stopGroup(pgid) {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + STOP_GRACE_MS;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGKILL');
  const killDeadline = Date.now() + STOP_KILL_WAIT_MS;
  while (groupAlive(pgid) && Date.now() < killDeadline) await sleep(100);
}

/**
 * Starts a detached bash watchdog that kills process group `pgid` once `ownerPid` is gone. Kill the
 * returned child (SIGKILL) when the group is stopped on purpose.
 */
function watchGroup(ownerPid, pgid) {
  const watchdog = spawn(
    'bash',
    ['-c', WATCHDOG, 'saldo-emulator-watchdog', String(ownerPid), String(pgid)],
    {
      detached: true,
      stdio: 'ignore',
    },
  );
  watchdog.unref();
  watchdog.on('error', () => {}); // without a watchdog the group still stops with stopGroup()
  return watchdog;
}

function spawnEmulator(kind, hostPort, projectId, logFile, ownerPid) {
  const fd = fs.openSync(logFile, 'a');
  try {
    const gcloud = process.env.SALDO_GCLOUD || 'gcloud';
    // detached: a new session led by gcloud, so its process group (pgid === pid) holds the java child.
    const emulator = spawn(gcloud, KINDS[kind].args(hostPort, projectId), {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    emulator.unref();
    emulator.on('error', () => {}); // reported through the 'exit'/'error' listeners in startOnce
    if (!emulator.pid) return { emulator, watchdog: null };
    return { emulator, watchdog: watchGroup(ownerPid, emulator.pid) };
  } finally {
    fs.closeSync(fd);
  }
}

async function startOnce(kind, options, attempt) {
  const { label } = KINDS[kind];
  const port = options.port || (await freePort());
  const hostPort = `127.0.0.1:${port}`;
  const logFile = path.join(options.logDir, `${kind}-${port}.log`);
  const { emulator, watchdog } = spawnEmulator(kind, hostPort, options.projectId, logFile, options.ownerPid);
  let exit = null;
  emulator.once('exit', (code, signal) => (exit = { code, signal }));
  emulator.once('error', (error) => (exit = { error: error.message }));
  const pgid = emulator.pid;
  const handle = {
    kind,
    host: hostPort,
    port,
    projectId: options.projectId,
    pid: pgid,
    logFile,
    env: KINDS[kind].env(hostPort, options.projectId),
    stop: async () => {
      watchdog?.kill('SIGKILL');
      if (pgid) await stopGroup(pgid);
    },
  };
  try {
    await waitFor(
      async () => {
        if (exit)
          throw Object.assign(new Error(`${label} exited early (${JSON.stringify(exit)})`), { exited: true });
        return answersOk(hostPort);
      },
      { timeoutMs: options.timeoutMs, intervalMs: 250, what: `${label} on ${hostPort}` },
    );
    return handle;
  } catch (error) {
    await handle.stop();
    const tail = logTail(logFile);
    const portTaken = /address already in use|BindException/i.test(tail);
    if (error.exited && portTaken && !options.port && attempt < START_ATTEMPTS_MAX)
      return startOnce(kind, options, attempt + 1);
    throw new Error(`${error.message}\n--- last lines of ${logFile} ---\n${tail}`);
  }
}

/**
 * Starts an emulator on a free port and resolves once it answers HTTP. Options: projectId,
 * logDir (default: the run directory of SALDO_TEST_RUN_ID), timeoutMs (default 90 s), ownerPid
 * (default: this process; the emulator dies with it), port (default: a free one; a fixed port is
 * tried once).
 */
async function startEmulator(kind, options = {}) {
  if (!KINDS[kind])
    throw new Error(`Unknown emulator kind "${kind}" (expected ${Object.keys(KINDS).join(' or ')})`);
  const resolved = {
    projectId: options.projectId || DEFAULT_PROJECT_ID,
    logDir: options.logDir || path.join(runDirFor(process.env.SALDO_TEST_RUN_ID), 'emulators'),
    timeoutMs: options.timeoutMs || START_TIMEOUT_MS,
    ownerPid: options.ownerPid || process.pid,
    port: options.port || 0,
  };
  fs.mkdirSync(resolved.logDir, { recursive: true });
  return startOnce(kind, resolved, 1);
}

/**
 * Loads security rules into a running Firestore emulator for one project (the emulator then
 * enforces them for client requests with or without an ID token; the server SDKs bypass them).
 * Resolves once the emulator accepted them; rejects with the emulator's answer otherwise.
 */
function loadFirestoreRules(hostPort, projectId, rulesText, timeoutMs = 10_000) {
  const body = JSON.stringify({ rules: { files: [{ name: 'firestore.rules', content: rulesText }] } });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `http://${hostPort}/emulator/v1/projects/${encodeURIComponent(projectId)}:securityRules`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        let answer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          if (answer.length < 2_000) answer += chunk;
        });
        res.on('end', () =>
          res.statusCode === 200
            ? resolve()
            : reject(
                new Error(`the Firestore emulator refused the rules (HTTP ${res.statusCode}): ${answer}`),
              ),
        );
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from the Firestore emulator in ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

module.exports = {
  loadFirestoreRules,
  DEFAULT_PROJECT_ID,
  freePort,
  waitFor,
  answersOk,
  portClosed,
  runDirFor,
  startEmulator,
  watchGroup,
  groupAlive,
  stopGroup,
};
