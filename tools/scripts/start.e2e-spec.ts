// `npm start` end to end: the real script (tools/scripts/start.mjs) with every port moved off the
// defaults, its own emulators, its own database (created by the script) and its own state
// directory. Proves the printed first command works, secrets are kept across restarts and never
// logged, and Ctrl-C leaves no process behind.
import { freePort, waitFor } from '@saldo/test-support';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  adminConfigFromUrl,
  dropDatabase,
  withClient,
  withDatabase,
} from '../../libs/test-support/src/shared/databases.cjs';

const ROOT = path.resolve(__dirname, '../..');
const READY_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 60_000;

jest.setTimeout(8 * 60_000);

interface StartRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runStart(env: NodeJS.ProcessEnv): StartRun {
  const child = spawn(process.execPath, ['tools/scripts/start.mjs'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => text, exited };
}

async function waitReady(run: StartRun): Promise<void> {
  let gone = false;
  void run.exited.then(() => (gone = true));
  await waitFor(
    () => {
      if (gone) throw new Error(`start.mjs exited before it was ready:\n${run.output()}`);
      return /^start: ready$/m.test(run.output());
    },
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 250, what: 'start: ready' },
  ).catch((error: Error) => {
    run.child.kill('SIGKILL');
    throw new Error(`${error.message}\n--- output ---\n${run.output()}`);
  });
}

/** Every process descending from pid (by parent pid), with its command line. */
function descendants(pid: number): Map<number, string> {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const found = new Map<number, string>();
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [child, ppid] of parents) {
      if (ppid !== parent || found.has(child)) continue;
      found.set(child, cmdline(child) ?? '');
      queue.push(child);
    }
  }
  return found;
}

