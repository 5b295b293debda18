// End to end: gRPC actions → transaction-aggregator → wallet-ledger → outbox relay → Pub/Sub
// (a private emulator) → the erp-sync process → the NetSuite, Zendesk and ActiveCampaign stand-ins.
// Every action type's journal lines, usage summaries whose totals equal the ledger's, a kill -9 of
// erp-sync mid-stream with no double posting, and reconciliation finding a planted difference.
import {
  createTestDatabase,
  freePort,
  startPubSubEmulator,
  waitFor,
  type ServiceProcess,
  type TestDatabase,
  type TestEmulator,
  startLedger,
  startAggregator,
  aggregatorEnv,
  Api,
} from '@saldo/test-support';
import {
  decimalToScaled,
  startStandins,
  type RunningStandins,
  type StoredJournal,
} from '@saldo/vendor-standins';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { tenantsConfig } from './event-fixtures';
import { cliAsync, ROOT } from './sync-harness';

jest.setTimeout(240_000);

const TENANT = `e2e-${randomBytes(3).toString('hex')}`;
const API_KEY = `key-${randomBytes(16).toString('hex')}`;
const BURST = 300;

let emulator: TestEmulator;
let database: TestDatabase;
let standins: RunningStandins;
let ledger: ServiceProcess;
let aggregator: ServiceProcess;
let erpSync: ChildProcess | undefined;
let erpEnv: Record<string, string>;
let api: Api;

async function sql<T = Record<string, string>>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new PgClient({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

function call(method: string, request: Record<string, unknown>): Promise<Record<string, string>> {
  return api.call(method, request);
}
const key = () => randomUUID();

async function startErpSync(): Promise<void> {
  const port = await freePort();
  const dir = path.join(
    ROOT,
    'tmp',
    process.env['SALDO_TEST_RUN_ID'] ? `test-run-${process.env['SALDO_TEST_RUN_ID']}` : 'test-services',
    'services',
  );
  mkdirSync(dir, { recursive: true });
  const log = createWriteStream(path.join(dir, `erp-sync-${Date.now()}.log`));
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/out-tsc/apps/erp-sync/src/main.js')], {
    cwd: ROOT,
    env: { ...process.env, ...erpEnv, ERP_SYNC_HTTP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  erpSync = child;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`erp-sync exited with ${child.exitCode}`);
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return res?.status === 200;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: 'erp-sync ready' },
  );
}

async function killErpSync(signal: NodeJS.Signals): Promise<void> {
  const child = erpSync;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await gone;
}

beforeAll(async () => {
  [emulator, database, standins] = await Promise.all([
    startPubSubEmulator(),
    createTestDatabase('erp_e2e'),
    startStandins({ netsuiteConcurrency: 5 }),
  ]);
  const topic = `ledger-events-${randomBytes(3).toString('hex')}`;
  const pubsubEnv = { ...emulator.env, GOOGLE_CLOUD_PROJECT: emulator.projectId };
  const tenants = tenantsConfig(TENANT, { threshold: '100000', crm: true });
  erpEnv = {
    ...pubsubEnv,
    ...standins.env,
    DATABASE_URL: database.url,
    LEDGER_EVENTS_TOPIC: topic,
    ERP_SYNC_SUBSCRIPTION: `${topic}-erp-sync`,
    ERP_SYNC_ACK_DEADLINE_S: '10',
    ERP_SYNC_TENANTS_JSON: JSON.stringify(tenants),
    ERP_SYNC_SUMMARY_DELAY_MS: '500',
    ERP_SYNC_BALANCE_DELAY_MS: '200',
    ERP_SYNC_POLL_INTERVAL_MS: '100',
    ERP_SYNC_RETRY_BASE_MS: '100',
    ERP_SYNC_RETRY_MAX_MS: '2000',
    ERP_SYNC_LEASE_MS: '4000',
    ZENDESK_MIN_INTERVAL_MS: '0',
    LOG_LEVEL: 'info',
  };
  // erp-sync first: its subscription must exist before the first event is published.
  await startErpSync();
  const ledgerTarget = `127.0.0.1:${await freePort()}`;
  ledger = (
    await startLedger(database.url, {
      at: ledgerTarget,
      env: {
        ...pubsubEnv,
        LEDGER_EVENTS_TOPIC: topic,
        LEDGER_MIRROR_ENABLED: 'false',
        LEDGER_OUTBOX_POLL_INTERVAL_MS: '50',
        LEDGER_OUTBOX_RELAY_ENABLED: 'true',
      },
    })
  ).process;
  const aggregatorTarget = `127.0.0.1:${await freePort()}`;
  aggregator = (
    await startAggregator(
      aggregatorEnv(database.url, ledgerTarget, {
        SALDO_API_KEYS: `${TENANT}=${API_KEY}`,
      }),
      { at: aggregatorTarget },
    )
  ).process;
  api = new Api(aggregatorTarget, API_KEY);
}, 180_000);

