import { createTestDatabase, type TestDatabase } from '@saldo/test-support';
import { ledgerV1 } from '@saldo/proto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { setupWallets, startLedgerHarness, transferRequest, uniqueTenant, withPg } from './ledger-harness';

// Each test runs the built CLI as a child process: more than Jest's 5 s default on a busy machine.
jest.setTimeout(60_000);

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../../../dist/out-tsc/apps/wallet-ledger/src/cli.js');

async function verify(url: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, 'verify'], {
      env: { ...process.env, DATABASE_URL: url },
    });
    return { code: 0, output: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: `${e.stdout}${e.stderr}` };
  }
}

describe('ledger verify (the operator command, built CLI, private database)', () => {
  let db: TestDatabase;
  let wallets: string[] = [];
  const shadowTransactions: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('verify');
    const ledger = await startLedgerHarness({ DATABASE_URL: db.url });
    try {
      const tenantId = uniqueTenant();
      wallets = await setupWallets(ledger.client, tenantId, 3, 500n);
      const revenue = { system: ledgerV1.AccountType.ACCOUNT_TYPE_REVENUE };
      const pay = await ledger.client.postTransaction(
        transferRequest(tenantId, 'pay', { id: wallets[0]! }, { id: wallets[1]! }, 120n),
      );
      await ledger.client.reverseTransaction({
        tenantId,
        idempotencyKey: 'rev',
        transactionId: pay.transactionId,
        reason: '',
        metadata: {},
      });
      const hold = await ledger.client.postTransaction(
        transferRequest(tenantId, 'hold', { id: wallets[2]! }, revenue, 90n, { pending: true }),
      );
      await ledger.client.postPending({
        tenantId,
        idempotencyKey: 'cap',
        pendingTransactionId: hold.transactionId,
        amount: '40',
        metadata: {},
      });
      const hold2 = await ledger.client.postTransaction(
        transferRequest(tenantId, 'hold2', { id: wallets[2]! }, revenue, 10n, { pending: true }),
      );
      await ledger.client.voidPending({
        tenantId,
        idempotencyKey: 'void',
        pendingTransactionId: hold2.transactionId,
        reason: '',
      });
      // ERP-document money: one credit confirmed, one reversed (a rejected document).
      const cash = { system: ledgerV1.AccountType.ACCOUNT_TYPE_CASH_CLEARING };
      for (const document of ['INV-1', 'INV-2']) {
        const topUp = await ledger.client.postTransaction(
          transferRequest(tenantId, document, cash, { id: wallets[1]! }, 25n, { shadowDocumentId: document }),
        );
        shadowTransactions.push(topUp.transactionId);
      }
      await ledger.client.confirmShadowCredit({
        tenantId,
        transactionId: shadowTransactions[0]!,
        reason: '',
      });
      await ledger.client.reverseTransaction({
        tenantId,
        idempotencyKey: 'reject-INV-2',
        transactionId: shadowTransactions[1]!,
        reason: 'rejected',
        metadata: {},
      });
    } finally {
      await ledger.stop();
    }
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
  }, 30_000);

  it('passes every check on a healthy ledger and says what it checked', async () => {
    const { code, output } = await verify(db.url);
    expect(code).toBe(0);
    expect(output).toMatch(/ok\s+balances-equal-entries\s+\d+ checked/);
    expect(output).toMatch(/ok\s+holds-resolved-once\s+2 checked/);
    expect(output).toMatch(/ok\s+shadow-credits-match\s+2 checked/);
    expect(output).toMatch(/ledger verified: 14 checks passed/);
  });

  it('finds a balance tampered with behind the guards, and an entry deleted behind them', async () => {
    await withPg(db.url, async (pg) => {
      // Only a superuser bypassing every trigger can do this; verify must still notice.
      await pg.query('SET session_replication_role = replica');
      await pg.query('UPDATE ledger.accounts SET credits_posted = credits_posted + 5 WHERE id = $1', [
        wallets[0],
      ]);
      await pg.query(
        `DELETE FROM ledger.entries WHERE id = (SELECT max(id) FROM ledger.entries WHERE account_id = $1)`,
        [wallets[1]],
      );
      // A rejected document's credit put back to shadow: money that was taken back would show as shadow.
      await pg.query(
        `UPDATE ledger.shadow_credits SET state = 'shadow', settled_at = NULL WHERE transaction_id = $1`,
        [shadowTransactions[1]],
      );
    });
    const { code, output } = await verify(db.url);
    expect(code).toBe(1);
    expect(output).toMatch(new RegExp(`FAIL balances-equal-entries[\\s\\S]*account ${wallets[0]}`));
    expect(output).toMatch(/FAIL transactions-balanced/);
    expect(output).toMatch(
      new RegExp(`FAIL shadow-credits-match[\\s\\S]*${shadowTransactions[1]}.*its transaction is reversed`),
    );
    expect(output).toMatch(/ledger verification FAILED/);
  });
});
