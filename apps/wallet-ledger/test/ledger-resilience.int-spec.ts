import { status } from '@grpc/grpc-js';
import { ledgerV1 } from '@saldo/proto';
import { createTestDatabase } from '@saldo/test-support';
import { HoldExpirySweeper } from '../src/ledger/expiry.sweeper';
import {
  balanceOf,
  freeLocalPort,
  rejection,
  setupWallets,
  startLedgerHarness,
  transferRequest,
  uniqueTenant,
  type LedgerHarness,
} from './ledger-harness';

const REVENUE = { system: ledgerV1.AccountType.ACCOUNT_TYPE_REVENUE };
const NO_SWEEP = { LEDGER_HOLD_SWEEP_INTERVAL_MS: '3600000' };

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe('hold expiry', () => {
  it('refuses to post an expired hold; voiding it still works', async () => {
    // A private database: sweepers of other suites would void the expired hold first.
    const db = await createTestDatabase('expiry');
    const ledger = await startLedgerHarness({ ...NO_SWEEP, DATABASE_URL: db.url });
    try {
      const tenantId = uniqueTenant();
      const [wallet] = await setupWallets(ledger.client, tenantId, 1, 100n);
      const hold = await ledger.client.postTransaction(
        transferRequest(tenantId, 'hold', { id: wallet! }, REVENUE, 40n, {
          pending: true,
          timeoutSeconds: 1,
        }),
      );
      expect(hold.expiresAt).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const late = await rejection(
        ledger.client.postPending({
          tenantId,
          idempotencyKey: 'late',
          pendingTransactionId: hold.transactionId,
          amount: '',
          metadata: {},
        }),
      );
      expect(late).toMatchObject({ code: status.FAILED_PRECONDITION, errorCode: 'HOLD_EXPIRED' });
      await ledger.client.voidPending({
        tenantId,
        idempotencyKey: 'void',
        pendingTransactionId: hold.transactionId,
        reason: 'too late',
      });
      expect(await balanceOf(ledger.client, tenantId, wallet!)).toMatchObject({
        availableBalance: '100',
        debitsPending: '0',
      });
      const refused = await rejection(
        ledger.client.postTransaction(
          transferRequest(tenantId, 'posted-expiry', { id: wallet! }, REVENUE, 1n, { timeoutSeconds: 5 }),
        ),
      );
      expect(refused).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'timeout_seconds' });
    } finally {
      await ledger.stop();
      await db.drop();
    }
  });

  it('three instances sweep 30 expired holds: each is voided exactly once', async () => {
    const instances = await Promise.all([0, 1, 2].map(() => startLedgerHarness(NO_SWEEP)));
    const [first] = instances as [LedgerHarness, ...LedgerHarness[]];
    try {
      const tenantId = uniqueTenant();
      const [wallet] = await setupWallets(first.client, tenantId, 1, 1_000n);
      const holds = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          first.client.postTransaction(
            transferRequest(tenantId, `hold-${i}`, { id: wallet! }, REVENUE, 10n, {
              pending: true,
              timeoutSeconds: 1,
            }),
          ),
        ),
      );
      expect(await balanceOf(first.client, tenantId, wallet!)).toMatchObject({ availableBalance: '700' });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      // All three sweepers run at once, twice, over the same expired holds.
      const sweepers = instances.map((instance) => instance.app.get(HoldExpirySweeper));
      await Promise.all([...sweepers, ...sweepers].map((sweeper) => sweeper.sweepOnce()));
      await waitUntil(
        async () => (await balanceOf(first.client, tenantId, wallet!)).availableBalance === '1000',
        10_000,
        'every hold to be released',
      );
      const voids = await first.sql<{ pending_id: string; n: string }>(
        `SELECT pending_id, count(*) AS n FROM ledger.transactions
          WHERE tenant_id = $1 AND kind = 'void_pending' GROUP BY pending_id`,
        [tenantId],
      );
      expect(voids).toHaveLength(30);
      expect(voids.every((row) => row.n === '1')).toBe(true);
      expect(new Set(voids.map((row) => row.pending_id))).toEqual(new Set(holds.map((h) => h.transactionId)));
      const voided = await first.client.getTransaction({ tenantId, transactionId: holds[0]!.transactionId });
      expect(voided.status).toBe(ledgerV1.TransactionStatus.TRANSACTION_STATUS_VOIDED);
      expect(await balanceOf(first.client, tenantId, wallet!)).toMatchObject({
        postedBalance: '1000',
        debitsPending: '0',
      });
    } finally {
      await Promise.all(instances.map((instance) => instance.stop()));
    }
  });
});