afterAll(async () => {
  api?.close();
  await killErpSync('SIGTERM');
  await Promise.all([aggregator?.stop(), ledger?.stop()]);
  await Promise.all([standins?.stop(), emulator?.stop()]);
  await database?.drop();
});

const eid = (transactionId: string) => `saldo-${TENANT}-tx-${transactionId}`;
const journal = (externalId: string): StoredJournal | undefined => standins.netsuite.journals.get(externalId);
/** Lines as [account, customer, "Dr n" | "Cr n"] in minor units (IDR: scale 0). */
const linesOf = (j: StoredJournal | undefined) =>
  (j?.lines ?? [])
    .map((l) => [
      l.account,
      l.customer,
      l.debit ? `Dr ${decimalToScaled(l.debit, 0)}` : `Cr ${decimalToScaled(l.credit!, 0)}`,
    ])
    .sort((a, b) => `${a[0]}/${a[1]}`.localeCompare(`${b[0]}/${b[1]}`));

async function ledgerSystemNet(type: string): Promise<bigint> {
  const [row] = await sql<{ c: string; d: string }>(
    `SELECT credits_posted::text AS c, debits_posted::text AS d FROM ledger.accounts WHERE tenant_id = $1 AND asset_code = 'IDR' AND type = $2`,
    [TENANT, type],
  );
  return row ? BigInt(row.c) - BigInt(row.d) : 0n;
}

function erpNet(account: string): bigint {
  let net = 0n;
  for (const j of standins.netsuite.journals.values()) {
    if (j.tenant !== TENANT) continue;
    for (const l of j.lines)
      if (l.account === account)
        net +=
          (l.credit ? decimalToScaled(l.credit, 0)! : 0n) - (l.debit ? decimalToScaled(l.debit, 0)! : 0n);
  }
  return net;
}

async function recordedAll(): Promise<boolean> {
  const [ledgerTx] = await sql<{ n: string }>(
    `SELECT count(DISTINCT t.id)::text AS n FROM ledger.transactions t JOIN ledger.entries e ON e.transaction_id = t.id
      WHERE t.tenant_id = $1 AND e.phase = 'posted'`,
    [TENANT],
  );
  const [recorded] = await sql<{ n: string }>(
    `SELECT count(*)::text AS n FROM erp_sync.accounted_transactions WHERE tenant_id = $1`,
    [TENANT],
  );
  return ledgerTx!.n === recorded!.n;
}

async function settled(): Promise<void> {
  // Every ledger transaction with posted money is recorded, and every sync record is settled.
  await waitFor(
    async () => {
      const [ledgerTx] = await sql<{ n: string }>(
        `SELECT count(DISTINCT t.id)::text AS n FROM ledger.transactions t JOIN ledger.entries e ON e.transaction_id = t.id
          WHERE t.tenant_id = $1 AND e.phase = 'posted'`,
        [TENANT],
      );
      const [recorded] = await sql<{ n: string }>(
        `SELECT count(*)::text AS n FROM erp_sync.accounted_transactions WHERE tenant_id = $1`,
        [TENANT],
      );
      const [open] = await sql<{ n: string }>(
        `SELECT count(*)::text AS n FROM erp_sync.sync_records WHERE tenant_id = $1 AND state IN ('pending', 'failed', 'in_flight')`,
        [TENANT],
      );
      return ledgerTx!.n === recorded!.n && open!.n === '0';
    },
    { timeoutMs: 150_000, intervalMs: 250, what: 'erp-sync caught up with the ledger' },
  );
}

