// Running it like a product: the aggregator's and the ledger's HTTP health and metrics, and a
// graceful shutdown under load — SIGTERM to the aggregator, then to the ledger, while clients keep
// sending TopUps: every call answered OK is in the ledger (count and sum), nothing is in the
// ledger that was not answered OK, and the process exits 0 within its grace period.
import {
  checkHealth,
  createTestDatabase,
  freePort,
  type TestDatabase,
  aggregatorEnv,
  AGGREGATOR_SCRIPT,
  Api,
  apiKey,
  LEDGER_SCRIPT,
  ROOT,
  SERVICE_TOKEN,
  sql,
  tenantId,
} from '@saldo/test-support';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';

const GRACE_MS = 10_000;
const CLIENTS = 6;

interface Proc {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** A service as its own child process (the spec needs its exit code), ready once SERVING. */
async function launch(
  name: string,
  script: string,
  env: Record<string, string>,
  target: string,
  service = '',
): Promise<Proc> {
  const dir = path.join(ROOT, 'tmp', `test-run-${process.env['SALDO_TEST_RUN_ID'] ?? 'local'}`, 'services');
  mkdirSync(dir, { recursive: true });
  const log = createWriteStream(path.join(dir, `${name}-ops-${Date.now()}.log`));
  const child = spawn(process.execPath, [path.join(ROOT, script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const deadline = Date.now() + 30_000;
  while ((await checkHealth(target, service)) !== 'SERVING') {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not become SERVING on ${target}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, exit };
}

async function stopQuietly(proc: Proc | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGKILL');
  await proc.exit;
}

interface Stack {
  database: TestDatabase;
  ledger: Proc;
  aggregator: Proc;
  api: Api;
  tenant: string;
  ledgerHttp: number;
  aggregatorHttp: number;
}

async function startStack(label: string): Promise<Stack> {
  const database = await createTestDatabase(label);
  const tenant = tenantId(label);
  const key = apiKey();
  const ledgerTarget = `127.0.0.1:${await freePort()}`;
  const ledgerHttp = await freePort();
  const ledger = await launch(
    'wallet-ledger',
    LEDGER_SCRIPT,
    {
      LEDGER_GRPC_URL: ledgerTarget,
      DATABASE_URL: database.url,
      LEDGER_SERVICE_TOKEN: SERVICE_TOKEN,
      LEDGER_HTTP_HOST: '127.0.0.1',
      LEDGER_HTTP_PORT: String(ledgerHttp),
      LEDGER_OUTBOX_RELAY_ENABLED: 'false',
      LEDGER_MIRROR_ENABLED: 'false',
      LOG_LEVEL: 'warn',
    },
    ledgerTarget,
  );
  const target = `127.0.0.1:${await freePort()}`;
  const aggregatorHttp = await freePort();
  const aggregator = await launch(
    'transaction-aggregator',
    AGGREGATOR_SCRIPT,
    {
      ...aggregatorEnv(database.url, ledgerTarget, { SALDO_API_KEYS: `${tenant}=${key}` }),
      AGGREGATOR_GRPC_URL: target,
      AGGREGATOR_HTTP_HOST: '127.0.0.1',
      AGGREGATOR_HTTP_PORT: String(aggregatorHttp),
      LOG_LEVEL: 'info',
    },
    target,
    'saldo.transaction.v1.TransactionService',
  );
  return { database, ledger, aggregator, api: new Api(target, key), tenant, ledgerHttp, aggregatorHttp };
}

async function dropStack(stack: Stack | undefined): Promise<void> {
  if (!stack) return;
  stack.api.close();
  await stopQuietly(stack.aggregator);
  await stopQuietly(stack.ledger);
  await stack.database.drop();
}

async function openFundedWallet(stack: Stack): Promise<string> {
  const wallet = await stack.api.call<{ walletId: string }>('OpenWallet', {
    idempotencyKey: `open-${Date.now()}`,
    ownerType: 'PERSONAL',
    ownerId: 'load',
    currency: 'IDR',
  });
  return wallet.walletId;
}

/**
 * CLIENTS loops of TopUps (unique keys, amounts 1..997) until `stop` resolves; each OK answer is
 * recorded with its transaction id and amount; any other answer is only counted.
 */
function load(stack: Stack, walletId: string, stop: Promise<unknown>) {
  const ok = new Map<string, bigint>();
  const wrong: string[] = [];
  let failed = 0;
  let stopped = false;
  void stop.then(() => (stopped = true));
  let sequence = 0;
  const loops = Array.from({ length: CLIENTS }, async (_, client) => {
    while (!stopped) {
      sequence += 1;
      const amount = BigInt((sequence * 37) % 997) + 1n;
      try {
        const tx = await stack.api.call<{ transactionId: string; amount: string; status: string }>('TopUp', {
          idempotencyKey: `load-${client}-${sequence}`,
          walletId,
          amount: amount.toString(),
        });
        if (tx.status !== 'POSTED' || tx.amount !== amount.toString()) wrong.push(JSON.stringify(tx));
        ok.set(tx.transactionId, amount);
      } catch {
        failed += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  });
  return { ok, wrong, failed: () => failed, done: Promise.all(loops) };
}

/** The wallet's TOP_UP transactions and posted balance as the ledger's database holds them. */
async function ledgerTopUps(stack: Stack, walletId: string): Promise<{ ids: Set<string>; balance: bigint }> {
  const rows = await sql<{ id: string }>(
    stack.database.url,
    `SELECT id::text AS id FROM ledger.transactions WHERE tenant_id = $1 AND action = 'TOP_UP' AND status = 'posted'`,
    [stack.tenant],
  );
  const [account] = await sql<{ balance: string }>(
    stack.database.url,
    `SELECT (credits_posted - debits_posted)::text AS balance FROM ledger.accounts
      WHERE tenant_id = $1 AND type = 'wallet' AND metadata->>'wallet_id' = $2`,
    [stack.tenant, walletId],
  );
  return { ids: new Set(rows.map((r) => r.id)), balance: BigInt(account?.balance ?? '-1') };
}

function expectLedgerEqualsOkAnswers(
  ok: Map<string, bigint>,
  ledger: { ids: Set<string>; balance: bigint },
): void {
  const okSum = [...ok.values()].reduce((sum, amount) => sum + amount, 0n);
  expect({ count: ledger.ids.size, sum: ledger.balance }).toEqual({ count: ok.size, sum: okSum });
  expect([...ok.keys()].filter((id) => !ledger.ids.has(id))).toEqual([]); // every OK answer is posted
  expect([...ledger.ids].filter((id) => !ok.has(id))).toEqual([]); // nothing posted without an OK answer
}

const metricsOf = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

describe('health and metrics endpoints', () => {
  let stack: Stack | undefined;
  afterAll(() => dropStack(stack));

  it('serve /healthz, /readyz (database + ledger) and per-method gRPC metrics on the aggregator and the ledger', async () => {
    stack = await startStack('ops-metrics');
    const base = `http://127.0.0.1:${stack.aggregatorHttp}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { database: { ok: true }, ledger: { ok: true }, serving: { ok: true } },
    });

    const walletId = await openFundedWallet(stack);
    await stack.api.call('TopUp', { idempotencyKey: 'm-1', walletId, amount: '100' });
    await stack.api.call('TopUp', { idempotencyKey: 'm-2', walletId, amount: '50' });
    const refused = await stack.api.fail('BookUsage', {
      idempotencyKey: 'm-3',
      walletId,
      amount: '1000',
      productCode: 'x',
    });
    expect(refused.reason).toBe('INSUFFICIENT_FUNDS');

    const aggregatorMetrics = await metricsOf(stack.aggregatorHttp);
    const method = (name: string) => `method="saldo.transaction.v1.TransactionService/${name}"`;
    expect(aggregatorMetrics).toContain(
      `saldo_grpc_server_requests_total{${method('TopUp')},code="OK",service="transaction-aggregator"} 2`,
    );
    expect(aggregatorMetrics).toContain(
      `saldo_grpc_server_requests_total{${method('BookUsage')},code="FAILED_PRECONDITION",service="transaction-aggregator"} 1`,
    );
    expect(aggregatorMetrics).toContain(
      `saldo_grpc_server_errors_total{${method('BookUsage')},code="FAILED_PRECONDITION",service="transaction-aggregator"} 1`,
    );
    // prom-client writes a histogram's default label first: accept either order.
    expect(aggregatorMetrics).toMatch(
      /saldo_grpc_server_request_duration_seconds_count\{(service="transaction-aggregator",)?method="saldo\.transaction\.v1\.TransactionService\/TopUp"(,service="transaction-aggregator")?\} 2\n/,
    );
    expect(aggregatorMetrics).toContain('# TYPE saldo_pubsub_intake_messages_total counter');

    const ledgerMetrics = await metricsOf(stack.ledgerHttp);
    expect(ledgerMetrics).toMatch(
      /saldo_grpc_server_requests_total\{method="saldo\.ledger\.v1\.LedgerService\/\w+",code="OK",service="wallet-ledger"\} [1-9]/,
    );
    // The aggregator's writes reach the ledger as PostBatch (group commit, docs/batch-api.md): the
    // refused BookUsage is an outcome inside an OK batch, so the ledger counts no gRPC error for it.
    expect(ledgerMetrics).toMatch(
      /saldo_grpc_server_requests_total\{method="saldo\.ledger\.v1\.LedgerService\/PostBatch",code="OK",service="wallet-ledger"\} [1-9]/,
    );
    expect(ledgerMetrics).not.toMatch(
      /saldo_grpc_server_errors_total\{method="saldo\.ledger\.v1\.LedgerService\/PostBatch"/,
    );

    // Without the ledger the aggregator is not ready (and says why), though it is alive.
    stack.ledger.child.kill('SIGKILL');
    await stack.ledger.exit;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    const body = (await notReady.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('not_ready');
    expect(body.checks['ledger']?.ok).toBe(false);
    expect(body.checks['database']?.ok).toBe(true);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 90_000);
});

describe('graceful shutdown under load', () => {
  let stack: Stack | undefined;
  afterEach(() => dropStack(stack));

  it('SIGTERM to the aggregator: every OK TopUp is posted, nothing else is, and it exits 0 within its grace period', async () => {
    stack = await startStack('ops-agg-term');
    const walletId = await openFundedWallet(stack);
    const running = load(stack, walletId, stack.aggregator.exit);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const before = running.ok.size;
    const signalledAt = Date.now();
    stack.aggregator.child.kill('SIGTERM');
    const exit = await stack.aggregator.exit;
    await running.done;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(GRACE_MS);
    expect(before).toBeGreaterThan(10); // there was real load when the signal came
    expect(running.wrong).toEqual([]);
    expectLedgerEqualsOkAnswers(running.ok, await ledgerTopUps(stack, walletId));
  }, 90_000);

  it('SIGTERM to the ledger: every OK TopUp is posted, nothing else is, and the ledger exits 0 within its grace period', async () => {
    stack = await startStack('ops-ledger-term');
    const walletId = await openFundedWallet(stack);
    const ledgerGone = stack.ledger.exit.then(() => new Promise((resolve) => setTimeout(resolve, 500)));
    const running = load(stack, walletId, ledgerGone);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const before = running.ok.size;
    const signalledAt = Date.now();
    stack.ledger.child.kill('SIGTERM');
    const exit = await stack.ledger.exit;
    await running.done;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(GRACE_MS);
    expect(before).toBeGreaterThan(10);
    expect(running.wrong).toEqual([]);
    expect(running.failed()).toBeGreaterThan(0); // after the ledger left, calls were refused, not answered OK
    expectLedgerEqualsOkAnswers(running.ok, await ledgerTopUps(stack, walletId));
  }, 90_000);
});
