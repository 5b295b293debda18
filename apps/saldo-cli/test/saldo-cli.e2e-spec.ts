// The operator CLI as an operator runs it (`node bin/saldo.js …`, a child process) against the real
// wallet-ledger (outbox relay on, publishing to the Pub/Sub emulator) and transaction-aggregator.
import { PubSub } from '@google-cloud/pubsub';
import {
  createTestDatabase,
  freePort,
  type ServiceProcess,
  type TestDatabase,
  aggregatorEnv,
  apiKey,
  KEY_ENCRYPTION_KEY,
  ROOT,
  startAggregator,
  tenantId,
  startLedger,
} from '@saldo/test-support';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TENANT = tenantId('cli');
const KEY = apiKey();
const PROJECT = process.env['GOOGLE_CLOUD_PROJECT'] ?? 'saldo-test';
const TOPIC = `ledger-events-cli-${TENANT}`;

let database: TestDatabase;
let ledger: ServiceProcess;
let aggregator: ServiceProcess;
let baseEnv: Record<string, string>;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `saldo <args>` through the bin launcher; `onStderr` sees stderr as it arrives. */
function saldo(
  args: string[],
  env: Record<string, string> = {},
  onStderr?: (text: string) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/saldo.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...baseEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      onStderr?.(stderr);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(args: string[], env?: Record<string, string>): Promise<string> {
  const run = await saldo(args, env);
  if (run.code !== 0)
    throw new Error(`saldo ${args.join(' ')} exited ${run.code}\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function okJson<T = any>(args: string[], env?: Record<string, string>): Promise<T> {
  return JSON.parse(await ok([...args, '--json'], env)) as T;
}

async function openWallet(owner: string, currency = 'IDR', extra: string[] = []): Promise<string> {
  const wallet = await okJson<{ walletId: string }>([
    'wallet',
    'open',
    '--owner-type',
    'personal',
    '--owner',
    owner,
    '--currency',
    currency,
    ...extra,
  ]);
  return wallet.walletId;
}

beforeAll(async () => {
  if (!process.env['PUBSUB_EMULATOR_HOST'])
    throw new Error('the Pub/Sub emulator is needed: run with `npm test`');
  database = await createTestDatabase('cli');
  await new PubSub({ projectId: PROJECT }).createTopic(TOPIC);
  const ledgerTarget = `127.0.0.1:${await freePort()}`;
  ledger = (
    await startLedger(database.url, {
      at: ledgerTarget,
      env: {
        LEDGER_EVENTS_TOPIC: TOPIC,
        LEDGER_EVENTS_CREATE_TOPIC: 'false',
        LEDGER_MIRROR_ENABLED: 'false',
        GOOGLE_CLOUD_PROJECT: PROJECT,
        LEDGER_OUTBOX_RELAY_ENABLED: 'true',
      },
    })
  ).process;
  const started = await startAggregator(
    aggregatorEnv(database.url, ledgerTarget, { SALDO_API_KEYS: `${TENANT}=${KEY}` }),
  );
  aggregator = started.process;
  baseEnv = {
    SALDO_CLI_BUILD: '0', // npm test built dist/ already; a build mid-run would race other suites
    SALDO_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'saldo-cli-')), // never the developer's .saldo/
    SALDO_TARGET: started.target,
    SALDO_API_KEY: KEY,
    DATABASE_URL: database.url,
    SALDO_KEY_ENCRYPTION_KEY: KEY_ENCRYPTION_KEY,
    GOOGLE_CLOUD_PROJECT: PROJECT,
    LEDGER_EVENTS_TOPIC: TOPIC,
  };
}, 120_000);

afterAll(async () => {
  await aggregator?.stop();
  await ledger?.stop();
  await database?.drop();
}, 60_000);

describe('saldo wallet and money commands', () => {
  it('opens a wallet, tops up, books usage, transfers, holds, captures and voids; shows exact balances as a table', async () => {
    const opened = await ok([
      'wallet',
      'open',
      '--owner-type',
      'personal',
      '--owner',
      'alice',
      '--currency',
      'USD',
    ]);
    const walletId = /^Wallet opened: (\S+)$/m.exec(opened)?.[1];
    expect(walletId).toBeDefined();
    expect(opened).toMatch(/^idempotency key: cli-\S+ \(generated\)$/m);
    expect(opened).toMatch(/^available\s+0\s+0\.00$/m);
    const alice = walletId as string;
    const bob = await openWallet('bob', 'USD');

    const topup = await ok(['topup', alice, '100000', '--reference', 'pg-1']);
    expect(topup).toContain(`Top-up of 100000 USD to ${alice}: posted.`);
    expect(topup).toMatch(
      /^idempotency key:\s+(cli-\S+) \(generated; repeat with --idempotency-key \1 to retry safely\)$/m,
    );
    expect(topup).toMatch(/^replayed:\s+no$/m);

    const usage = await okJson(['usage', alice, '1050', '--product', 'esign', '--cost', '300']);
    expect(usage).toMatchObject({
      type: 'USAGE',
      status: 'POSTED',
      amount: '1050',
      productCode: 'esign',
      costAmount: '300',
    });
    await okJson(['transfer', alice, bob, '2500']);
    const hold = await okJson<{ transactionId: string; status: string }>([
      'reserve',
      alice,
      '4000',
      '--product',
      'ekyc',
    ]);
    expect(hold.status).toBe('PENDING');
    const capture = await okJson(['capture', hold.transactionId, '3000']);
    expect(capture).toMatchObject({
      type: 'CAPTURE',
      amount: '3000',
      relatedTransactionId: hold.transactionId,
    });
    const hold2 = await okJson<{ transactionId: string }>(['reserve', alice, '500']);
    const voided = await okJson(['void', hold2.transactionId, '--reason', 'cancelled']);
    expect(voided).toMatchObject({ type: 'VOID', relatedTransactionId: hold2.transactionId });

    // 100000 − 1050 − 2500 − 3000 = 93450 posted; the voided hold keeps nothing aside.
    const shown = await ok(['wallet', 'show', alice]);
    expect(shown).toMatch(/^BALANCE\s+MINOR UNITS\s+USD$/m);
    expect(shown).toMatch(/^posted\s+93450\s+934\.50$/m);
    expect(shown).toMatch(/^pending debits\s+0\s+0\.00$/m);
    expect(shown).toMatch(/^available\s+93450\s+934\.50$/m);
    expect(shown).toMatch(/^owner:\s+personal alice$/m);
    const json = await okJson(['wallet', 'show', bob]);
    expect(json).toMatchObject({
      walletId: bob,
      postedBalance: '2500',
      availableBalance: '2500',
      currency: 'USD',
    });
  }, 90_000);

  it('replays a write with the same idempotency key and pages through history', async () => {
    const wallet = await openWallet('carol');
    const first = await okJson<{ transactionId: string; replayed: boolean }>([
      'topup',
      wallet,
      '700',
      '--idempotency-key',
      'carol-topup-1',
    ]);
    const again = await okJson<{ transactionId: string; replayed: boolean }>([
      'topup',
      wallet,
      '700',
      '--idempotency-key',
      'carol-topup-1',
    ]);
    expect(again).toMatchObject({ transactionId: first.transactionId, replayed: true });
    await okJson(['topup', wallet, '800']);
    await okJson(['usage', wallet, '150', '--product', 'sms']);

    const page1 = await ok(['wallet', 'history', wallet, '--limit', '2']);
    const lines = page1.split('\n');
    expect(lines[0]).toMatch(/^CREATED\s+TYPE\s+STATUS\s+AMOUNT\s+CURRENCY\s+DETAIL\s+TRANSACTION$/);
    expect(lines[2]).toMatch(/^\S+Z\s+usage\s+posted\s+150\s+IDR\s+sms\s+\S+$/);
    expect(lines[3]).toMatch(/^\S+Z\s+top up\s+posted\s+800\s+IDR/);
    const token = /^More: saldo wallet history \S+ --limit 2 --page-token (\S+)$/m.exec(page1)?.[1];
    expect(token).toBeDefined();
    const page2 = await okJson<{
      transactions: Array<{ amount: string; transactionId: string }>;
      nextPageToken: string;
    }>(['wallet', 'history', wallet, '--limit', '2', '--page-token', token as string]);
    expect(page2.transactions.map((t) => t.amount)).toEqual(['700']);
    expect(page2.transactions[0]?.transactionId).toBe(first.transactionId);
    expect(page2.nextPageToken).toBe('');
    const all = await okJson<{ transactions: unknown[] }>([
      'wallet',
      'history',
      wallet,
      '--limit',
      '1',
      '--all',
    ]);
    expect(all.transactions).toHaveLength(3);
  }, 60_000);

  it('explains refusals as sentences with a non-zero exit code, in text and in --json', async () => {
    const wallet = await openWallet('dave');
    await okJson(['topup', wallet, '100']);

    const refused = await saldo(['usage', wallet, '250', '--product', 'esign']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /^saldo: Refused: the wallet does not have enough available balance\. [A-Z][^\n]*\.\n/,
    );
    expect(refused.stderr).toContain('(gRPC FAILED_PRECONDITION, reason INSUFFICIENT_FUNDS, field amount)');

    const refusedJson = await saldo(['usage', wallet, '250', '--product', 'esign', '--json']);
    expect(refusedJson.code).toBe(1);
    expect(JSON.parse(refusedJson.stdout)).toMatchObject({
      error: { status: 'FAILED_PRECONDITION', reason: 'INSUFFICIENT_FUNDS' },
    });

    const missing = await saldo(['wallet', 'show', randomUUID()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^saldo: Not found: .+\.\n/);
    const malformed = await saldo(['wallet', 'show', 'no-such-wallet']);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/^saldo: The request was refused: wallet_id .+\.\n/);

    const float = await saldo(['topup', wallet, '10.50']);
    expect(float.code).toBe(2);
    expect(float.stderr).toContain('The amount must be a whole number of minor units, digits only');

    const badKey = await saldo(['wallet', 'show', wallet], { SALDO_API_KEY: apiKey() });
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(
      /^saldo: The API key was not accepted \(.+\); pass --api-key or set SALDO_API_KEY\.\n/,
    );

    const reused = await saldo(['topup', wallet, '5', '--idempotency-key', 'dave-k']);
    expect(reused.code).toBe(0);
    const conflict = await saldo(['topup', wallet, '6', '--idempotency-key', 'dave-k']);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^saldo: Refused: .*idempotency key/);

    const down = await saldo(['wallet', 'show', wallet, '--target', `127.0.0.1:${await freePort()}`]);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/^saldo: Cannot reach the Saldo API at 127\.0\.0\.1:\d+: is it running/);
  }, 60_000);
});

describe('saldo operator commands', () => {
  it('creates, lists and revokes API keys through the aggregator CLI; the new key works until revoked', async () => {
    const tenant = tenantId('cli-new');
    const created = await okJson<{ id: string; tenant: string; key: string }>([
      'api-keys',
      'create',
      '--tenant',
      tenant,
    ]);
    expect(created.tenant).toBe(tenant);
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    const withNewKey = { SALDO_API_KEY: created.key };
    const wallet = await openWallet('erin');
    const own = await okJson<{ walletId: string }>(
      ['wallet', 'open', '--owner-type', 'enterprise', '--owner', 'acme', '--currency', 'CREDIT'],
      withNewKey,
    );
    // Tenants are isolated: the new tenant does not see the first tenant's wallet.
    const other = await saldo(['wallet', 'show', wallet], withNewKey);
    expect(other.code).toBe(1);

    const listed = await ok(['api-keys', 'list', '--tenant', tenant]);
    expect(listed).toMatch(/^KEY ID\s+TENANT\s+HINT\s+SOURCE\s+CREATED\s+STATE$/m);
    expect(listed).toMatch(new RegExp(`^${created.id}\\s+${tenant}\\s+.+\\s+active$`, 'm'));

    expect(await ok(['api-keys', 'revoke', created.id])).toContain(`revoked ${created.id}`);
    const revoked = await saldo(['wallet', 'show', own.walletId], withNewKey);
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toContain('The API key was not accepted');
  }, 60_000);

  it('runs the ledger verify on the ledger database', async () => {
    const text = await ok(['ledger', 'verify']);
    expect(text).toMatch(/^ledger verified: \d+ checks passed in \d+ ms$/m);
    const json = await okJson<{ ok: boolean; checks: unknown[] }>(['ledger', 'verify']);
    expect(json.ok).toBe(true);
    expect(json.checks.length).toBeGreaterThan(5);
  }, 60_000);

  it('tails ledger events of one wallet through a temporary subscription, then deletes it', async () => {
    const wallet = await openWallet('frank');
    let ready!: () => void;
    const listening = new Promise<void>((resolve) => (ready = resolve));
    const tail = saldo(['events', 'tail', '--wallet', wallet, '--limit', '2'], {}, (stderr) => {
      if (stderr.includes('Tailing')) ready();
    });
    await listening;
    await okJson(['topup', wallet, '900']);
    await okJson(['usage', wallet, '400', '--product', 'esign']);
    const run = await tail;
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(
        `transaction posted\\s+tenant=${TENANT}  wallet=${wallet} v1  top up  posted \\+900 → 900 IDR, available 900  tx=\\S+$`,
      ),
    );
    expect(lines[1]).toMatch(
      new RegExp(`wallet=${wallet} v2  usage esign  posted -400 → 500 IDR, available 500`),
    );
    const name = /temporary subscription (\S+);/.exec(run.stderr)?.[1] as string;
    const [exists] = await new PubSub({ projectId: PROJECT }).subscription(name).exists();
    expect(exists).toBe(false);
  }, 60_000);
});