describe('ledger to NetSuite, Zendesk and ActiveCampaign', () => {
  const tx: Record<string, string> = {};
  const owners = { alice: `alice-${TENANT}`, bob: `bob-${TENANT}` };
  let alice = '';
  let bob = '';

  it('every action type gives the right journal lines', async () => {
    alice = (
      await call('OpenWallet', {
        idempotencyKey: key(),
        ownerType: 'PERSONAL',
        ownerId: owners.alice,
        currency: 'IDR',
      })
    )['walletId']!;
    bob = (
      await call('OpenWallet', {
        idempotencyKey: key(),
        ownerType: 'PERSONAL',
        ownerId: owners.bob,
        currency: 'IDR',
      })
    )['walletId']!;
    tx['topUpAlice'] = (
      await call('TopUp', { idempotencyKey: key(), walletId: alice, amount: '1000000', reference: 'pg-1' })
    )['transactionId']!;
    tx['topUpBob'] = (await call('TopUp', { idempotencyKey: key(), walletId: bob, amount: '500000' }))[
      'transactionId'
    ]!;
    await call('BookUsage', {
      idempotencyKey: key(),
      walletId: alice,
      amount: '1500',
      productCode: 'esign.basic',
      costAmount: '400',
    });
    tx['transfer'] = (
      await call('Transfer', { idempotencyKey: key(), fromWalletId: alice, toWalletId: bob, amount: '10000' })
    )['transactionId']!;
    const holdA = (
      await call('Reserve', {
        idempotencyKey: key(),
        walletId: alice,
        amount: '3000',
        productCode: 'ekyc.check',
      })
    )['transactionId']!;
    await call('Capture', { idempotencyKey: key(), transactionId: holdA, amount: '2000' });
    const holdB = (
      await call('Reserve', {
        idempotencyKey: key(),
        walletId: bob,
        amount: '1000',
        productCode: 'ekyc.check',
      })
    )['transactionId']!;
    await call('Void', { idempotencyKey: key(), transactionId: holdB });
    const usageB = (
      await call('BookUsage', {
        idempotencyKey: key(),
        walletId: bob,
        amount: '2500',
        productCode: 'esign.basic',
        costAmount: '700',
      })
    )['transactionId']!;
    tx['reversal'] = (await call('Void', { idempotencyKey: key(), transactionId: usageB }))['transactionId']!;
    tx['big'] = (
      await call('BookUsage', {
        idempotencyKey: key(),
        walletId: alice,
        amount: '150000',
        productCode: 'esign.basic',
      })
    )['transactionId']!;
    await settled();

    expect(linesOf(journal(eid(tx['topUpAlice']!)))).toEqual([
      ['100', null, 'Dr 1000000'],
      ['200', owners.alice, 'Cr 1000000'],
    ]);
    expect(journal(eid(tx['topUpAlice']!))!.memo).toContain('ref pg-1');
    expect(linesOf(journal(eid(tx['transfer']!)))).toEqual([
      ['200', owners.alice, 'Dr 10000'],
      ['200', owners.bob, 'Cr 10000'],
    ]);
    // The void of a posted usage reverses revenue and cost exactly.
    expect(linesOf(journal(eid(tx['reversal']!)))).toEqual([
      ['200', owners.bob, 'Cr 2500'],
      ['210', null, 'Dr 700'],
      ['400', null, 'Dr 2500'],
      ['500', null, 'Cr 700'],
    ]);
    expect(linesOf(journal(eid(tx['big']!)))).toEqual([
      ['200', owners.alice, 'Dr 150000'],
      ['400', null, 'Cr 150000'],
    ]);
    // Small usage, the original of the reversal and the capture are in the product summaries; the
    // released hold posts nothing.
    const summaries = [...standins.netsuite.journals.values()].filter(
      (j) => j.tenant === TENANT && j.externalId.includes('-usage-'),
    );
    const ekyc = summaries.filter((j) => j.externalId.includes('ekyc_check'));
    expect(ekyc.flatMap((j) => linesOf(j))).toEqual([
      ['200', owners.alice, 'Dr 2000'],
      ['400', null, 'Cr 2000'],
    ]);
    expect(erpNet('400')).toBe(await ledgerSystemNet('revenue'));
    expect(-erpNet('500')).toBe(-(await ledgerSystemNet('cost_of_revenue')));
    expect(erpNet('210')).toBe(await ledgerSystemNet('payables'));
    expect(erpNet('400')).toBe(1500n + 2000n + 150000n);
  });

  it(`a burst of ${BURST} usages becomes summary entries equal to the ledger, posted once across a kill -9 of erp-sync mid-write`, async () => {
    const wallets = [alice, bob];
    const book = (i: number) =>
      call('BookUsage', {
        idempotencyKey: key(),
        walletId: wallets[i % 2],
        amount: String(10 + (i % 13)),
        productCode: i % 4 === 0 ? 'ekyc.check' : 'esign.basic',
        costAmount: i % 3 === 0 ? '3' : '',
      });
    // NetSuite stores each write at once but answers 3 s later: a crash lands between the two.
    standins.netsuite.setLatency(3_000);
    for (let i = 0; i < BURST; i += 25) await Promise.all(Array.from({ length: 25 }, (_, j) => book(i + j)));
    // Every event stored and acked first (the Pub/Sub emulator may stop redelivering to a
    // subscription whose subscriber died holding messages), then the crash lands mid-write.
    await waitFor(async () => (await recordedAll()) && standins.netsuite.counters.inFlight > 0, {
      timeoutMs: 60_000,
      intervalMs: 20,
      what: 'all events stored, a NetSuite write in flight',
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the client's acks leave in batches
    await waitFor(() => standins.netsuite.counters.inFlight > 0, {
      timeoutMs: 30_000,
      intervalMs: 10,
      what: 'a NetSuite write in flight',
    });
    const inFlight = (
      await sql<{ k: string }>(
        `SELECT record_key AS k FROM erp_sync.sync_records WHERE tenant_id = $1 AND connector = 'netsuite' AND state = 'in_flight'`,
        [TENANT],
      )
    ).map((r) => r.k);
    const writesBefore = new Map(
      [...standins.netsuite.journals.values()].map((j) => [j.externalId, j.writes]),
    );
    await killErpSync('SIGKILL');
    expect(inFlight.length).toBeGreaterThanOrEqual(1);
    standins.netsuite.setLatency(0);
    await startErpSync(); // the lapsed leases make the new instance send those records again
    await settled();
    // Stored by NetSuite before the crash, unanswered, and written again after it: same external id, same record.
    for (const externalId of inFlight)
      expect(journal(externalId)!.writes).toBeGreaterThan(writesBefore.get(externalId) ?? 0);

    const revenue = await ledgerSystemNet('revenue');
    expect(erpNet('400')).toBe(revenue);
    expect(erpNet('210')).toBe(await ledgerSystemNet('payables'));
    const [walletsNet] = await sql<{ n: string }>(
      `SELECT sum(credits_posted - debits_posted)::text AS n FROM ledger.accounts WHERE tenant_id = $1 AND type = 'wallet'`,
      [TENANT],
    );
    expect(erpNet('200')).toBe(BigInt(walletsNet!.n));
    const [ledgerTx] = await sql<{ n: string }>(
      `SELECT count(*)::text AS n FROM ledger.transactions WHERE tenant_id = $1 AND action = 'USAGE'`,
      [TENANT],
    );
    expect(Number(ledgerTx!.n)).toBeGreaterThanOrEqual(BURST);
    const summaries = [...standins.netsuite.journals.values()].filter(
      (j) => j.tenant === TENANT && j.externalId.includes('-usage-'),
    );
    const [buckets] = await sql<{ n: string }>(
      `SELECT count(DISTINCT (refs->>'product_code', date_trunc('hour', created_at AT TIME ZONE 'UTC')))::text AS n
         FROM ledger.transactions WHERE tenant_id = $1 AND action = 'USAGE' AND kind IN ('posted', 'post_pending')`,
      [TENANT],
    );
    // The big usage went alone; every other usage is in one summary per product and hour.
    expect(summaries.length).toBeLessThanOrEqual(Number(buckets!.n));
    expect(summaries.length).toBeGreaterThanOrEqual(2);

    // CRM: each customer's newest balance.
    for (const [name, walletId] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      const w = await call('GetWallet', { walletId });
      const user = standins.zendesk.users.get(`x:${owners[name]}`)!;
      expect(user.user_fields['saldo_balance']).toBe(w['postedBalance']);
      expect(
        standins.activecampaign.contacts.get(`${owners[name]}@customers.example.com`)!.fieldValues['1'],
      ).toBe(w['postedBalance']);
    }
  });

  it('reconciliation agrees with the ledger, then finds a difference planted in NetSuite', async () => {
    const days = (
      await sql<{ d: string }>(
        `SELECT DISTINCT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS d FROM ledger.transactions WHERE tenant_id = $1`,
        [TENANT],
      )
    ).map((r) => r.d);
    for (const day of days) {
      const clean = await cliAsync(['reconcile', '--tenant', TENANT, '--day', day], erpEnv);
      expect(clean.stderr).toBe('');
      expect(clean.stdout).toContain('no differences');
      expect(clean.code).toBe(0);
    }
    // An accountant edits the big usage's revenue line in NetSuite.
    standins.netsuite.tamper(eid(tx['big']!), (j) => {
      const line = j.lines.find((l) => l.account === '400')!;
      line.credit = '149000';
      j.lines.find((l) => l.account === '200')!.debit = '149000';
    });
    const day = journal(eid(tx['big']!))!.trandate;
    const dirty = await cliAsync(['reconcile', '--tenant', TENANT, '--day', day], erpEnv);
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toMatch(/IDR\s+revenue\s+.*DIFF -1000/);
    expect(dirty.stdout).toMatch(/IDR\s+customer_prepayment\s+.*DIFF \+1000/);
    expect(dirty.stdout).toContain('2 difference(s)');
  });
});
