import { Firestore as ServerFirestore } from '@google-cloud/firestore';
import { createTestDatabase, type TestDatabase } from '@saldo/test-support';
import { deleteApp, initializeApp, type FirebaseApp } from 'firebase/app';
import {
  collection,
  connectFirestoreEmulator,
  doc,
  getDoc,
  getDocs,
  getFirestore,
  onSnapshot,
  query,
  where,
  type DocumentData,
  type Firestore,
} from 'firebase/firestore';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import { Registry } from 'prom-client';
import { LedgerFixture } from '../outbox/testing/ledger-fixtures';
import { silentLogger } from '../outbox/testing/relay-harness';
import { FirestoreMirror } from './firestore-mirror';
import { MirrorMetrics } from './mirror-metrics';
import { MirrorWorker } from './mirror-worker';

jest.setTimeout(120_000);

/**
 * What an app sees: the Firebase JS client SDK (`firebase`, the package apps use) against the
 * emulator with firestore.rules loaded, reading wallets that the real mirror worker writes from
 * the ledger. Emulator auth tokens (`mockUserToken`) carry the uid and the custom claims a tenant's
 * backend would mint (docs/events.md, "Who may read").
 */
const [emulatorHost, emulatorPort] = (process.env['FIRESTORE_EMULATOR_HOST'] ?? '').split(':');
const projectId = `saldo-sdk-${randomUUID().slice(0, 8)}`;

type Token = { user_id: string } & Record<string, unknown>;