function cmdline(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** Runs shell lines the way a user pastes them into bash in the workspace root. */
function shell(
  lines: string[],
  env: NodeJS.ProcessEnv,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('bash', ['-c', lines.join('\n')], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The two lines under "First command to try": the env-file line and the node (grpcurl-free) call. */
function printedNodeCommand(output: string): string[] {
  const lines = output.split('\n');
  const at = lines.findIndex((line) => line.startsWith('First command to try'));
  expect(at).toBeGreaterThan(-1);
  const sourceLine = lines[at + 1]?.trim() ?? '';
  const nodeLine =
    lines
      .slice(at)
      .find((line) => line.trim().startsWith('node tools/scripts/grpc-call.mjs'))
      ?.trim() ?? '';
  const grpcurlLine = lines[at + 2]?.trim() ?? '';
  expect(sourceLine).toMatch(/^set -a; \. .+local\.env; set \+a$/);
  expect(grpcurlLine).toMatch(/^grpcurl -plaintext /);
  // The node line takes exactly grpcurl's arguments.
  expect(nodeLine.replace('node tools/scripts/grpc-call.mjs', '')).toBe(
    grpcurlLine.replace('grpcurl -plaintext', ''),
  );
  return [sourceLine, nodeLine];
}

/** The user's environment, minus what `npm test` set for its own services. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [
    'ERP_SYNC_TENANTS_FILE',
    'ERP_SYNC_TENANTS_JSON',
    'PUBSUB_EMULATOR_HOST',
    'FIRESTORE_EMULATOR_HOST',
    'GOOGLE_CLOUD_PROJECT',
    'PUBSUB_PROJECT_ID',
    'FIRESTORE_PROJECT_ID',
    'DATABASE_URL',
  ]) {
    delete env[name];
  }
  return env;
}

describe('npm start (tools/scripts/start.mjs)', () => {
  const sharedUrl = process.env['SALDO_TEST_DATABASE_URL'];
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'saldo-start-'));
  // Named after the run's database, so `npm test` drops it at the end even if this spec cannot.
  const databaseName = `${sharedUrl ? new URL(sharedUrl).pathname.slice(1) : 'saldo_test_local'}_start_${randomBytes(3).toString('hex')}`;
  const ports: Record<string, number> = {};
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    if (!sharedUrl) throw new Error('SALDO_TEST_DATABASE_URL is not set: run this spec with `npm test`');
    for (const name of ['pubsub', 'firestore', 'ledger', 'ledgerHttp', 'aggregator', 'erpSyncHttp'])
      ports[name] = await freePort();
    env = {
      ...cleanEnv(),
      SALDO_START_BUILD: '0', // `npm test` built dist already; rebuilding it would race other specs
      SALDO_STATE_DIR: stateDir,
      NO_COLOR: '1',
      DATABASE_URL: withDatabase(sharedUrl, databaseName),
      PUBSUB_EMULATOR_HOST: `127.0.0.1:${ports['pubsub']}`,
      FIRESTORE_EMULATOR_HOST: `127.0.0.1:${ports['firestore']}`,
      LEDGER_GRPC_URL: `127.0.0.1:${ports['ledger']}`,
      LEDGER_HTTP_PORT: String(ports['ledgerHttp']),
      AGGREGATOR_GRPC_URL: `127.0.0.1:${ports['aggregator']}`,
      ERP_SYNC_HTTP_PORT: String(ports['erpSyncHttp']),
    };
  });

  afterAll(async () => {
    fs.rmSync(stateDir, { recursive: true, force: true });
    if (sharedUrl)
      await withClient(adminConfigFromUrl(sharedUrl), (client) => dropDatabase(client, databaseName));
  });

  let walletId = '';

  it('starts the stack, the printed first command opens a wallet, and Ctrl-C stops everything with exit 0', async () => {
    const run = runStart(env);
    await waitReady(run);
    const output = run.output();

    expect(output).toContain(`PostgreSQL: created database ${databaseName}`);
    // erp-sync needs its tenant accounting mapping; without one it is skipped, saying why.
    expect(output).toMatch(/erp-sync: skipped, (needs its tenant accounting mapping|not built)/);
    expect(output).toMatch(new RegExp(`pubsub emulator: ready on 127\\.0\\.0\\.1:${ports['pubsub']}`));
    expect(output).toMatch(new RegExp(`firestore emulator: ready on 127\\.0\\.0\\.1:${ports['firestore']}`));
    expect(output).toMatch(/^wallet-ledger +\| .*wallet-ledger is serving/m);
    expect(output).toMatch(/^transaction-aggregator +\| .*transaction-aggregator is serving/m);

    // Secrets: generated into the state dir (owner-only), the demo key shown once, the others never.
    const envFile = path.join(stateDir, 'local.env');
    expect(fs.statSync(envFile).mode & 0o077).toBe(0);
    const saved = Object.fromEntries(
      [...fs.readFileSync(envFile, 'utf8').matchAll(/^([A-Z_]+)='(.*)'$/gm)].map(
        (m) => [m[1], m[2]] as const,
      ),
    );
    expect(saved['SALDO_API_KEYS']).toBe(`demo=${saved['SALDO_DEMO_API_KEY']}`);
    expect(output.split(saved['SALDO_DEMO_API_KEY'] as string)).toHaveLength(2);
    expect(output).toContain(`Your demo API key (tenant "demo") is ${saved['SALDO_DEMO_API_KEY']}`);
    for (const secret of ['LEDGER_SERVICE_TOKEN', 'SALDO_KEY_ENCRYPTION_KEY']) {
      expect((saved[secret] ?? '').length).toBeGreaterThanOrEqual(32);
      expect(output).not.toContain(saved[secret]);
    }

    // The printed command, run as printed (env file sourced by bash).
    const opened = shell(printedNodeCommand(output), cleanEnv());
    expect(opened.stderr).toBe('');
    expect(opened.status).toBe(0);
    const wallet = JSON.parse(opened.stdout) as Record<string, unknown>;
    expect(wallet).toMatchObject({
      owner_type: 'PERSONAL',
      owner_id: 'alice',
      currency: 'IDR',
      posted_balance: '0',
      replayed: false,
    });
    walletId = String(wallet['wallet_id']);
    expect(walletId).toMatch(/^[0-9a-f-]{36}$/);

    // Money moves through the ledger too: top up, then the balance shows it.
    const call = (method: string, body: object) =>
      shell(
        [
          `. '${envFile}'`,
          `node tools/scripts/grpc-call.mjs -H "authorization: Bearer $SALDO_DEMO_API_KEY" -d '${JSON.stringify(body)}' 127.0.0.1:${ports['aggregator']} saldo.transaction.v1.TransactionService/${method}`,
        ],
        cleanEnv(),
      );
    const topUp = call('TopUp', { idempotency_key: 'start-e2e-topup', wallet_id: walletId, amount: '15000' });
    expect(topUp.status).toBe(0);
    expect(JSON.parse(topUp.stdout)).toMatchObject({ type: 'TOP_UP', status: 'POSTED', amount: '15000' });
    const read = call('GetWallet', { wallet_id: walletId });
    expect(JSON.parse(read.stdout)).toMatchObject({
      wallet_id: walletId,
      posted_balance: '15000',
      available_balance: '15000',
    });
    // A wrong key is refused: the command really authenticates.
    const refused = shell(
      [
        `node tools/scripts/grpc-call.mjs -H "authorization: Bearer wrong-key-0123456789" -d '{"wallet_id":"${walletId}"}' 127.0.0.1:${ports['aggregator']} saldo.transaction.v1.TransactionService/GetWallet`,
      ],
      cleanEnv(),
    );
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('Code: UNAUTHENTICATED');

    const healthz = await httpGet(`http://127.0.0.1:${ports['ledgerHttp']}/healthz`);
    expect(healthz.status).toBe(200);

    // Everything this run started: two services, two emulators (gcloud + java), their watchdogs.
    const pid = run.child.pid as number;
    const started = descendants(pid);
    const commands = [...started.values()];
    expect(commands.filter((c) => c.includes('apps/wallet-ledger/src/main.js'))).toHaveLength(1);
    expect(commands.filter((c) => c.includes('apps/transaction-aggregator/src/main.js'))).toHaveLength(1);
    expect(commands.some((c) => /java/.test(c) && c.includes(String(ports['pubsub'])))).toBe(true);
    expect(commands.some((c) => /java/.test(c) && c.includes(String(ports['firestore'])))).toBe(true);

    run.child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      run.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no exit after SIGINT:\n${run.output()}`)),
          STOP_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    expect(exit).toEqual({ code: 0, signal: null });
    expect(run.output()).toMatch(
      /start: transaction-aggregator: stopped \(exit code 0\)[\s\S]*start: wallet-ledger: stopped \(exit code 0\)/,
    );
    expect(run.output()).toMatch(/start: everything stopped\s*$/);

    const left = [...started].filter(([child, command]) => cmdline(child) === command);
    expect(left).toEqual([]);
    for (const port of Object.values(ports)) expect(await portOpen(port)).toBe(false);
  });

  it('a restart reuses the secrets, the database and the wallets, without showing the demo key again', async () => {
    expect(walletId).not.toBe('');
    const before = fs.readFileSync(path.join(stateDir, 'local.env'), 'utf8');
    const run = runStart(env);
    await waitReady(run);
    try {
      expect(fs.readFileSync(path.join(stateDir, 'local.env'), 'utf8')).toBe(before);
      expect(run.output()).toContain(`PostgreSQL: database ${databaseName} exists`);
      expect(run.output()).toContain('wallet-ledger: database is up to date');
      expect(run.output()).not.toContain('Your demo API key');
      const demoKey = before.match(/^SALDO_DEMO_API_KEY='(.*)'$/m)?.[1] as string;
      expect(run.output()).not.toContain(demoKey);
      const read = shell(
        [
          printedNodeCommand(run.output())[0] as string,
          `node tools/scripts/grpc-call.mjs -H "authorization: Bearer $SALDO_DEMO_API_KEY" -d '{"wallet_id":"${walletId}"}' 127.0.0.1:${ports['aggregator']} saldo.transaction.v1.TransactionService/GetWallet`,
        ],
        cleanEnv(),
      );
      expect(JSON.parse(read.stdout)).toMatchObject({ wallet_id: walletId, posted_balance: '15000' });
    } finally {
      run.child.kill('SIGTERM');
      expect(await run.exited).toEqual({ code: 0, signal: null });
    }
  });

  it('refuses a bad variable before starting anything, naming it', async () => {
    const run = runStart({ ...env, LEDGER_HTTP_PORT: 'not-a-port' });
    const exit = await run.exited;
    expect(exit.code).toBe(1);
    expect(run.output()).toMatch(/configuration refused:[\s\S]*LEDGER_HTTP_PORT: expected a port number/);
    expect(run.output()).not.toMatch(/emulator: starting|migrate/);
  });
});
