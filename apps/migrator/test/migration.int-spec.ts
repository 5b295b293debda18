import { sql, tenantId } from '@saldo/test-support';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { catchUp } from '../src/run/catch-up';
import { MigrationRefused } from '../src/run/context';
import { cutover, rollback } from '../src/run/cutover';
import { runImport } from '../src/run/import';
import { plan } from '../src/run/plan';
import { verify } from '../src/run/verify';
import { SIMULATOR_MAPPING } from '../src/simulator/simulator-schema';
import { CsvSource } from '../src/source/csv-source';
import { ledgerVerify, startHarness, type Harness } from './migration-harness';

jest.setTimeout(180_000);

describe('migrator on the simulator and the real ledger (import, catch-up, verify, rollback, cutover)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('mig', 300, 4);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('plans: counts per model and currency, totals, unmappable records with reasons, an estimate', async () => {
    const ctx = await h.context();
    const report = await plan('plan-only', ctx.source, SIMULATOR_MAPPING, ctx.options);
    expect(report.wallets).toEqual({ total: 304, mapped: 300, unmappable: 4, openedAfterCursor: 0 });
    const legacy = await h.simulator.totals();
    const usd = report.totals.find((t) => t.currency === 'USD');
    // Mapped USD = all USD minus the two 12345-e4 wallets the mapping refuses (and the two unknown-model ones).
    expect(BigInt(usd?.balanceMinor ?? '0') * 100n).toBe((legacy.balances['USD'] ?? 0n) - 4n * 12345n);
    expect(report.byModelAndCurrency.map((g) => `${g.model}/${g.currency}:${g.wallets}`)).toEqual([
      'enterprise/IDR:15',
      'enterprise/USD:15',
      'enterprise_member/IDR:30',
      'enterprise_member/USD:30',
      'personal/IDR:75',
      'personal/USD:75',
      'reseller/IDR:15',
      'reseller/USD:15',
      'reseller_client/IDR:15',
      'reseller_client/USD:15',
    ]);
    expect(report.unmappable.byReason).toEqual({ bad_balance: 2, unknown_model: 2 });
    expect(report.estimate.importSeconds).toBeGreaterThan(0);
  });

  it('imports while the legacy system takes writes, catches up in order and verifies with zero differences; a rollback reverses every posting', async () => {
    const tenant = tenantId('mig');
    const ctx = await h.context({ pageSize: 64, concurrency: 8 });
    const writes = new AbortController();
    const workload = h.simulator.run({ ratePerSecond: 20, signal: writes.signal, seed: 7 });
    let imported: Awaited<ReturnType<typeof runImport>>;
    try {
      imported = await runImport(ctx, tenant, `${tenant}-m1`);
      expect(imported.wallets).toEqual({ mapped: 300, unmapped: 4, withAccount: 240 });
      // A rerun resumes the finished import: nothing is opened or posted again.
      const again = await runImport(ctx, tenant);
      expect(again).toMatchObject({ resumed: true, postings: { posted: 0, replayed: 0 } });
      const caught = await catchUp(ctx, imported.migrationId);
      expect(caught.applied).toBeGreaterThan(0);
    } finally {
      writes.abort();
    }
    const stats = await workload;
    expect(stats.writes).toBeGreaterThan(10);
    const report = await verify(ctx, imported.migrationId);
    expect(report.differences).toBe(0);
    expect(report.listed).toEqual([]);
    expect(report.walletsCompared).toBeGreaterThanOrEqual(300);
    for (const t of report.totals) expect(t.differenceMinor).toBe('0');

    // One posting per legacy wallet with a balance, one per replayed change; the opening-balances
    // account mirrors the wallets exactly.
    const [counts] = await sql<{ openings: string; changes: string; dupes: string }>(
      h.saldo.url,
      `SELECT count(*) FILTER (WHERE action = 'MIGRATION_OPENING')::text AS openings,
              count(*) FILTER (WHERE action = 'MIGRATION_CATCH_UP')::text AS changes,
              (count(*) - count(DISTINCT refs->>'legacy_change_id') FILTER (WHERE action = 'MIGRATION_CATCH_UP')
                        - count(*) FILTER (WHERE action = 'MIGRATION_OPENING'))::text AS dupes
         FROM ledger.transactions WHERE tenant_id = $1`,
      [tenant],
    );
    expect(Number(counts?.openings)).toBeGreaterThan(200);
    expect(Number(counts?.changes)).toBeGreaterThan(0);
    expect(counts?.dupes).toBe('0');
    expect((await ledgerVerify(h.saldo.url)).code).toBe(0);

    const undone = await rollback(ctx, imported.migrationId);
    expect(undone.reversed).toBe(Number(counts?.openings) + Number(counts?.changes));
    const [left] = await sql<{ balance: string; nonzero: string }>(
      h.saldo.url,
      `SELECT coalesce(sum(credits_posted - debits_posted), 0)::text AS balance,
              count(*) FILTER (WHERE credits_posted <> debits_posted)::text AS nonzero
         FROM ledger.accounts WHERE tenant_id = $1 AND type = 'wallet'`,
      [tenant],
    );
    expect(left).toEqual({ balance: '0', nonzero: '0' });
    const [guard] = await sql<{ state: string }>(
      h.saldo.url,
      'SELECT state FROM aggregator.tenant_migrations WHERE tenant_id = $1',
      [tenant],
    );
    expect(guard?.state).toBe('rolled_back');
    await expect(cutover(ctx, imported.migrationId)).rejects.toThrow(MigrationRefused);
    expect((await ledgerVerify(h.saldo.url)).code).toBe(0);
  });

  it('cuts over: freezes the legacy writers, catches up, verifies, opens the tenant; no way back after', async () => {
    const tenant = tenantId('cut');
    const ctx = await h.context({ pageSize: 100 });
    await h.simulator.setFreeze(false);
    const writes = new AbortController();
    const workload = h.simulator.run({ ratePerSecond: 20, signal: writes.signal, seed: 11 });
    let imported: Awaited<ReturnType<typeof runImport>>;
    let done: Awaited<ReturnType<typeof cutover>>;
    let cursorAtCutover: bigint;
    try {
      imported = await runImport(ctx, tenant);
      done = await cutover(ctx, imported.migrationId);
      cursorAtCutover = (await h.simulator.totals()).cursor;
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      writes.abort();
    }
    const stats = await workload;
    expect(stats.refused).toBeGreaterThan(0); // the frozen legacy system refused its writers
    expect((await h.simulator.totals()).cursor).toBe(cursorAtCutover);
    expect(done.verify.differences).toBe(0);
    expect(done.cursor).toBe(cursorAtCutover.toString());
    const [guard] = await sql<{ state: string }>(
      h.saldo.url,
      'SELECT state FROM aggregator.tenant_migrations WHERE tenant_id = $1',
      [tenant],
    );
    expect(guard?.state).toBe('cut_over');
    await expect(rollback(ctx, imported.migrationId)).rejects.toThrow(/no way back/);
    await h.simulator.setFreeze(false);
  });

  it('reads a CSV export through the same source interface', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'saldo-migrator-csv-'));
    await writeFile(
      path.join(dir, 'wallets.csv'),
      'id,owner,currency,model,parent,overdraft\n1,"acme, inc",USD,E,,0\n2,bob,USD,M,1,0\n3,carol,USD,P,,0\n4,dave,XXX,P,,0\n',
    );
    await writeFile(
      path.join(dir, 'changes.csv'),
      'id,wallet,kind,amount,balance_after,at,counterparty\n1,1,OPEN,50000,50000,2026-01-01T00:00:00Z,\n2,3,OPEN,100,100,2026-01-01T00:00:00Z,\n3,1,USAGE,-10000,40000,2026-01-02T00:00:00Z,2\n',
    );
    const source = new CsvSource(dir);
    await source.connect();
    const report = await plan('csv', source, SIMULATOR_MAPPING, {
      pageSize: 2,
      concurrency: 1,
      ratePerSecond: 0,
      quiet: true,
    });
    expect(report.cursor).toBe('3');
    expect(report.wallets).toEqual({ total: 4, mapped: 3, unmappable: 1, openedAfterCursor: 0 });
    expect(report.totals).toEqual([{ currency: 'USD', wallets: 3, balanceMinor: '401', postings: 2 }]);
    expect(report.unmappable.records[0]).toMatchObject({ legacyId: '4', kind: 'unsupported_currency' });
    expect(await source.balancesAt(['1'], 2n)).toEqual(new Map([['1', { exists: true, balance: '50000' }]]));
  });
});
