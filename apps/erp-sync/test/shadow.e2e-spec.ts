// Shadow balance end to end: gRPC TopUp from an ERP document → aggregator → ledger → outbox relay →
// Pub/Sub → the erp-sync process (watches the document) → the NetSuite stand-in (SuiteQL status)
// → aggregator ResolveErpDocument (confirm, or reverse through the ledger). Webhooks are signed.
// The app's view, the ledger's Firestore mirror, shows confirmed and shadow balance apart too.
import { Firestore } from '@google-cloud/firestore';
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
import { startStandins, type RunningStandins } from '@saldo/vendor-standins';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { tenantsConfig } from './event-fixtures';
import { cliAsync, ROOT } from './sync-harness';

jest.setTimeout(120_000);

const TENANT = `shadow-${randomBytes(3).toString('hex')}`;
const API_KEY = `key-${randomBytes(16).toString('hex')}`;
const ERP_SYNC_KEY = `erp-${randomBytes(16).toString('hex')}`;
const WEBHOOK_SECRET = randomBytes(24).toString('base64');
const ZENDESK_SECRET = randomBytes(24).toString('base64');
const run = randomBytes(3).toString('hex');
const INVOICE = `INV-${run}-1`;
const SALES_ORDER = `SO-${run}-2`;
const SPENT_INVOICE = `INV-${run}-3`;

let emulator: TestEmulator | undefined;
let pubsubEnv: Record<string, string>;
let database: TestDatabase;
let standins: RunningStandins;
let ledger: ServiceProcess;
let aggregator: ServiceProcess;
let erpSync: ChildProcess | undefined;
let erpEnv: Record<string, string>;
let webhookUrl = '';
let httpUrl = '';
let api: Api;
let firestore: Firestore;

async function sql<T = Record<string, string>>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new PgClient({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

function call(
  method: string,
  request: Record<string, unknown>,
  apiKey = API_KEY,
): Promise<Record<string, string>> {
  return api.call(method, request, apiKey);
}
const key = () => randomUUID();

async function startErpSync(extra: Record<string, string>): Promise<void> {
  const port = await freePort();
  const webhookPort = await freePort();
  const dir = path.join(
    ROOT,
    'tmp',
    process.env['SALDO_TEST_RUN_ID'] ? `test-run-${process.env['SALDO_TEST_RUN_ID']}` : 'test-services',
    'services',
  );
  mkdirSync(dir, { recursive: true });
  const log = createWriteStream(path.join(dir, `erp-sync-shadow-${Date.now()}.log`));
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/out-tsc/apps/erp-sync/src/main.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...erpEnv,
      ...extra,
      ERP_SYNC_HTTP_PORT: String(port),
      ERP_SYNC_WEBHOOK_PORT: String(webhookPort),
      ERP_SYNC_WEBHOOK_HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  erpSync = child;
  httpUrl = `http://127.0.0.1:${port}`;
  webhookUrl = `http://127.0.0.1:${webhookPort}/webhooks/erp/documents`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`erp-sync exited with ${child.exitCode}`);
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return res?.status === 200;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: 'erp-sync ready' },
  );
}

async function stopErpSync(): Promise<void> {
  const child = erpSync;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await gone;
}

