import { status } from '@grpc/grpc-js';
import { ledgerV1 } from '@saldo/proto';
import fc from 'fast-check';
import {
  balanceOf,
  startLedgerHarness,
  transferRequest,
  uniqueTenant,
  type LedgerClient,
  type LedgerHarness,
} from './ledger-harness';

/**
 * Random operation sequences against the real ledger and a deliberately simple model of it.
 * After every step: the ledger agrees with the model, debits equal credits per asset (posted and
 * pending), every balance equals the sum of its entries, no wallet is below −overdraft, and a
 * replay of an earlier request changes nothing and returns the same transaction.
 */

const CASH = { system: ledgerV1.AccountType.ACCOUNT_TYPE_CASH_CLEARING };
const REVENUE = { system: ledgerV1.AccountType.ACCOUNT_TYPE_REVENUE };
const WALLETS = 3;
const OVERDRAFT = [50n, 0n, 0n];

type Op =
  | { kind: 'topUp'; wallet: number; amount: number }
  | { kind: 'transfer'; from: number; to: number; amount: number }
  | { kind: 'usage'; wallet: number; amount: number }
  | { kind: 'reserve'; wallet: number; amount: number }
  | { kind: 'capture'; hold: number; part: number | null }
  | { kind: 'void'; hold: number }
  | { kind: 'reverse'; target: number }
  | { kind: 'replay'; target: number };

const amount = fc.integer({ min: 1, max: 120 });
const wallet = fc.integer({ min: 0, max: WALLETS - 1 });
const index = fc.nat({ max: 30 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('topUp' as const), wallet, amount }),
  fc
    .record({ kind: fc.constant('transfer' as const), from: wallet, to: wallet, amount })
    .filter((o) => o.from !== o.to),
  fc.record({ kind: fc.constant('usage' as const), wallet, amount }),
  fc.record({ kind: fc.constant('reserve' as const), wallet, amount }),
  fc.record({
    kind: fc.constant('capture' as const),
    hold: index,
    part: fc.option(fc.integer({ min: 1, max: 130 })),
  }),
  fc.record({ kind: fc.constant('void' as const), hold: index }),
  fc.record({ kind: fc.constant('reverse' as const), target: index }),
  fc.record({ kind: fc.constant('replay' as const), target: index }),
);

interface ModelWallet {
  posted: bigint;
  pending: bigint;
}
interface ModelHold {
  id: string;
  wallet: number;
  amount: bigint;
  open: boolean;
}
/** A posted transaction that may be reversed: its effect on wallets (+ credit, − debit). */
interface ModelPosted {
  id: string;
  effects: Array<[number, bigint]>;
  reversed: boolean;
}
interface Sent {
  request: ledgerV1.PostTransactionRequest;
  transactionId: string;
}

class Model {
  wallets: ModelWallet[] = Array.from({ length: WALLETS }, () => ({ posted: 0n, pending: 0n }));
  holds: ModelHold[] = [];
  posted: ModelPosted[] = [];
  sent: Sent[] = [];
  available(i: number): bigint {
    return this.wallets[i]!.posted - this.wallets[i]!.pending;
  }
  canDebit(i: number, value: bigint): boolean {
    return this.available(i) - value >= -OVERDRAFT[i]!;
  }
}

async function expectRefused(promise: Promise<unknown>, code: status): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: { code: number }) => e,
  );
  if (!error) throw new Error(`expected ${status[code]}, the call succeeded`);
  expect(status[error.code]).toBe(status[code]);
}