describe('Firestore read views through the Firebase JS SDK, under firestore.rules (emulator)', () => {
  let database: TestDatabase;
  let pool: Pool;
  let server: ServerFirestore;
  let worker: MirrorWorker;
  let ledger: LedgerFixture;
  const apps: FirebaseApp[] = [];

  function client(token: Token | undefined): Firestore {
    const app = initializeApp({ projectId, apiKey: 'emulator' }, `app-${apps.length}`);
    apps.push(app);
    const db = getFirestore(app);
    connectFirestoreEmulator(db, emulatorHost!, Number(emulatorPort), token ? { mockUserToken: token } : {});
    return db;
  }

  async function mirrorNow(): Promise<void> {
    // The worker spaces writes of one wallet by minIntervalMs; a test need not wait for that.
    await pool.query(`UPDATE ledger.mirror_state SET next_attempt_at = '-infinity'`);
    await worker.runOnce();
  }

  async function readable(db: Firestore, walletId: string): Promise<'allowed' | 'denied'> {
    try {
      await getDoc(doc(db, 'wallets', walletId));
      return 'allowed';
    } catch (error) {
      if ((error as { code?: string }).code === 'permission-denied') return 'denied';
      throw error;
    }
  }

  beforeAll(async () => {
    const rules = readFileSync(path.resolve(__dirname, '../../../../firestore.rules'), 'utf8');
    const loaded = await fetch(
      `http://${emulatorHost}:${emulatorPort}/emulator/v1/projects/${projectId}:securityRules`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rules: { files: [{ name: 'firestore.rules', content: rules }] } }),
      },
    );
    expect(loaded.status).toBe(200);
    database = await createTestDatabase('firestore sdk');
    pool = new Pool({ connectionString: database.url, max: 8 });
    pool.on('error', () => undefined);
    server = new ServerFirestore({ projectId });
    worker = new MirrorWorker({
      pool,
      mirror: new FirestoreMirror(server, 20),
      logger: silentLogger,
      metrics: new MirrorMetrics(new Registry()),
      batchSize: 100,
      minIntervalMs: 1_000,
      pollIntervalMs: 50,
      leaseMs: 30_000,
      retryBaseMs: 50,
      retryMaxMs: 1_000,
      backlogSampleMs: 60_000,
    });
    ledger = new LedgerFixture(pool, `tenant-${randomUUID().slice(0, 8)}`);
    await ledger.defineAsset();
  });

  afterAll(async () => {
    for (const app of apps) await deleteApp(app);
    await server?.terminate();
    await pool?.end();
    await database?.drop();
  });

  it("streams the owner's wallet in real time; a stranger, an anonymous caller and another tenant's user are refused", async () => {
    const walletId = `alice-${ledger.tenant}`;
    const account = await ledger.openWallet({ walletId, ownerType: 'personal', ownerId: 'alice' });
    await ledger.topUp(account, 10_000);
    await mirrorNow();

    const alice = client({ user_id: 'alice', tenantId: ledger.tenant });
    const seen: DocumentData[] = [];
    const unsubscribe = onSnapshot(doc(alice, 'wallets', walletId), (snapshot) => {
      if (snapshot.exists()) seen.push(snapshot.data());
    });
    try {
      await waitFor(() => seen.some((d) => d['version'] === 1), 'the first version');
      expect(seen.at(-1)).toMatchObject({
        tenantId: ledger.tenant,
        ownerId: 'alice',
        availableBalance: '10000',
      });

      // A usage in the ledger reaches the open listener without the app asking again.
      await ledger.usage(account, 2_500);
      await mirrorNow();
      await waitFor(() => seen.some((d) => d['version'] === 2), 'the usage to arrive live');
      const latest = seen.at(-1)!;
      expect(latest['availableBalance']).toBe('7500');
      expect((latest['recentTransactions'] as DocumentData[]).map((t) => t['postedDelta'])).toEqual([
        '-2500',
        '10000',
      ]);
      // Lists need the tenant and owner filters the rules check.
      const mine = await getDocs(
        query(
          collection(alice, 'wallets'),
          where('tenantId', '==', ledger.tenant),
          where('ownerId', '==', 'alice'),
        ),
      );
      expect(mine.docs.map((d) => d.id)).toEqual([walletId]);
    } finally {
      unsubscribe();
    }

    expect(await readable(client({ user_id: 'mallory', tenantId: ledger.tenant }), walletId)).toBe('denied');
    expect(await readable(client(undefined), walletId)).toBe('denied');
    // The same uid in another tenant (owner ids are each tenant's own strings): refused.
    expect(await readable(client({ user_id: 'alice', tenantId: 'another-tenant' }), walletId)).toBe('denied');
    expect(await readable(client({ user_id: 'alice' }), walletId)).toBe('denied'); // no tenant claim
    // A refused listener is told so, and gets nothing.
    const refused = await new Promise<string>((resolve) => {
      const stranger = client({ user_id: 'mallory', tenantId: ledger.tenant });
      onSnapshot(
        doc(stranger, 'wallets', walletId),
        () => resolve('data'),
        (error) => resolve(error.code),
      );
    });
    expect(refused).toBe('permission-denied');
  });

  it('lets a member read their wallet under the organisation and the org admin read it too; not another member', async () => {
    const orgWalletId = `org-${ledger.tenant}`;
    const org = await ledger.openWallet({ walletId: orgWalletId, ownerType: 'enterprise', ownerId: 'org-1' });
    const memberWalletId = `erin-${ledger.tenant}`;
    const member = await ledger.openWallet({
      walletId: memberWalletId,
      ownerType: 'personal',
      ownerId: 'erin',
      parentOwnerId: 'org-1',
    });
    await ledger.topUp(org, 50_000);
    await ledger.topUp(member, 1_000);
    await mirrorNow();

    const erin = client({ user_id: 'erin', tenantId: ledger.tenant });
    const admin = client({
      user_id: 'carol',
      tenantId: ledger.tenant,
      saldo_org: 'org-1',
      saldo_org_admin: true,
    });
    const frank = client({ user_id: 'frank', tenantId: ledger.tenant, saldo_org: 'org-1' }); // another member
    const foreignAdmin = client({
      user_id: 'dave',
      tenantId: 'another-tenant',
      saldo_org: 'org-1',
      saldo_org_admin: true,
    });

    expect((await getDoc(doc(erin, 'wallets', memberWalletId))).get('availableBalance')).toBe('1000');
    expect((await getDoc(doc(admin, 'wallets', memberWalletId))).get('ownerId')).toBe('erin');
    expect((await getDoc(doc(admin, 'wallets', orgWalletId))).get('availableBalance')).toBe('50000');
    const underOrg = await getDocs(
      query(
        collection(admin, 'wallets'),
        where('tenantId', '==', ledger.tenant),
        where('parentOwnerId', '==', 'org-1'),
      ),
    );
    expect(underOrg.docs.map((d) => d.id)).toEqual([memberWalletId]);
    expect(await readable(erin, orgWalletId)).toBe('denied');
    expect(await readable(frank, memberWalletId)).toBe('denied');
    expect(await readable(foreignAdmin, memberWalletId)).toBe('denied');
  });
});

async function waitFor(predicate: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
