// `npm start` end to end: the real script (tools/scripts/start.mjs) with every port moved off the
// defaults, its own emulators, its own database (created by the script) and its own state
// directory. Proves the printed first command works, erp-sync runs against the vendor stand-ins by
// default (a top-up through the aggregator lands in the stand-in ERP as a journal entry, read back
// by the printed reconciliation), secrets are kept across restarts and never logged, and Ctrl-C
// leaves no process behind.
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

const runs: StartRun[] = [];

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
  const run = { child, output: () => text, exited };
  runs.push(run);
  return run;
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

function httpGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
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
    timeout: 90_000, // the CLI commands are slow on a busy machine (several helpers and their stacks)
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

/** The three lines under "Then the ERP side": env files (+ WALLET), top-up and usage, reconcile. */
function printedErpCommands(
  output: string,
  walletId: string,
): { setup: string; moves: string; reconcile: string } {
  const lines = output.split('\n');
  const at = lines.findIndex((line) => line.startsWith('Then the ERP side'));
  expect(at).toBeGreaterThan(-1);
  const [setup, moves, reconcile] = lines.slice(at + 2, at + 5).map((line) => line.trim());
  expect(setup).toMatch(
    /^set -a; \. .+local\.env; \. .+erp-sync\.env; set \+a; WALLET=<wallet_id from OpenWallet>$/,
  );
  expect(moves).toMatch(/^npx saldo topup \$WALLET \d+ .*&& npx saldo usage \$WALLET \d+ --product /);
  expect(reconcile).toMatch(/^npx saldo erp reconcile --tenant demo --day \$\(date -u \+%F\)$/);
  return {
    setup: (setup as string).replace('<wallet_id from OpenWallet>', walletId),
    moves: moves as string,
    reconcile: reconcile as string,
  };
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
    for (const name of [
      'pubsub',
      'firestore',
      'ledger',
      'ledgerHttp',
      'aggregator',
      'aggregatorConnect',
      'erpSyncHttp',
      'netsuite',
      'zendesk',
      'activecampaign',
    ])
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
      AGGREGATOR_CONNECT_PORT: String(ports['aggregatorConnect']),
      ERP_SYNC_HTTP_PORT: String(ports['erpSyncHttp']),
      SALDO_STANDIN_PORTS: `${ports['netsuite']},${ports['zendesk']},${ports['activecampaign']}`,
    };
  });

  afterAll(async () => {
    // A test that failed half-way leaves its stack running: stop it the way a user would.
    for (const run of runs) {
      if (run.child.exitCode !== null || run.child.signalCode !== null) continue;
      run.child.kill('SIGINT');
      await run.exited;
    }
    fs.rmSync(stateDir, { recursive: true, force: true });
    if (sharedUrl)
      await withClient(adminConfigFromUrl(sharedUrl), (client) => dropDatabase(client, databaseName));
  });

  let walletId = '';

  /** A document of npm start's Firestore over REST: `Bearer owner` is the emulator's admin (no rules). */
  const firestoreDoc = (docPath: string, headers: Record<string, string> = {}) =>
    httpGet(
      `http://127.0.0.1:${ports['firestore']}/v1/projects/saldo-local/databases/(default)/documents/${docPath}`,
      headers,
    );

  it('starts the stack with erp-sync on the vendor stand-ins, the printed commands open a wallet and show its top-up in the stand-in ERP, and Ctrl-C stops everything with exit 0', async () => {
    const run = runStart(env);
    await waitReady(run);
    const output = run.output();

    expect(output).toContain(`PostgreSQL: created database ${databaseName}`);
    // erp-sync runs by default, on the vendor stand-ins and a generated demo tenant mapping.
    expect(output).toContain(
      `erp-sync: tenant "demo" mapping written to ${path.join(stateDir, 'erp-sync-tenants.json')}`,
    );
    expect(output).toContain(
      `vendor stand-ins: NetSuite http://127.0.0.1:${ports['netsuite']}, Zendesk http://127.0.0.1:${ports['zendesk']}, ActiveCampaign http://127.0.0.1:${ports['activecampaign']}`,
    );
    expect(output).toMatch(
      new RegExp(`start: erp-sync: ready on http://127\\.0\\.0\\.1:${ports['erpSyncHttp']}/readyz`),
    );
    expect(output).toMatch(
      new RegExp(`^  NetSuite stand-in +http http://127\\.0\\.0\\.1:${ports['netsuite']} `, 'm'),
    );
    expect(output).toMatch(/^ {2}erp-sync +http http:\/\/127\.0\.0\.1:\d+ /m);
    expect(fs.statSync(path.join(stateDir, 'erp-sync.env')).mode & 0o077).toBe(0);
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
    expect(saved['SALDO_API_KEYS']).toBe(
      `demo=${saved['SALDO_DEMO_API_KEY']},demo=${saved['SALDO_ERP_SYNC_API_KEY']};scopes=erp:resolve`,
    );
    // erp-sync's own key of tenant "demo" turns shadow-balance confirmation on.
    expect(saved['SALDO_ERP_SYNC_API_KEY']).toMatch(/^sk_erp_sync_/);
    expect(output).toMatch(/^erp-sync +\| .*shadow balance confirmation on/m);
    expect(output.split(saved['SALDO_DEMO_API_KEY'] as string)).toHaveLength(2);
    expect(output).toContain(`Your demo API key (tenant "demo") is ${saved['SALDO_DEMO_API_KEY']}`);
    for (const secret of ['LEDGER_SERVICE_TOKEN', 'SALDO_KEY_ENCRYPTION_KEY', 'SALDO_ERP_SYNC_API_KEY']) {
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

    // The local Firestore enforces firestore.rules: the mirror wrote the wallet, an anonymous client
    // cannot read it (issue 12).
    expect(output).toContain('firestore emulator: firestore.rules loaded for project saldo-local');
    const mirrored = await waitFor(
      async () => {
        const doc = await firestoreDoc(`wallets/${walletId}`, { authorization: 'Bearer owner' });
        return doc.status === 200 && JSON.parse(doc.body).fields?.postedBalance?.stringValue === '15000';
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the wallet in Firestore' },
    );
    expect(mirrored).toBe(true);
    expect((await firestoreDoc(`wallets/${walletId}`)).status).toBe(403);

    // The ERP side, as printed: a top-up and a usage through the CLI, then the reconciliation reads
    // the stand-in ERP's journal lines back by SuiteQL until both top-ups (15000 above, and this
    // one) are there as cash in against the customer prepayment, and the usage as revenue.
    const erp = printedErpCommands(output, walletId);
    // `npm test` built dist already: the printed `npx saldo` commands run the built CLI as is.
    const cliEnv = { ...cleanEnv(), SALDO_CLI_BUILD: '0' };
    const moved = shell([erp.setup, erp.moves], cliEnv);
    // (npx itself may warn about the machine's npm config on stderr; the CLI writes nothing there.)
    expect(moved.stderr.split('\n').filter((line) => line && !line.startsWith('npm warn'))).toEqual([]);
    expect(moved.status).toBe(0);
    expect(moved.stdout).toMatch(/^Top-up of 15000 IDR to .*: posted\.$/m);
    expect(moved.stdout).toMatch(/^Usage of 2500 IDR \(esign\.basic\) on .*: posted\.$/m);
    let report = '';
    await waitFor(
      () => {
        const reconciled = shell([erp.setup, erp.reconcile], cliEnv);
        report = `${reconciled.stdout}${reconciled.stderr}`;
        return reconciled.status === 0 && /^no differences$/m.test(reconciled.stdout);
      },
      { timeoutMs: 60_000, intervalMs: 1_000, what: 'the ERP journal entries of the top-ups and the usage' },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- last reconciliation ---\n${report}`);
    });
    expect(report).toMatch(/^IDR +cash_clearing +30000 +30000 +30000 ok$/m);
    expect(report).toMatch(/^IDR +customer_prepayment +27500 +27500 +27500 ok$/m);
    expect(report).toMatch(/^IDR +revenue +2500 +2500 +2500 ok$/m);
    // The CRM stand-ins get the wallet's balance too (coalesced, a few seconds later).
    const synced = (metrics: string, connector: string) =>
      new RegExp(`^saldo_erp_sync_records\\{connector="${connector}",state="synced"[^}]*\\} [1-9]`, 'm').test(
        metrics,
      );
    await waitFor(
      async () => {
        const { body } = await httpGet(`http://127.0.0.1:${ports['erpSyncHttp']}/metrics`);
        return ['netsuite', 'zendesk', 'activecampaign'].every((connector) => synced(body, connector));
      },
      {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: 'erp-sync records synced to NetSuite, Zendesk and ActiveCampaign',
      },
    );

    // Everything this run started: three services, two emulators (gcloud + java), their watchdogs.
    const pid = run.child.pid as number;
    const started = descendants(pid);
    const commands = [...started.values()];
    expect(commands.filter((c) => c.includes('apps/wallet-ledger/src/main.js'))).toHaveLength(1);
    expect(commands.filter((c) => c.includes('apps/transaction-aggregator/src/main.js'))).toHaveLength(1);
    expect(commands.filter((c) => c.includes('apps/erp-sync/src/main.js'))).toHaveLength(1);
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
      /start: erp-sync: stopped \(exit code 0\)[\s\S]*start: transaction-aggregator: stopped \(exit code 0\)[\s\S]*start: wallet-ledger: stopped \(exit code 0\)[\s\S]*start: vendor stand-ins: stopped/,
    );
    expect(run.output()).toMatch(/start: everything stopped\s*$/);
    // The stand-in ERP's journals outlive the run (erp-sync's own records do, in PostgreSQL).
    const kept = JSON.parse(
      fs.readFileSync(path.join(stateDir, 'netsuite-standin-records.json'), 'utf8'),
    ) as { journals: unknown[] };
    expect(kept.journals.length).toBeGreaterThanOrEqual(2);

    const left = [...started].filter(([child, command]) => cmdline(child) === command);
    expect(left).toEqual([]);
    for (const port of Object.values(ports)) expect(await portOpen(port)).toBe(false);
  });

  it('a restart reuses the secrets, the database and the wallets, without showing the demo key again; vendors configured elsewhere start no stand-ins', async () => {
    expect(walletId).not.toBe('');
    const before = fs.readFileSync(path.join(stateDir, 'local.env'), 'utf8');
    // A vendor URL of the user's own: npm start keeps out of erp-sync's way (no stand-ins, and
    // without a tenant mapping of the user's, no erp-sync).
    const run = runStart({ ...env, NETSUITE_BASE_URL: 'http://127.0.0.1:9' });
    await waitReady(run);
    try {
      expect(run.output()).toContain('vendor stand-ins: not started, NETSUITE_BASE_URL is set');
      expect(run.output()).toContain('erp-sync: skipped, needs its tenant accounting mapping');
      expect(run.output()).not.toContain('Then the ERP side');
      expect(await portOpen(ports['netsuite'] as number)).toBe(false);
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
      expect(JSON.parse(read.stdout)).toMatchObject({ wallet_id: walletId, posted_balance: '27500' });
      // The Firestore emulator started empty this time: the mirror noticed (no marker) and rebuilt.
      await waitFor(
        async () => {
          const doc = await firestoreDoc(`wallets/${walletId}`, { authorization: 'Bearer owner' });
          return doc.status === 200 && JSON.parse(doc.body).fields?.postedBalance?.stringValue === '27500';
        },
        { timeoutMs: 60_000, intervalMs: 250, what: 'the wallet re-mirrored into the fresh Firestore' },
      );
      expect(run.output()).toMatch(/mirror: Firestore has no mirror marker/);
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
