import { Firestore } from '@google-cloud/firestore';
import { createTestDatabase, type TestDatabase } from '@saldo/test-support';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { Registry } from 'prom-client';
import { LedgerFixture } from '../outbox/testing/ledger-fixtures';
import { silentLogger } from '../outbox/testing/relay-harness';
import { FirestoreMirror, WALLETS_COLLECTION } from './firestore-mirror';
import { MirrorMetrics } from './mirror-metrics';
import { rebuildMirror } from './mirror-rebuild';
import { MirrorWorker } from './mirror-worker';
import { loadWalletSnapshot, loadWalletSnapshots } from './wallet-snapshot';

jest.setTimeout(120_000);

const KEPT = 20;
const CONVERGENCE_LIMIT_MS = 10_000;

type RecentEntry = Record<string, unknown>;

/** The wallet document's recent activity, newest first. */
function recent(doc: { get(field: string): unknown }): RecentEntry[] {
  return (doc.get('recentTransactions') as RecentEntry[] | undefined) ?? [];
}

describe('Firestore mirror (emulator)', () => {
  let database: TestDatabase;
  let pool: Pool;
  const firestores: Firestore[] = [];

  function freshFirestore(): Firestore {
    // A project of its own on the shared emulator: no other suite sees these documents.
    const firestore = new Firestore({ projectId: `saldo-mirror-${randomUUID().slice(0, 8)}` });
    firestores.push(firestore);
    return firestore;
  }

  beforeAll(async () => {
    database = await createTestDatabase('mirror');
    pool = new Pool({ connectionString: database.url, max: 24 });
    // An idle connection ended by the server (e.g. a database being dropped) is not a test failure.
    pool.on('error', () => undefined);
  });

  afterAll(async () => {
    for (const firestore of firestores) await firestore.terminate();
    await pool?.end();
    await database?.drop();
  });

  function worker(mirror: FirestoreMirror, registry = new Registry()) {
    const metrics = new MirrorMetrics(registry);
    return {
      metrics,
      worker: new MirrorWorker({
        pool,
        mirror,
        logger: silentLogger,
        metrics,
        batchSize: 100,
        minIntervalMs: 1_000,
        pollIntervalMs: 50,
        leaseMs: 30_000,
        retryBaseMs: 50,
        retryMaxMs: 1_000,
        backlogSampleMs: 500,
      }),
    };
  }

  /** Lists every difference between the ledger and Firestore for the tenant's wallets; [] when equal. */
  async function differences(firestore: Firestore, tenant: string): Promise<string[]> {
    const problems: string[] = [];
    const wallets = await pool.query<{
      id: string;
      wallet_id: string;
      owner_id: string;
      version: string;
      posted: string;
      pending: string;
    }>(
      `SELECT id, coalesce(nullif(metadata->>'wallet_id', ''), id::text) AS wallet_id,
              coalesce(nullif(metadata->>'owner_id', ''), id::text) AS owner_id, version::text,
              (credits_posted - debits_posted)::text AS posted, debits_pending::text AS pending
         FROM ledger.accounts WHERE tenant_id = $1 AND type = 'wallet'`,
      [tenant],
    );
    for (const w of wallets.rows) {
      const doc = await firestore.collection(WALLETS_COLLECTION).doc(w.wallet_id).get();
      const data = doc.data();
      const want = {
        tenantId: tenant,
        ownerId: w.owner_id,
        currency: 'IDR',
        version: Number(w.version),
        postedBalance: w.posted,
        pendingDebits: w.pending,
        availableBalance: (BigInt(w.posted) - BigInt(w.pending)).toString(),
      };
      const got = data && Object.fromEntries(Object.keys(want).map((k) => [k, data[k]]));
      if (JSON.stringify(got) !== JSON.stringify(want))
        problems.push(`${w.wallet_id}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
      const txs = await pool.query<{ transaction_id: string; v: string; status: string }>(
        `SELECT e.transaction_id, max(e.account_version)::text AS v, t.status
           FROM ledger.entries e JOIN ledger.transactions t ON t.id = e.transaction_id
          WHERE e.account_id = $1 AND e.account_version > $2::bigint - $3
          GROUP BY e.transaction_id, t.status`,
        [w.id, w.version, KEPT],
      );
      const wanted = txs.rows.map((t) => `${t.transaction_id}@${t.v}:${t.status}`).sort();
      const stored = recent(doc)
        .map((t) => `${t['transactionId']}@${t['walletVersion']}:${t['status']}`)
        .sort();
      if (JSON.stringify(stored) !== JSON.stringify(wanted)) {
        problems.push(
          `${w.wallet_id}: transactions differ (${stored.length} stored, ${wanted.length} in the ledger's last ${KEPT})`,
        );
      }
    }
    return problems;
  }

  async function waitUntilEqual(firestore: Firestore, tenant: string, timeoutMs: number): Promise<number> {
    const started = Date.now();
    let last: string[] = [];
    while (Date.now() - started < timeoutMs) {
      last = await differences(firestore, tenant);
      if (last.length === 0) return Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(
      `Firestore still differs from the ledger after ${timeoutMs} ms:\n${last.slice(0, 5).join('\n')}`,
    );
  }

  it(`equals the ledger within ${CONVERGENCE_LIMIT_MS / 1000} s after a burst of 1,000 concurrent actions on hot wallets, writing each hot document about once a second`, async () => {
    const firestore = freshFirestore();
    const ledger = new LedgerFixture(pool, `tenant-${randomUUID().slice(0, 8)}`);
    await ledger.defineAsset();
    const hot: string[] = [];
    for (let i = 0; i < 3; i += 1)
      hot.push(
        await ledger.openWallet({
          walletId: `hot-${i}-${ledger.tenant}`,
          ownerType: 'personal',
          ownerId: `uid-${i}`,
        }),
      );
    const cold = [
      await ledger.openWallet(),
      await ledger.openWallet({ ownerType: 'reseller', ownerId: 'reseller-1' }),
    ];
    for (const w of [...hot, ...cold]) await ledger.topUp(w, 10_000_000);
    const holds = await Promise.all(hot.map((w) => ledger.hold(w, 1_000)));

    const { worker: mirrorWorker, metrics } = worker(new FirestoreMirror(firestore, KEPT));
    mirrorWorker.start();
    try {
      const burstStarted = Date.now();
      await Promise.all(
        Array.from({ length: 1_000 }, (_, i) => {
          const w = hot[i % 3]!;
          switch (i % 4) {
            case 0:
              return ledger.topUp(w, 100 + i);
            case 1:
              return ledger.usage(w, 10 + (i % 50), 3);
            case 2:
              return ledger.transfer(w, hot[(i + 1) % 3]!, 5 + (i % 7));
            default:
              return ledger.usage(cold[i % 2]!, 1 + (i % 5));
          }
        }),
      );
      await ledger.capture(holds[0]!['transaction_id'] as string, 600);
      await ledger.void(holds[1]!['transaction_id'] as string);
      const burstMs = Date.now() - burstStarted;
      const convergedMs = await waitUntilEqual(firestore, ledger.tenant, CONVERGENCE_LIMIT_MS);
      process.stdout.write(
        `mirror: 1,000-action burst took ${burstMs} ms; Firestore equal to the ledger ${convergedMs} ms after it\n`,
      );

      // Coalesced: far fewer document writes than changes (about one per hot wallet per second).
      const writes =
        (await metrics.writes.get()).values.find((v) => v.labels['outcome'] === 'written')?.value ?? 0;
      expect(writes).toBeLessThan(1_000 / 4);
      const lag = await metrics.lagSeconds.get();
      expect(
        lag.values.find((v) => v.metricName === 'saldo_mirror_lag_seconds_count')?.value,
      ).toBeGreaterThan(0);
      // The captured hold shows as posted, the voided one as voided.
      const hotDoc = await firestore.collection(WALLETS_COLLECTION).doc(`hot-0-${ledger.tenant}`).get();
      const held = recent(hotDoc).find((t) => t['transactionId'] === holds[0]!['transaction_id']);
      if (held) expect(held['status']).toBe('posted');
      const coldDoc = await firestore.collection(WALLETS_COLLECTION).doc(cold[1]!).get();
      expect(coldDoc.get('ownerType')).toBe('reseller');
      expect(coldDoc.get('ownerId')).toBe('reseller-1');
    } finally {
      await mirrorWorker.stop();
    }
  });

  it('refuses an out-of-order older update: a newer version is never replaced', async () => {
    const firestore = freshFirestore();
    const mirror = new FirestoreMirror(firestore, KEPT);
    const ledger = new LedgerFixture(pool, `tenant-${randomUUID().slice(0, 8)}`);
    await ledger.defineAsset();
    const w = await ledger.openWallet({ walletId: `w-${ledger.tenant}` });
    await ledger.topUp(w, 5_000);
    const older = (await loadWalletSnapshot(pool, w, KEPT))!;
    await ledger.usage(w, 1_200);
    await ledger.usage(w, 300);
    const newer = (await loadWalletSnapshot(pool, w, KEPT))!;
    expect(await mirror.write(newer)).toEqual({ outcome: 'written', storedVersion: undefined });

    const refused = await mirror.write(older);
    expect(refused).toEqual({ outcome: 'stale', storedVersion: 3, storedShadowRevision: 0 });
    const sameAgain = await mirror.write(newer);
    expect(sameAgain.outcome).toBe('stale'); // the same version is not written twice by the live mirror
    const doc = await mirror.walletRef(`w-${ledger.tenant}`).get();
    expect(doc.get('version')).toBe(3);
    expect(doc.get('postedBalance')).toBe('3500');
    expect(doc.get('availableBalance')).toBe('3500');
    expect(recent(doc).map((t) => t['walletVersion'])).toEqual([3, 2, 1]);
  });

  it('shows confirmed and shadow balance apart, and rewrites the wallet when a confirmation moves no money', async () => {
    const firestore = freshFirestore();
    const mirror = new FirestoreMirror(firestore, KEPT);
    const { worker: mirrorWorker } = worker(mirror);
    const ledger = new LedgerFixture(pool, `tenant-${randomUUID().slice(0, 8)}`);
    await ledger.defineAsset();
    const walletId = `shadow-${ledger.tenant}`;
    const w = await ledger.openWallet({ walletId });
    await ledger.topUp(w, 400);
    const invoice = await ledger.post(
      [
        { system_account: 'cash_clearing', side: 'debit', amount: '1000' },
        { account_id: w, side: 'credit', amount: '1000' },
      ],
      { action: 'TOP_UP', shadow_document_id: `INV-${ledger.tenant}` },
    );
    const invoiceId = invoice['transaction_id'] as string;
    const wallet = () => mirror.walletRef(walletId).get();
    const invoiceEntry = async () => recent(await wallet()).find((t) => t['transactionId'] === invoiceId)!;
    const mirrorDue = async () => {
      // The worker spaces writes of one wallet by minIntervalMs; a test need not wait for that.
      await pool.query(`UPDATE ledger.mirror_state SET next_attempt_at = '-infinity' WHERE account_id = $1`, [
        w,
      ]);
      return mirrorWorker.runOnce();
    };

    expect(await mirrorDue()).toBeGreaterThanOrEqual(1);
    let doc = await wallet();
    expect(doc.get('postedBalance')).toBe('1400');
    expect(doc.get('shadowBalance')).toBe('1000');
    expect(doc.get('confirmedBalance')).toBe('400');
    expect((await invoiceEntry())['shadowState']).toBe('shadow');
    const version = doc.get('version') as number;

    const { rows } = await pool.query(`SELECT ledger.confirm_shadow_credit($1, $2, 'paid') AS r`, [
      ledger.tenant,
      invoiceId,
    ]);
    expect(rows[0].r.state).toBe('confirmed');
    // No new version, yet the wallet is due again, and the worker rewrites it.
    const due = await pool.query(
      `SELECT pending_version = mirrored_version AS same_version, pending_shadow_revision, mirrored_shadow_revision
         FROM ledger.mirror_state WHERE account_id = $1`,
      [w],
    );
    expect(due.rows[0]).toEqual({
      same_version: true,
      pending_shadow_revision: '1',
      mirrored_shadow_revision: '0',
    });
    expect(await mirrorDue()).toBeGreaterThanOrEqual(1);
    doc = await wallet();
    expect(doc.get('version')).toBe(version);
    expect(doc.get('shadowRevision')).toBe(1);
    expect(doc.get('shadowBalance')).toBe('0');
    expect(doc.get('confirmedBalance')).toBe('1400');
    expect((await invoiceEntry())['shadowState']).toBe('confirmed');
    const settled = await pool.query(
      `SELECT mirrored_shadow_revision, pending_since FROM ledger.mirror_state WHERE account_id = $1`,
      [w],
    );
    expect(settled.rows[0]).toEqual({ mirrored_shadow_revision: '1', pending_since: null });

    // A snapshot from before the confirmation (same version, older revision) can never overwrite it.
    const before = {
      ...(await loadWalletSnapshot(pool, w, KEPT))!,
      shadowRevision: 0n,
      shadowBalance: 1000n,
    };
    expect(await mirror.write(before)).toEqual({
      outcome: 'stale',
      storedVersion: version,
      storedShadowRevision: 1,
    });
    expect((await wallet()).get('shadowBalance')).toBe('0');
  });

  it('keeps only the newest transactions of a wallet, inside its document', async () => {
    const firestore = freshFirestore();
    const mirror = new FirestoreMirror(firestore, 5);
    const ledger = new LedgerFixture(pool, `tenant-${randomUUID().slice(0, 8)}`);
    await ledger.defineAsset();
    const w = await ledger.openWallet();
    await ledger.topUp(w, 5_000);
    for (let i = 0; i < 4; i += 1) await ledger.usage(w, 10);
    await mirror.write((await loadWalletSnapshot(pool, w, 5))!);
    for (let i = 0; i < 3; i += 1) await ledger.usage(w, 10);
    await mirror.write((await loadWalletSnapshot(pool, w, 5))!);
    const doc = await mirror.walletRef(w).get();
    expect(recent(doc).map((t) => t['walletVersion'])).toEqual([8, 7, 6, 5, 4]);
    // Recent activity lives in the wallet document: no subcollection is written.
    expect((await mirror.walletRef(w).listCollections()).length).toBe(0);
  });

  it('never lets an older snapshot win a race with a newer one, writing many wallets per batch', async () => {
    const firestore = freshFirestore();
    const writers = [new FirestoreMirror(firestore, KEPT), new FirestoreMirror(firestore, KEPT)];
    const ledger = new LedgerFixture(pool, `tenant-${randomUUID().slice(0, 8)}`);
    await ledger.defineAsset();
    const wallets: string[] = [];
    for (let i = 0; i < 20; i += 1) wallets.push(await ledger.openWallet());
    const older = [...(await loadWalletSnapshots(pool, wallets, KEPT)).values()];
    for (const w of wallets) await ledger.topUp(w, 100);
    const newer = [...(await loadWalletSnapshots(pool, wallets, KEPT)).values()];
    for (let round = 0; round < 5; round += 1) {
      // Both mirrors race on the same documents, in both orders; preconditions settle every race.
      const [a, b] = await Promise.all([
        writers[round % 2]!.writeMany(round % 2 ? older : newer),
        writers[(round + 1) % 2]!.writeMany(round % 2 ? newer : older),
      ]);
      for (const result of [...a, ...b]) expect(result.outcome).not.toBe('failed');
    }
    const docs = await firestore.getAll(...wallets.map((w) => writers[0]!.walletRef(w)));
    expect(docs.map((d) => [d.get('version'), d.get('postedBalance')])).toEqual(
      wallets.map(() => [1, '100']),
    );
  });

  it('rebuilds every wallet from PostgreSQL into an empty project, resumably and idempotently', async () => {
    const ledger = new LedgerFixture(pool, `tenant-${randomUUID().slice(0, 8)}`);
    await ledger.defineAsset();
    for (let i = 0; i < 5; i += 1) {
      const w = await ledger.openWallet({ walletId: `r${i}-${ledger.tenant}`, ownerId: `uid-r${i}` });
      await ledger.topUp(w, 1_000 * (i + 1));
      await ledger.usage(w, 10 * (i + 1));
    }
    const firestore = freshFirestore();
    const mirror = new FirestoreMirror(firestore, KEPT);
    const name = `rebuild-${ledger.tenant}`;
    const allWallets = Number(
      (await pool.query(`SELECT count(*) FROM ledger.accounts WHERE type = 'wallet'`)).rows[0].count,
    );

    // Stops after one page (a crash); the checkpoint says where.
    const partial = await rebuildMirror({
      pool,
      mirror,
      name,
      restart: false,
      pageSize: 2,
      maxPages: 1,
    });
    expect(partial).toMatchObject({ finished: false, written: 2 });
    const checkpoint = (
      await pool.query(`SELECT after_account FROM ledger.mirror_rebuilds WHERE name = $1`, [name])
    ).rows[0];
    expect(checkpoint.after_account).not.toBeNull();

    const resumed = await rebuildMirror({ pool, mirror, name, restart: false, pageSize: 2 });
    expect(resumed.resumedAfter).toBe(checkpoint.after_account);
    expect(resumed).toMatchObject({ finished: true, written: allWallets });
    expect(await differences(firestore, ledger.tenant)).toEqual([]);

    // Again: the same versions are rewritten, nothing changes.
    const again = await rebuildMirror({ pool, mirror, name, restart: false, pageSize: 50 });
    expect(again).toMatchObject({ finished: true, resumedAfter: null, written: allWallets });
    expect(await differences(firestore, ledger.tenant)).toEqual([]);
  });
});
