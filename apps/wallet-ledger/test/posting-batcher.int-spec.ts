import { LedgerError, requireTenant } from '@saldo/ledger-domain';
import { createRedisClient, WalletLocks } from '@saldo/locks';
import { createDataSource } from '@saldo/postgres';
import type Redis from 'ioredis';
import type { DataSource } from 'typeorm';
import { LedgerRepository, type PostingCommand } from '../src/ledger/ledger.repository';
import { PostingBatcher } from '../src/ledger/posting-batcher';
import {
  setupWallets,
  startLedgerHarness,
  testDatabaseUrl,
  uniqueTenant,
  type LedgerHarness,
} from './ledger-harness';

/** Group commit, seen from inside: many commands in one transaction, each succeeding or failing alone. */
describe('PostingBatcher with the real database', () => {
  let ledger: LedgerHarness;
  let db: DataSource;
  let redis: Redis;

  beforeAll(async () => {
    ledger = await startLedgerHarness();
    db = await createDataSource({
      url: testDatabaseUrl(),
      applicationName: 'batcher-test',
      poolSize: 4,
    }).initialize();
    redis = createRedisClient(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', 'batcher-test');
  });

  afterAll(async () => {
    redis?.disconnect();
    await db?.destroy();
    await ledger?.stop();
  });

  function batcher(): PostingBatcher {
    const locks = new WalletLocks(redis, {
      mode: 'best-effort',
      ttlMs: 10_000,
      retryCount: 100,
      retryDelayMs: 10,
      maxWaitersPerKey: 1_000,
      keyPrefix: 'saldo:test:lock:',
    });
    return new PostingBatcher(new LedgerRepository(db), locks, {
      maxBatchSize: 64,
      maxConcurrentBatches: 1,
      maxQueued: 1_000,
    });
  }

  function debit(tenant: string, key: string, wallet: string, amount: number): PostingCommand {
    return {
      op: 'post_transaction',
      tenant_id: requireTenant(tenant),
      idempotency_key: key,
      request_hash: `hash-${key}-${amount}`,
      legs: [
        { account_id: wallet, side: 'debit', amount: String(amount) },
        { system_account: 'revenue', side: 'credit', amount: String(amount) },
      ],
      asset_code: 'IDR',
      pending: false,
      timeout_seconds: 0,
      action: 'USAGE',
      references: {},
      metadata: {},
    };
  }

  it('commits many commands together; a refused one and a duplicate key do not disturb the rest', async () => {
    const tenantId = uniqueTenant();
    const [wallet] = await setupWallets(ledger.client, tenantId, 1, 10n);
    const posting = batcher();
    const commands = [
      debit(tenantId, 'a', wallet!, 3),
      debit(tenantId, 'too-much', wallet!, 100),
      debit(tenantId, 'b', wallet!, 4),
      debit(tenantId, 'a', wallet!, 3), // a duplicate of the first, in the same batch
      debit(tenantId, 'a', wallet!, 2), // the same key with another request
      debit(tenantId, 'c', wallet!, 3),
      debit(tenantId, 'd', wallet!, 1), // refused: only 0 left by then
    ];
    // The first call goes alone (the batcher is idle); the rest queue behind it and go as one batch.
    const outcomes = await Promise.allSettled(
      commands.map((command) => posting.submit({ command, lockKeys: [wallet!] })),
    );
    expect(posting.stats.largestBatch).toBeGreaterThan(1);
    const summary = outcomes.map((outcome) =>
      outcome.status === 'fulfilled'
        ? outcome.value.replayed
          ? 'replayed'
          : 'ok'
        : (outcome.reason as LedgerError).code,
    );
    expect(summary).toEqual([
      'ok',
      'INSUFFICIENT_FUNDS',
      'ok',
      'replayed',
      'IDEMPOTENCY_CONFLICT',
      'ok',
      'INSUFFICIENT_FUNDS',
    ]);
    const first = outcomes[0] as PromiseFulfilledResult<{ transaction_id: string }>;
    const duplicate = outcomes[3] as PromiseFulfilledResult<{ transaction_id: string }>;
    expect(duplicate.value.transaction_id).toBe(first.value.transaction_id);
    const [account] = await ledger.sql<{ debits_posted: string; version: string }>(
      'SELECT debits_posted::text, version::text FROM ledger.accounts WHERE id = $1',
      [wallet],
    );
    expect(account).toEqual({ debits_posted: '10', version: '4' });
  });
});
