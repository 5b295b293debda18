// End to end: a legacy system (the simulator, taking writes throughout) moved into the real stack —
// wallet-ledger (outbox relay to a private Pub/Sub emulator), transaction-aggregator, erp-sync
// with the NetSuite stand-in — by the built migrator CLI: plan, import killed with SIGKILL midway
// and restarted, catch-up, verify with zero differences, cutover, then writes through Saldo; the
// ERP holds exactly one opening journal per tenant and currency; `ledger verify` passes.
// MIGRATION_E2E_WALLETS sets the legacy wallet count (default 2,000 keeps CI to a few minutes on
// 2 shared cores; 20,000 is the figure, run by hand).
import {
  Api,
  aggregatorEnv,
  createTestDatabase,
  freePort,
  SERVICE_TOKEN,
  sql,
  startAggregator,
  startLedger,
  startPubSubEmulator,
  waitFor,
  type ServiceProcess,
  type TestDatabase,
  type TestEmulator,
} from '@saldo/test-support';
import { decimalToScaled, startStandins, type RunningStandins } from '@saldo/vendor-standins';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { LegacySimulator } from '../src/simulator/simulator';
import { ledgerVerify, MIGRATOR_CLI, ROOT } from './migration-harness';

const WALLETS = Number(process.env['MIGRATION_E2E_WALLETS'] || 2_000);
jest.setTimeout(30 * 60_000);

const TENANT = `mig-${randomBytes(3).toString('hex')}`;
const API_KEY = `key-${randomBytes(16).toString('hex')}`;

let emulator: TestEmulator;
let saldo: TestDatabase;
let legacy: TestDatabase;
let standins: RunningStandins;
let ledger: ServiceProcess;
let aggregator: ServiceProcess;
let erpSync: ChildProcess | undefined;
let api: Api;
let simulator: LegacySimulator;
let migratorEnv: Record<string, string>;

function logFile(name: string) {
  const dir = path.join(
    ROOT,
    'tmp',
    process.env['SALDO_TEST_RUN_ID'] ? `test-run-${process.env['SALDO_TEST_RUN_ID']}` : 'test-services',
    'services',
  );
  mkdirSync(dir, { recursive: true });
  return createWriteStream(path.join(dir, `${name}-${Date.now()}.log`));
}

/** The built migrator CLI as an operator runs it; resolves with its exit code and stdout. */
function migrator(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string }>;
} {
  const child = spawn(process.execPath, [MIGRATOR_CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...migratorEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.pipe(logFile(`migrator-${args[0]}`));
  const done = new Promise<{ code: number | null; stdout: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout })),
  );
  return { child, done };
}

async function migratorJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const { done } = migrator([...args, '--json', '--quiet']);
  const { code, stdout } = await done;
  if (code !== 0) throw new Error(`migrator ${args.join(' ')} exited ${code}: ${stdout}`);
  return JSON.parse(stdout) as T;
}

