import { Firestore } from '@google-cloud/firestore';
import { FAST_RECONNECT_GRPC_OPTIONS } from '@saldo/resilience';
import {
  createTestDatabase,
  startFirestoreEmulator,
  type TestDatabase,
  type TestEmulator,
} from '@saldo/test-support';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { Registry } from 'prom-client';
import { LedgerFixture } from '../outbox/testing/ledger-fixtures';
import { silentLogger } from '../outbox/testing/relay-harness';
import { FirestoreMirror, MIRROR_MARKER_PATH, WALLETS_COLLECTION } from './firestore-mirror';
import { MirrorMetrics } from './mirror-metrics';
import { MirrorWorker } from './mirror-worker';

jest.setTimeout(240_000);

/**
 * Issue 12: after a restart of the Firestore emulator every document is gone while mirror_state
 * believes them mirrored. The worker notices the missing marker, re-mirrors every wallet and
 * reports itself as catching up until it has. An emulator of its own: this spec restarts it.
 */
describe('mirror into a fresh Firestore (own emulator, restarted)', () => {
  let emulator: TestEmulator;
  let database: TestDatabase;
  let pool: Pool;
  let firestore: Firestore;
  const savedHost = process.env['FIRESTORE_EMULATOR_HOST'];

  beforeAll(async () => {
    [emulator, database] = await Promise.all([startFirestoreEmulator(), createTestDatabase('mirror fresh')]);
    // The client prefers this variable over its own host setting.
    process.env['FIRESTORE_EMULATOR_HOST'] = emulator.host;
    pool = new Pool({ connectionString: database.url, max: 8 });
    pool.on('error', () => undefined);
    firestore = new Firestore({ projectId: emulator.projectId, ...FAST_RECONNECT_GRPC_OPTIONS });
  });

  afterAll(async () => {
    await firestore?.terminate();
    await pool?.end();
    await database?.drop();
    await emulator?.stop();
    if (savedHost === undefined) delete process.env['FIRESTORE_EMULATOR_HOST'];
    else process.env['FIRESTORE_EMULATOR_HOST'] = savedHost;
  });

  async function mirroredVersions(walletIds: readonly string[]): Promise<Array<number | undefined>> {
    const docs = await firestore.getAll(
      ...walletIds.map((id) => firestore.collection(WALLETS_COLLECTION).doc(id)),
    );
    return docs.map((d) => (d.exists ? (d.get('version') as number) : undefined));
  }

  async function waitFor<T>(
    probe: () => Promise<T | undefined>,
    what: string,
    timeoutMs: number,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe().catch(() => undefined); // the emulator may still be coming back
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('re-mirrors every wallet after the emulator restarts empty, reporting "catching up" until done', async () => {
    const ledger = new LedgerFixture(pool, `tenant-${randomUUID().slice(0, 8)}`);
    await ledger.defineAsset();
    const walletIds: string[] = [];
    const versions: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      const walletId = `w${i}-${ledger.tenant}`;
      const account = await ledger.openWallet({ walletId, ownerId: `uid-${i}` });
      await ledger.topUp(account, 1_000 + i);
      if (i % 3 === 0) await ledger.usage(account, 10);
      walletIds.push(walletId);
      versions.push(i % 3 === 0 ? 2 : 1);
    }
    const worker = new MirrorWorker({
      pool,
      mirror: new FirestoreMirror(firestore, 20),
      logger: silentLogger,
      metrics: new MirrorMetrics(new Registry()),
      batchSize: 100,
      minIntervalMs: 1_000,
      pollIntervalMs: 50,
      leaseMs: 30_000,
      retryBaseMs: 50,
      retryMaxMs: 500,
      backlogSampleMs: 60_000,
      markerCheckMs: 300,
    });
    worker.start();
    try {
      const equal = async () =>
        JSON.stringify(await mirroredVersions(walletIds)) === JSON.stringify(versions) ? true : undefined;
      await waitFor(equal, 'the first mirroring', 60_000);
      expect((await firestore.doc(MIRROR_MARKER_PATH).get()).exists).toBe(true);
      await waitFor(async () => (worker.getStatus().catchingUp ? undefined : true), 'caught up', 30_000);

      const port = Number(emulator.host.split(':')[1]);
      await emulator.stop();
      emulator = await startFirestoreEmulator({ projectId: emulator.projectId, port });
      const backAt = Date.now();
      // The worker finds the marker gone and says so until every wallet is back.
      const seen = await waitFor(
        async () => worker.getStatus().catchingUp,
        'the worker to notice the empty Firestore',
        60_000,
      );
      expect(seen.walletsLeft).toBeGreaterThanOrEqual(walletIds.length);
      await waitFor(equal, 'every wallet re-mirrored', 60_000);
      await waitFor(
        async () => (worker.getStatus().catchingUp ? undefined : true),
        'caught up again',
        30_000,
      );
      process.stdout.write(`mirror: fresh Firestore rebuilt ${Date.now() - backAt} ms after it answered\n`);
      const doc = await firestore.collection(WALLETS_COLLECTION).doc(walletIds[3]!).get();
      expect(doc.get('availableBalance')).toBe('993');
      expect((doc.get('recentTransactions') as unknown[]).length).toBe(2);
    } finally {
      await worker.stop();
    }
  });
});