beforeAll(async () => {
  if (!process.env['FIRESTORE_EMULATOR_HOST'])
    throw new Error(
      'the Firestore emulator is needed (the mirror is part of this flow): run with `npm test`',
    );
  // The run's shared Pub/Sub emulator when there is one (topics here are unique), else a private one.
  const sharedHost = process.env['PUBSUB_EMULATOR_HOST'];
  if (sharedHost) {
    pubsubEnv = {
      PUBSUB_EMULATOR_HOST: sharedHost,
      GOOGLE_CLOUD_PROJECT: process.env['GOOGLE_CLOUD_PROJECT'] ?? 'saldo-test',
    };
    [database, standins] = await Promise.all([
      createTestDatabase('erp_shadow'),
      startStandins({ netsuiteConcurrency: 5 }),
    ]);
  } else {
    [emulator, database, standins] = await Promise.all([
      startPubSubEmulator(),
      createTestDatabase('erp_shadow'),
      startStandins({ netsuiteConcurrency: 5 }),
    ]);
    pubsubEnv = { ...emulator.env, GOOGLE_CLOUD_PROJECT: emulator.projectId };
  }
  const topic = `ledger-events-${randomBytes(3).toString('hex')}`;
  const aggregatorTarget = `127.0.0.1:${await freePort()}`;
  erpEnv = {
    ...pubsubEnv,
    ...standins.env,
    DATABASE_URL: database.url,
    LEDGER_EVENTS_TOPIC: topic,
    ERP_SYNC_SUBSCRIPTION: `${topic}-erp-sync`,
    ERP_SYNC_ACK_DEADLINE_S: '10',
    ERP_SYNC_TENANTS_JSON: JSON.stringify(tenantsConfig(TENANT, { threshold: '100000', crm: false })),
    ERP_SYNC_SUMMARY_DELAY_MS: '500',
    ERP_SYNC_POLL_INTERVAL_MS: '200',
    ERP_SYNC_AGGREGATOR_TARGET: aggregatorTarget,
    ERP_SYNC_AGGREGATOR_API_KEYS: `${TENANT}=${ERP_SYNC_KEY}`,
    ERP_SYNC_WEBHOOK_SECRET: WEBHOOK_SECRET,
    ZENDESK_ENABLED: 'false',
    ACTIVECAMPAIGN_ENABLED: 'false',
    LOG_LEVEL: 'info',
  };
  // erp-sync first: its subscription must exist before the first event is published.
  await startErpSync({ ERP_SYNC_SHADOW_POLL_INTERVAL_MS: '500' });
  const ledgerTarget = `127.0.0.1:${await freePort()}`;
  ledger = (
    await startLedger(database.url, {
      at: ledgerTarget,
      env: {
        ...pubsubEnv,
        LEDGER_EVENTS_TOPIC: topic,
        LEDGER_MIRROR_ENABLED: 'true',
        LEDGER_MIRROR_MIN_INTERVAL_MS: '100',
        LEDGER_OUTBOX_POLL_INTERVAL_MS: '50',
        LEDGER_OUTBOX_RELAY_ENABLED: 'true',
      },
    })
  ).process;
  aggregator = (
    await startAggregator(
      aggregatorEnv(database.url, ledgerTarget, {
        // erp-sync's key may resolve ERP documents (scoped keys, issue 11 #8).
        SALDO_API_KEYS: `${TENANT}=${API_KEY},${TENANT}=${ERP_SYNC_KEY};scopes=erp:resolve`,
      }),
      { at: aggregatorTarget },
    )
  ).process;
  api = new Api(aggregatorTarget, API_KEY);
  firestore = new Firestore({ projectId: pubsubEnv['GOOGLE_CLOUD_PROJECT'] });
}, 110_000);

afterAll(async () => {
  api?.close();
  await firestore?.terminate();
  await stopErpSync();
  await Promise.all([aggregator?.stop(), ledger?.stop()]);
  await Promise.all([standins?.stop(), emulator?.stop()]);
  await database?.drop();
});

/** Waits until the wallet's Firestore document shows these balances (the mirror follows within seconds). */
async function mirrored(walletId: string, want: { posted: string; confirmed: string; shadow: string }) {
  let seen: Record<string, unknown> | undefined;
  await waitFor(
    async () => {
      const doc = await firestore.collection('wallets').doc(walletId).get();
      seen = {
        posted: doc.get('postedBalance'),
        confirmed: doc.get('confirmedBalance'),
        shadow: doc.get('shadowBalance'),
      };
      return JSON.stringify(seen) === JSON.stringify(want);
    },
    {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: `Firestore wallets/${walletId} = ${JSON.stringify(want)} (last ${JSON.stringify(seen)})`,
    },
  );
}

const balances = async (walletId: string) => {
  const w = await call('GetWallet', { walletId });
  return { posted: w['postedBalance'], confirmed: w['confirmedBalance'], shadow: w['shadowBalance'] };
};

function signed(body: string, secret = WEBHOOK_SECRET): Record<string, string> {
  const timestamp = new Date().toISOString();
  const signature = createHmac('sha256', secret)
    .update(timestamp + body)
    .digest('base64');
  return {
    'content-type': 'application/json',
    'x-saldo-webhook-signature': signature,
    'x-saldo-webhook-signature-timestamp': timestamp,
  };
}