beforeAll(async () => {
  [emulator, saldo, legacy, standins] = await Promise.all([
    startPubSubEmulator(),
    createTestDatabase('mig_e2e'),
    createTestDatabase('mig_e2e_legacy'),
    startStandins({ netsuiteConcurrency: 5 }),
  ]);
  simulator = new LegacySimulator(legacy.url);
  await simulator.seed(WALLETS, 10);
  const topic = `ledger-events-${randomBytes(3).toString('hex')}`;
  const pubsubEnv = { ...emulator.env, GOOGLE_CLOUD_PROJECT: emulator.projectId };
  const accounts = {
    cashClearing: '100',
    customerPrepayment: '200',
    revenue: '400',
    costOfRevenue: '500',
    payables: '210',
    openingBalances: '3000',
  };
  const erpEnv = {
    ...pubsubEnv,
    ...standins.env,
    DATABASE_URL: saldo.url,
    LEDGER_EVENTS_TOPIC: topic,
    ERP_SYNC_SUBSCRIPTION: `${topic}-erp-sync`,
    ERP_SYNC_TENANTS_JSON: JSON.stringify({
      [TENANT]: {
        subsidiary: '1',
        accounts,
        currencies: { IDR: '5', USD: '1' },
        products: {},
        defaultItem: '30',
        usageSummary: { periodMinutes: 60, singleEntryThresholdMinor: {} },
        crm: {
          zendesk: false,
          activeCampaign: false,
          contactEmailTemplate: '{ownerId}@customers.example.com',
        },
      },
    }),
    ERP_SYNC_SUMMARY_DELAY_MS: '500',
    ERP_SYNC_POLL_INTERVAL_MS: '200',
    LOG_LEVEL: 'info',
  };
  const erpPort = await freePort();
  erpSync = spawn(process.execPath, [path.join(ROOT, 'dist/out-tsc/apps/erp-sync/src/main.js')], {
    cwd: ROOT,
    env: { ...process.env, ...erpEnv, ERP_SYNC_HTTP_PORT: String(erpPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const erpLog = logFile('erp-sync');
  erpSync.stdout!.pipe(erpLog);
  erpSync.stderr!.pipe(erpLog);
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${erpPort}/readyz`).catch(() => undefined))?.status === 200,
    { timeoutMs: 60_000, intervalMs: 200, what: 'erp-sync ready' },
  );
  const ledgerTarget = `127.0.0.1:${await freePort()}`;
  ledger = (
    await startLedger(saldo.url, {
      at: ledgerTarget,
      env: {
        ...pubsubEnv,
        LEDGER_EVENTS_TOPIC: topic,
        LEDGER_MIRROR_ENABLED: 'false',
        LEDGER_OUTBOX_RELAY_ENABLED: 'true',
      },
      // Beside other suites on 2 shared cores a cold start can pass 30 s.
      startTimeoutMs: 120_000,
    })
  ).process;
  const aggregatorTarget = `127.0.0.1:${await freePort()}`;
  aggregator = (
    await startAggregator(
      aggregatorEnv(saldo.url, ledgerTarget, { SALDO_API_KEYS: `${TENANT}=${API_KEY}` }),
      {
        at: aggregatorTarget,
      },
    )
  ).process;
  api = new Api(aggregatorTarget, API_KEY);
  migratorEnv = {
    DATABASE_URL: saldo.url,
    MIGRATOR_LEDGER_TARGET: ledgerTarget,
    LEDGER_SERVICE_TOKEN: SERVICE_TOKEN,
  };
}, 300_000);

afterAll(async () => {
  api?.close();
  if (erpSync && erpSync.exitCode === null) {
    const gone = new Promise((resolve) => erpSync!.once('exit', resolve));
    erpSync.kill('SIGTERM');
    await gone;
  }
  await Promise.all([aggregator?.stop(), ledger?.stop()]);
  await simulator?.close();
  await Promise.all([standins?.stop(), emulator?.stop()]);
  await Promise.all([saldo?.drop(), legacy?.drop()]);
});

it('plan, import (kill -9 midway, restart), catch-up, verify, cutover, writes through Saldo; one opening journal per currency in the ERP; ledger verify', async () => {
  const source = ['--tenant', TENANT, '--source', legacy.url];
  const writes = new AbortController();
  const workload = simulator.run({ ratePerSecond: 20, signal: writes.signal, seed: 3 });
  let migrationId = '';
  try {
    const plan = await migratorJson<{ wallets: Record<string, number>; totals: unknown[] }>([
      'plan',
      ...source,
    ]);
    // The simulator opens a wallet now and then: those before the plan's cursor count too.
    expect(plan.wallets['mapped']).toBeGreaterThanOrEqual(WALLETS);
    expect(plan.wallets['unmappable']).toBe(10);
    expect(plan.totals).toHaveLength(2);

    // Import with /metrics; SIGKILL once a third of the wallets are in, then run it again.
    const metricsPort = await freePort();
    const first = migrator([
      'import',
      ...source,
      '--migration',
      `${TENANT}-1`,
      '--metrics-port',
      String(metricsPort),
      '--page-size',
      '250',
    ]);
    await waitFor(
      async () => {
        const [row] = await sql<{ n: string }>(
          saldo.url,
          `SELECT count(*)::text AS n FROM migrator.wallet_map`,
        ).catch(() => [{ n: '0' }]);
        return Number(row?.n) >= WALLETS / 3;
      },
      { timeoutMs: 20 * 60_000, intervalMs: 250, what: 'a third of the import' },
    );
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`saldo_migration_wallets_imported_total\\{[^}]*migration="${TENANT}-1"[^}]*\\} [1-9]`),
    );
    first.child.kill('SIGKILL');
    expect((await first.done).code).toBeNull();
    const resumed = await migratorJson<{
      migrationId: string;
      resumed: boolean;
      state: string;
      wallets: { mapped: number };
    }>(['import', ...source]);
    migrationId = resumed.migrationId;
    expect(resumed).toMatchObject({ migrationId: `${TENANT}-1`, resumed: true, state: 'imported' });
    expect(resumed.wallets.mapped).toBeGreaterThanOrEqual(WALLETS);
    const [postings] = await sql<{ openings: string; wallets: string; nonzero: string }>(
      saldo.url,
      `SELECT (SELECT count(*) FROM ledger.transactions WHERE tenant_id = $1 AND action = 'MIGRATION_OPENING')::text AS openings,
              (SELECT count(DISTINCT refs->>'legacy_wallet_id') FROM ledger.transactions WHERE tenant_id = $1 AND action = 'MIGRATION_OPENING')::text AS wallets,
              (SELECT count(*) FROM migrator.wallet_map WHERE migration_id = $2 AND opening_minor <> 0)::text AS nonzero`,
      [TENANT, migrationId],
    );
    // Exactly one opening posting per legacy wallet with a balance: the kill repeated nothing.
    expect(postings?.openings).toBe(postings?.nonzero);
    expect(postings?.wallets).toBe(postings?.nonzero);

    const caught = await migratorJson<{ applied: number; lagChanges: number }>(['catch-up', ...source]);
    expect(caught.applied).toBeGreaterThan(0);

    // Until cutover the aggregator refuses writes to the tenant's wallets, naming the migration; reads work.
    const [member] = await sql<{ wallet_id: string; org: string }>(
      saldo.url,
      `SELECT m.wallet_id::text, o.wallet_id::text AS org FROM migrator.wallet_map m
         JOIN aggregator.wallets w ON w.tenant_id = $1 AND w.id = m.wallet_id
         JOIN migrator.wallet_map o ON o.migration_id = m.migration_id AND o.wallet_id = w.parent_wallet_id
        WHERE m.migration_id = $2 AND m.model = 'enterprise_member' LIMIT 1`,
      [TENANT, migrationId],
    );
    const refused = await api.fail('TopUp', {
      idempotencyKey: 'early',
      walletId: member!.org,
      amount: '100',
    });
    expect(refused).toMatchObject({ codeName: 'FAILED_PRECONDITION', reason: 'WALLET_RULE_VIOLATION' });
    expect(refused.message).toContain(migrationId);
    const orgBefore = await api.call('GetWallet', { walletId: member!.org });
    expect(orgBefore.walletId).toBe(member!.org);

    const verified = await migratorJson<{ ok: boolean; differences: number; walletsCompared: number }>([
      'verify',
      ...source,
    ]);
    expect(verified).toMatchObject({ ok: true, differences: 0 });
    expect(verified.walletsCompared).toBeGreaterThanOrEqual(WALLETS);

    const cut = await migratorJson<{ state: string; verify: { differences: number } }>([
      'cutover',
      ...source,
    ]);
    expect(cut).toMatchObject({ state: 'cut_over', verify: { differences: 0 } });
  } finally {
    writes.abort();
  }
  const stats = await workload;
  expect(stats.writes).toBeGreaterThan(0);
  expect(stats.refused).toBeGreaterThan(0); // the frozen legacy system refused its writers after the cutover began

  // Saldo serves the tenant now: writes through the public API (within a second: the guard's cache).
  const [member] = await sql<{ wallet_id: string; org: string }>(
    saldo.url,
    `SELECT m.wallet_id::text, w.parent_wallet_id::text AS org FROM migrator.wallet_map m
       JOIN aggregator.wallets w ON w.tenant_id = $1 AND w.id = m.wallet_id
      WHERE m.migration_id = $2 AND m.model = 'enterprise_member' LIMIT 1`,
    [TENANT, migrationId],
  );
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const org = await api.call('GetWallet', { walletId: member!.org });
  await api.call('TopUp', { idempotencyKey: 'after-cutover', walletId: member!.org, amount: '500' });
  await api.call('BookUsage', {
    idempotencyKey: 'member-usage',
    walletId: member!.wallet_id,
    amount: '200',
    productCode: 'esign',
  });
  const after = await api.call('GetWallet', { walletId: member!.org });
  expect(BigInt(after.postedBalance)).toBe(BigInt(org.postedBalance) + 300n);

  // The ERP: exactly one opening journal per currency, equal to what the ledger's opening-balances account holds.
  const openingNet = await sql<{ asset_code: string; net: string }>(
    saldo.url,
    `SELECT asset_code, (debits_posted - credits_posted)::text AS net FROM ledger.accounts
      WHERE tenant_id = $1 AND type = 'opening_balances' ORDER BY asset_code`,
    [TENANT],
  );
  const scale: Record<string, number> = { IDR: 0, USD: 2 };
  await waitFor(
    () => {
      const journals = [...standins.netsuite.journals.values()].filter(
        (j) => j.tenant === TENANT && j.externalId.includes('opening'),
      );
      if (journals.length !== 2) return false;
      return openingNet.every((row) => {
        const journal = journals.find((j) => j.externalId === `saldo-${TENANT}-opening-${row.asset_code}`);
        const debit = journal?.lines.find((l) => l.account === '3000')?.debit ?? null;
        return debit !== null && decimalToScaled(debit, scale[row.asset_code] as number) === BigInt(row.net);
      });
    },
    {
      timeoutMs: 10 * 60_000,
      intervalMs: 1_000,
      what: 'one opening journal per currency in the ERP, equal to the ledger',
    },
  );
  const tenantJournals = [...standins.netsuite.journals.values()].filter((j) => j.tenant === TENANT);
  // No revenue, no top-up journal per wallet: only the two opening journals, and the two Saldo writes after cutover.
  expect(tenantJournals.filter((j) => j.externalId.includes('opening'))).toHaveLength(2);
  expect(tenantJournals.length).toBeLessThanOrEqual(4);

  expect((await ledgerVerify(saldo.url)).code).toBe(0);
});