async function apply(
  client: LedgerClient,
  tenantId: string,
  ids: string[],
  model: Model,
  op: Op,
  step: number,
): Promise<void> {
  const key = `op-${step}`;
  const post = async (request: ledgerV1.PostTransactionRequest) => {
    const result = await client.postTransaction(request);
    model.sent.push({ request, transactionId: result.transactionId });
    return result;
  };
  switch (op.kind) {
    case 'topUp': {
      const result = await post(
        transferRequest(tenantId, key, CASH, { id: ids[op.wallet]! }, BigInt(op.amount)),
      );
      model.wallets[op.wallet]!.posted += BigInt(op.amount);
      model.posted.push({
        id: result.transactionId,
        effects: [[op.wallet, BigInt(op.amount)]],
        reversed: false,
      });
      return;
    }
    case 'transfer':
    case 'usage': {
      const from = op.kind === 'transfer' ? op.from : op.wallet;
      const value = BigInt(op.amount);
      const request = transferRequest(
        tenantId,
        key,
        { id: ids[from]! },
        op.kind === 'transfer' ? { id: ids[op.to]! } : REVENUE,
        value,
      );
      if (!model.canDebit(from, value))
        return expectRefused(client.postTransaction(request), status.FAILED_PRECONDITION);
      const result = await post(request);
      model.wallets[from]!.posted -= value;
      const effects: Array<[number, bigint]> = [[from, -value]];
      if (op.kind === 'transfer') {
        model.wallets[op.to]!.posted += value;
        effects.push([op.to, value]);
      }
      model.posted.push({ id: result.transactionId, effects, reversed: false });
      return;
    }
    case 'reserve': {
      const value = BigInt(op.amount);
      const request = transferRequest(tenantId, key, { id: ids[op.wallet]! }, REVENUE, value, {
        pending: true,
      });
      if (!model.canDebit(op.wallet, value))
        return expectRefused(client.postTransaction(request), status.FAILED_PRECONDITION);
      const result = await post(request);
      model.wallets[op.wallet]!.pending += value;
      model.holds.push({ id: result.transactionId, wallet: op.wallet, amount: value, open: true });
      return;
    }
    case 'capture':
    case 'void': {
      const hold = model.holds[op.hold % Math.max(model.holds.length, 1)];
      if (!hold) return;
      const part = op.kind === 'capture' && op.part !== null ? BigInt(op.part) : null;
      const call =
        op.kind === 'capture'
          ? client.postPending({
              tenantId,
              idempotencyKey: key,
              pendingTransactionId: hold.id,
              amount: part?.toString() ?? '',
              metadata: {},
            })
          : client.voidPending({ tenantId, idempotencyKey: key, pendingTransactionId: hold.id, reason: '' });
      if (!hold.open || (part !== null && part > hold.amount))
        return expectRefused(call, status.FAILED_PRECONDITION);
      const result = await call;
      hold.open = false;
      model.wallets[hold.wallet]!.pending -= hold.amount;
      if (op.kind === 'capture') {
        const posted = part ?? hold.amount;
        model.wallets[hold.wallet]!.posted -= posted;
        model.posted.push({ id: result.transactionId, effects: [[hold.wallet, -posted]], reversed: false });
      }
      return;
    }
    case 'reverse': {
      const target = model.posted[op.target % Math.max(model.posted.length, 1)];
      if (!target) return;
      const call = client.reverseTransaction({
        tenantId,
        idempotencyKey: key,
        transactionId: target.id,
        reason: 'test',
        metadata: {},
      });
      const debits = target.effects.filter(([, delta]) => delta > 0);
      if (target.reversed) return expectRefused(call, status.FAILED_PRECONDITION);
      if (debits.some(([w, delta]) => !model.canDebit(w, delta)))
        return expectRefused(call, status.FAILED_PRECONDITION);
      await call;
      target.reversed = true;
      for (const [w, delta] of target.effects) model.wallets[w]!.posted -= delta;
      return;
    }
    case 'replay': {
      const earlier = model.sent[op.target % Math.max(model.sent.length, 1)];
      if (!earlier) return;
      const replayed = await client.postTransaction(earlier.request);
      expect(replayed.transactionId).toBe(earlier.transactionId);
      expect(replayed.replayed).toBe(true);
      return;
    }
  }
}

async function checkInvariants(
  ledger: LedgerHarness,
  tenantId: string,
  ids: string[],
  model: Model,
): Promise<void> {
  for (let i = 0; i < WALLETS; i += 1) {
    const balance = await balanceOf(ledger.client, tenantId, ids[i]!);
    expect({ wallet: i, posted: balance.postedBalance, pending: balance.debitsPending }).toEqual({
      wallet: i,
      posted: model.wallets[i]!.posted.toString(),
      pending: model.wallets[i]!.pending.toString(),
    });
    expect(BigInt(balance.availableBalance)).toBeGreaterThanOrEqual(-OVERDRAFT[i]!);
  }
  const [conservation] = await ledger.sql<{ dp: string; cp: string; dq: string; cq: string }>(
    `SELECT sum(debits_posted) AS dp, sum(credits_posted) AS cp, sum(debits_pending) AS dq, sum(credits_pending) AS cq
       FROM ledger.accounts WHERE tenant_id = $1`,
    [tenantId],
  );
  expect(conservation?.dp).toBe(conservation?.cp);
  expect(conservation?.dq).toBe(conservation?.cq);
  const drift = await ledger.sql(
    `SELECT a.id FROM ledger.accounts a
       LEFT JOIN LATERAL (
         SELECT coalesce(sum(amount) FILTER (WHERE side = 'debit' AND phase = 'posted'), 0) AS dp,
                coalesce(sum(amount) FILTER (WHERE side = 'credit' AND phase = 'posted'), 0) AS cp,
                coalesce(sum(CASE phase WHEN 'pending' THEN amount WHEN 'release' THEN -amount END) FILTER (WHERE side = 'debit'), 0) AS dq,
                coalesce(sum(CASE phase WHEN 'pending' THEN amount WHEN 'release' THEN -amount END) FILTER (WHERE side = 'credit'), 0) AS cq
           FROM ledger.entries e WHERE e.account_id = a.id) s ON true
      WHERE a.tenant_id = $1
        AND (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) <> (s.dp, s.cp, s.dq, s.cq)`,
    [tenantId],
  );
  expect(drift).toEqual([]);
}

let ledger: LedgerHarness;
beforeAll(async () => {
  ledger = await startLedgerHarness();
}, 60_000);
afterAll(async () => {
  await ledger?.stop();
}, 60_000);

it('random operation sequences keep the ledger equal to the model and every invariant true', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 25 }), async (ops) => {
      const tenantId = uniqueTenant('prop');
      await ledger.client.defineAsset({ tenantId, code: 'IDR', scale: 0 });
      const ids: string[] = [];
      for (let i = 0; i < WALLETS; i += 1) {
        const account = await ledger.client.openAccount({
          tenantId,
          idempotencyKey: `w-${i}`,
          assetCode: 'IDR',
          type: ledgerV1.AccountType.ACCOUNT_TYPE_WALLET,
          overdraftLimit: OVERDRAFT[i]!.toString(),
          externalRef: '',
          metadata: {},
        });
        ids.push(account.accountId);
      }
      const model = new Model();
      for (const [step, operation] of ops.entries()) {
        await apply(ledger.client, tenantId, ids, model, operation, step);
        await checkInvariants(ledger, tenantId, ids, model);
      }
    }),
    { numRuns: Number(process.env['SALDO_PROPERTY_RUNS'] ?? 40), interruptAfterTimeLimit: 90_000 },
  );
}, 120_000);