describe('Redis outages and lost locks', () => {
  it('best-effort mode keeps posting correctly without Redis', async () => {
    const deadPort = await freeLocalPort();
    const ledger = await startLedgerHarness({
      REDIS_URL: `redis://127.0.0.1:${deadPort}`,
      LEDGER_REDIS_LOCK_MODE: 'best-effort',
    });
    try {
      const tenantId = uniqueTenant();
      const [wallet] = await setupWallets(ledger.client, tenantId, 1, 20n);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          ledger.client.postTransaction(transferRequest(tenantId, `d-${i}`, { id: wallet! }, REVENUE, 1n)),
        ),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(20);
      expect(await balanceOf(ledger.client, tenantId, wallet!)).toMatchObject({
        postedBalance: '0',
        version: '21',
      });
    } finally {
      await ledger.stop();
    }
  });

  it('required mode answers UNAVAILABLE without Redis and posts nothing', async () => {
    const deadPort = await freeLocalPort();
    const ledger = await startLedgerHarness({
      REDIS_URL: `redis://127.0.0.1:${deadPort}`,
      LEDGER_REDIS_LOCK_MODE: 'required',
    });
    try {
      const tenantId = uniqueTenant();
      await ledger.client.defineAsset({ tenantId, code: 'IDR', scale: 0 });
      const wallet = await ledger.client.openAccount({
        tenantId,
        idempotencyKey: 'w',
        assetCode: 'IDR',
        type: ledgerV1.AccountType.ACCOUNT_TYPE_WALLET,
        overdraftLimit: '0',
        externalRef: '',
        metadata: {},
      });
      const refused = await rejection(
        ledger.client.postTransaction(
          transferRequest(
            tenantId,
            'top',
            { system: ledgerV1.AccountType.ACCOUNT_TYPE_CASH_CLEARING },
            { id: wallet.accountId },
            5n,
          ),
        ),
      );
      expect(refused).toMatchObject({ code: status.UNAVAILABLE, errorCode: 'DEPENDENCY_UNAVAILABLE' });
      expect(await balanceOf(ledger.client, tenantId, wallet.accountId)).toMatchObject({
        postedBalance: '0',
        version: '0',
      });
    } finally {
      await ledger.stop();
    }
  });

  it('two instances, one with Redis and one without (its locks lost), never overdraw or double-post', async () => {
    const deadPort = await freeLocalPort();
    const withRedis = await startLedgerHarness();
    const withoutRedis = await startLedgerHarness({ REDIS_URL: `redis://127.0.0.1:${deadPort}` });
    try {
      const tenantId = uniqueTenant();
      const [wallet] = await setupWallets(withRedis.client, tenantId, 1, 37n);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 100 }, (_, i) => {
          const client = i % 2 ? withRedis.client : withoutRedis.client;
          // Every request is sent twice, once to each instance: a retry that lands elsewhere.
          return Promise.allSettled([
            client.postTransaction(transferRequest(tenantId, `debit-${i}`, { id: wallet! }, REVENUE, 1n)),
            (i % 2 ? withoutRedis : withRedis).client.postTransaction(
              transferRequest(tenantId, `debit-${i}`, { id: wallet! }, REVENUE, 1n),
            ),
          ]).then((pair) => {
            const ok = pair.filter(
              (p): p is PromiseFulfilledResult<ledgerV1.Transaction> => p.status === 'fulfilled',
            );
            if (ok.length === 0) throw new Error('refused');
            return new Set(ok.map((p) => p.value.transactionId)).size;
          });
        }),
      );
      const succeeded = outcomes.filter((o): o is PromiseFulfilledResult<number> => o.status === 'fulfilled');
      expect(succeeded).toHaveLength(37);
      expect(succeeded.every((o) => o.value === 1)).toBe(true);
      expect(await balanceOf(withRedis.client, tenantId, wallet!)).toMatchObject({
        postedBalance: '0',
        version: '38',
      });
    } finally {
      await withoutRedis.stop();
      await withRedis.stop();
    }
  });
});