async function webhook(
  documentId: string,
  secret = WEBHOOK_SECRET,
): Promise<{ status: number; body: Record<string, string> }> {
  const body = JSON.stringify({ tenant: TENANT, documentId });
  const res = await fetch(webhookUrl, { method: 'POST', headers: signed(body, secret), body });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

const watched = (documentId: string) =>
  waitFor(
    async () =>
      (
        await sql(`SELECT state FROM erp_sync.erp_documents WHERE tenant_id = $1 AND document_id = $2`, [
          TENANT,
          documentId,
        ])
      )[0],
    {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: `erp-sync watching ${documentId}`,
    },
  );

async function reversalsOf(transactionId: string): Promise<number> {
  const [row] = await sql<{ n: string }>(
    `SELECT count(*)::text AS n FROM ledger.transactions WHERE reverses_id = $1`,
    [transactionId],
  );
  return Number(row!.n);
}

describe('shadow balance until the ERP confirms', () => {
  let wallet = '';
  const tx: Record<string, string> = {};

  it('a top-up from an invoice is usable at once and shows as shadow; the ERP confirms it by polling', async () => {
    wallet = (
      await call('OpenWallet', {
        idempotencyKey: key(),
        ownerType: 'ENTERPRISE',
        ownerId: `org-${TENANT}`,
        currency: 'IDR',
      })
    )['walletId']!;
    await call('TopUp', { idempotencyKey: key(), walletId: wallet, amount: '50000', reference: 'pg-1' });
    standins.netsuite.setDocument('CustInvc', INVOICE, 'D'); // pending approval
    const topUpKey = key();
    const topUp = await call('TopUp', {
      idempotencyKey: topUpKey,
      walletId: wallet,
      amount: '100000',
      erpDocumentType: 'ERP_DOCUMENT_TYPE_INVOICE',
      erpDocumentId: INVOICE,
    });
    tx['invoice'] = topUp['transactionId']!;
    expect(await balances(wallet)).toEqual({ posted: '150000', confirmed: '50000', shadow: '100000' });
    // Usable at once.
    await call('BookUsage', {
      idempotencyKey: key(),
      walletId: wallet,
      amount: '30000',
      productCode: 'esign.basic',
    });
    expect(await balances(wallet)).toEqual({ posted: '120000', confirmed: '20000', shadow: '100000' });
    await mirrored(wallet, { posted: '120000', confirmed: '20000', shadow: '100000' });
    // A retry of the same top-up replays; another top-up of the same document is refused.
    expect(
      (
        await call('TopUp', {
          idempotencyKey: topUpKey,
          walletId: wallet,
          amount: '100000',
          erpDocumentType: 'ERP_DOCUMENT_TYPE_INVOICE',
          erpDocumentId: INVOICE,
        })
      )['transactionId'],
    ).toBe(tx['invoice']);
    await expect(
      call('TopUp', {
        idempotencyKey: key(),
        walletId: wallet,
        amount: '999',
        erpDocumentType: 'ERP_DOCUMENT_TYPE_INVOICE',
        erpDocumentId: INVOICE,
      }),
    ).rejects.toMatchObject({
      code: 9, // FAILED_PRECONDITION
      message: expect.stringContaining(`document ${INVOICE} already topped up`),
    });
    expect((await balances(wallet)).posted).toBe('120000');

    expect(await watched(INVOICE)).toEqual({ state: 'watching' });
    standins.netsuite.setDocument('CustInvc', INVOICE, 'A'); // approved (Open)
    await waitFor(async () => (await balances(wallet)).shadow === '0', {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: 'invoice confirmed',
    });
    expect(await balances(wallet)).toEqual({ posted: '120000', confirmed: '120000', shadow: '0' });
    // The confirmation moved no money, yet the app sees it: the mirror rewrote the wallet and the top-up.
    await mirrored(wallet, { posted: '120000', confirmed: '120000', shadow: '0' });
    const recent = (await firestore.doc(`wallets/${wallet}`).get()).get('recentTransactions') as Array<
      Record<string, unknown>
    >;
    expect(recent.find((t) => t['transactionId'] === tx['invoice'])?.['shadowState']).toBe('confirmed');
    const [doc] = await sql(
      `SELECT state, erp_status FROM erp_sync.erp_documents WHERE tenant_id = $1 AND document_id = $2`,
      [TENANT, INVOICE],
    );
    expect(doc).toEqual({ state: 'confirmed', erp_status: 'A' });
  });

  it('a webhook with a bad signature changes nothing; a cancelled sales order is reversed exactly once', async () => {
    // From here only webhooks make erp-sync look (the poll loop runs once at start, then hourly).
    await stopErpSync();
    await startErpSync({
      ERP_SYNC_SHADOW_POLL_INTERVAL_MS: '3600000',
      ZENDESK_WEBHOOK_SECRET: ZENDESK_SECRET,
    });
    standins.netsuite.setDocument('SalesOrd', SALES_ORDER, 'A');
    const topUp = await call('TopUp', {
      idempotencyKey: key(),
      walletId: wallet,
      amount: '40000',
      erpDocumentType: 'ERP_DOCUMENT_TYPE_SALES_ORDER',
      erpDocumentId: SALES_ORDER,
    });
    tx['order'] = topUp['transactionId']!;
    expect(await balances(wallet)).toEqual({ posted: '160000', confirmed: '120000', shadow: '40000' });
    await watched(SALES_ORDER);
    standins.netsuite.setDocument('SalesOrd', SALES_ORDER, 'C'); // cancelled

    const forged = await webhook(SALES_ORDER, 'not-the-secret-but-long-enough');
    expect(forged.status).toBe(401);
    const stale = JSON.stringify({ tenant: TENANT, documentId: SALES_ORDER });
    const old = new Date(Date.now() - 3_600_000).toISOString();
    const replayed = await fetch(webhookUrl, {
      method: 'POST',
      headers: {
        'x-saldo-webhook-signature': createHmac('sha256', WEBHOOK_SECRET)
          .update(old + stale)
          .digest('base64'),
        'x-saldo-webhook-signature-timestamp': old,
      },
      body: stale,
    });
    expect(replayed.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await balances(wallet)).toEqual({ posted: '160000', confirmed: '120000', shadow: '40000' });
    expect(await reversalsOf(tx['order']!)).toBe(0);
    expect(
      (
        await sql(
          `SELECT state, polls FROM erp_sync.erp_documents WHERE tenant_id = $1 AND document_id = $2`,
          [TENANT, SALES_ORDER],
        )
      )[0],
    ).toEqual({ state: 'watching', polls: 0 });

    const first = await webhook(SALES_ORDER);
    expect(first).toEqual({
      status: 202,
      body: { documentId: SALES_ORDER, state: 'rejected', erpStatus: 'C' },
    });
    expect(await balances(wallet)).toEqual({ posted: '120000', confirmed: '120000', shadow: '0' });
    // The same webhook again, and the verdict straight to the aggregator again: still one reversal.
    expect((await webhook(SALES_ORDER)).body['state']).toBe('rejected');
    const again = await call(
      'ResolveErpDocument',
      { erpDocumentId: SALES_ORDER, outcome: 'ERP_DOCUMENT_OUTCOME_REJECTED', reason: 'again' },
      ERP_SYNC_KEY,
    );
    expect(again).toMatchObject({ state: 'ERP_DOCUMENT_STATE_REJECTED', transactionId: tx['order'] });
    expect(await reversalsOf(tx['order']!)).toBe(1);
    expect(again['reversalTransactionId']).toBeTruthy();
    expect(await balances(wallet)).toEqual({ posted: '120000', confirmed: '120000', shadow: '0' });

    // Zendesk's webhooks go through the same verifier, with Zendesk's headers.
    const zendeskUrl = webhookUrl.replace('/webhooks/erp/documents', '/webhooks/zendesk');
    const event = JSON.stringify({ type: 'zen:event-type:user.updated', detail: { id: '1' } });
    const at = new Date().toISOString();
    const zendesk = (secret: string) =>
      fetch(zendeskUrl, {
        method: 'POST',
        headers: {
          'x-zendesk-webhook-signature': createHmac('sha256', secret)
            .update(at + event)
            .digest('base64'),
          'x-zendesk-webhook-signature-timestamp': at,
        },
        body: event,
      });
    expect((await zendesk(ZENDESK_SECRET)).status).toBe(204);
    expect((await zendesk(WEBHOOK_SECRET)).status).toBe(401);
  });

  it('a rejected document whose money was spent is left for an operator, not retried', async () => {
    const personal = (
      await call('OpenWallet', {
        idempotencyKey: key(),
        ownerType: 'PERSONAL',
        ownerId: `p-${TENANT}`,
        currency: 'IDR',
      })
    )['walletId']!;
    standins.netsuite.setDocument('CustInvc', SPENT_INVOICE, 'D');
    const topUp = await call('TopUp', {
      idempotencyKey: key(),
      walletId: personal,
      amount: '10000',
      erpDocumentType: 'ERP_DOCUMENT_TYPE_INVOICE',
      erpDocumentId: SPENT_INVOICE,
    });
    await call('BookUsage', {
      idempotencyKey: key(),
      walletId: personal,
      amount: '8000',
      productCode: 'esign.basic',
    });
    expect(await balances(personal)).toEqual({ posted: '2000', confirmed: '0', shadow: '2000' });
    await watched(SPENT_INVOICE);
    standins.netsuite.setDocument('CustInvc', SPENT_INVOICE, 'E'); // rejected
    const answer = await webhook(SPENT_INVOICE);
    expect(answer).toMatchObject({ status: 202, body: { state: 'rejected_unrecoverable' } });
    expect((await webhook(SPENT_INVOICE)).body['state']).toBe('rejected_unrecoverable');
    expect(await reversalsOf(topUp['transactionId']!)).toBe(0);
    const [row] = await sql(
      `SELECT state, reason FROM aggregator.shadow_topups WHERE tenant_id = $1 AND document_id = $2`,
      [TENANT, SPENT_INVOICE],
    );
    expect(row!['state']).toBe('rejected_unrecoverable');
    expect(row!['reason']).toMatch(/INSUFFICIENT_FUNDS/);
    expect(await balances(personal)).toEqual({ posted: '2000', confirmed: '0', shadow: '2000' });
    await mirrored(personal, { posted: '2000', confirmed: '0', shadow: '2000' });
    // The operator sees it: readiness degraded (still ready), and a metric.
    const ready = await fetch(`${httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.stringify(await ready.json())).toContain('1 rejected but not reversible');
    expect(await (await fetch(`${httpUrl}/metrics`)).text()).toMatch(
      /saldo_erp_sync_shadow_documents\{[^}]*state="rejected_unrecoverable"[^}]*\} 1/,
    );

    // The operator's two ways out, through erp-sync's CLI (which keeps its own record in step).
    // A write-off needs a reason, and only such a document can be written off (checked by the API too).
    const resolve = (documentId: string, outcome: string, reason = '') =>
      call('ResolveErpDocument', { erpDocumentId: documentId, outcome, reason }, ERP_SYNC_KEY);
    await expect(resolve(SPENT_INVOICE, 'ERP_DOCUMENT_OUTCOME_WRITTEN_OFF')).rejects.toMatchObject({
      code: 3, // INVALID_ARGUMENT
      message: expect.stringContaining('reason'),
    });
    await expect(resolve(INVOICE, 'ERP_DOCUMENT_OUTCOME_WRITTEN_OFF', 'nope')).rejects.toMatchObject({
      code: 9, // FAILED_PRECONDITION
      message: expect.stringContaining('is confirmed'),
    });
    const stillSpent = await cliAsync(
      ['documents', 'retry-reversal', '--tenant', TENANT, SPENT_INVOICE],
      erpEnv,
    );
    expect(stillSpent).toMatchObject({ code: 1, stdout: expect.stringContaining('rejected_unrecoverable') });
    expect(await reversalsOf(topUp['transactionId']!)).toBe(0);
    // Once the customer has money again, the retry reverses the top-up, once.
    await call('TopUp', { idempotencyKey: key(), walletId: personal, amount: '9000', reference: 'pg-9' });
    const retried = await cliAsync(
      ['documents', 'retry-reversal', '--tenant', TENANT, SPENT_INVOICE],
      erpEnv,
    );
    expect(retried).toMatchObject({ code: 0, stdout: expect.stringContaining(`${SPENT_INVOICE}: rejected`) });
    expect(await resolve(SPENT_INVOICE, 'ERP_DOCUMENT_OUTCOME_REJECTED', 'again')).toMatchObject({
      state: 'ERP_DOCUMENT_STATE_REJECTED',
    });
    expect(await reversalsOf(topUp['transactionId']!)).toBe(1);
    expect(await balances(personal)).toEqual({ posted: '1000', confirmed: '1000', shadow: '0' });
    expect(JSON.stringify(await (await fetch(`${httpUrl}/readyz`)).json())).toContain(
      '0 rejected but not reversible',
    );

    // Another spent document, written off: the customer keeps the money, it is no longer shadow.
    const lost = `INV-${run}-5`;
    standins.netsuite.setDocument('CustInvc', lost, 'D');
    const lostTopUp = await call('TopUp', {
      idempotencyKey: key(),
      walletId: personal,
      amount: '5000',
      erpDocumentType: 'ERP_DOCUMENT_TYPE_INVOICE',
      erpDocumentId: lost,
    });
    await watched(lost);
    await call('BookUsage', {
      idempotencyKey: key(),
      walletId: personal,
      amount: '5500',
      productCode: 'esign.basic',
    });
    standins.netsuite.setDocument('CustInvc', lost, 'E');
    expect((await webhook(lost)).body['state']).toBe('rejected_unrecoverable');
    expect(await balances(personal)).toEqual({ posted: '500', confirmed: '0', shadow: '500' });
    expect((await cliAsync(['documents', 'write-off', '--tenant', TENANT, lost], erpEnv)).code).toBe(2); // no reason
    const reason = 'customer insolvent; approved by finance (ticket FIN-12)';
    const writtenOff = await cliAsync(
      ['documents', 'write-off', '--tenant', TENANT, lost, '--reason', reason],
      erpEnv,
    );
    expect(writtenOff).toMatchObject({ code: 0, stdout: expect.stringContaining(`${lost}: written_off`) });
    expect(await balances(personal)).toEqual({ posted: '500', confirmed: '500', shadow: '0' });
    await mirrored(personal, { posted: '500', confirmed: '500', shadow: '0' });
    expect(await reversalsOf(lostTopUp['transactionId']!)).toBe(0);
    const [credit] = await sql(`SELECT state, reason FROM ledger.shadow_credits WHERE transaction_id = $1`, [
      lostTopUp['transactionId'],
    ]);
    expect(credit).toEqual({ state: 'confirmed', reason: `ERP document ${lost} written off: ${reason}` });
    const listed = await cliAsync(['documents', 'list', '--state', 'written_off'], erpEnv);
    expect(listed.stdout).toContain(lost);
    expect(listed.stdout).not.toContain(SPENT_INVOICE);
  });

  it("the tenant's own Void of a document top-up ends its shadow", async () => {
    const document = `SO-${run}-4`;
    const topUp = await call('TopUp', {
      idempotencyKey: key(),
      walletId: wallet,
      amount: '7000',
      erpDocumentType: 'ERP_DOCUMENT_TYPE_SALES_ORDER',
      erpDocumentId: document,
    });
    expect(await balances(wallet)).toEqual({ posted: '127000', confirmed: '120000', shadow: '7000' });
    await call('Void', {
      idempotencyKey: key(),
      transactionId: topUp['transactionId'],
      reason: 'entered twice',
    });
    expect(await balances(wallet)).toEqual({ posted: '120000', confirmed: '120000', shadow: '0' });
    const rejected = await call(
      'ResolveErpDocument',
      { erpDocumentId: document, outcome: 'ERP_DOCUMENT_OUTCOME_REJECTED' },
      ERP_SYNC_KEY,
    );
    expect(rejected).toMatchObject({ state: 'ERP_DOCUMENT_STATE_REJECTED', reason: 'entered twice' });
    expect(await reversalsOf(topUp['transactionId']!)).toBe(1);
  });
});
