// Issue 11 #5 on the real processes: a per-action maximum per asset (default 10^15, USD lowered
// here by configuration) at the edge and in the ledger. The finding's top-up of
// 9223372036854774807 is refused and leaves its key free; a property test over extreme amounts
// (the maximum, one above, 2^63-1, 2^64, random huge values) in sequences of top-ups, usages and
// reversals: above the maximum → AMOUNT_LIMIT_EXCEEDED and nothing moves, never BALANCE_OVERFLOW
// or INTERNAL, the wallet equals the model, and the tenant can still top up afterwards.
import { status } from '@grpc/grpc-js';
import { Api, apiKey, sql, startStack, tenantId, type CallError, type Stack } from '@saldo/test-support';
import fc from 'fast-check';

const TENANT = tenantId('limits');
const KEY = apiKey();
const USD_MAX = 10_000_000_000n; // USD 100,000,000.00 per action in this stack

let stack: Stack;
let api: Api;

beforeAll(async () => {
  stack = await startStack('agg_limits', {
    SALDO_API_KEYS: `${TENANT}=${KEY}`,
    AGGREGATOR_MAX_AMOUNT_BY_ASSET: `USD=${USD_MAX}`,
  });
  api = new Api(stack.aggregatorTarget, KEY);
}, 120_000);

afterAll(async () => {
  api?.close();
  await stack?.stop();
});

let keys = 0;
const nextKey = (label: string) => `${label}-${(keys += 1)}`;

async function attempt(
  method: string,
  request: Record<string, unknown>,
): Promise<{ ok: true; tx: Record<string, string> } | { ok: false; error: CallError }> {
  try {
    return { ok: true, tx: await api.call(method, request) };
  } catch (error) {
    return { ok: false, error: error as CallError };
  }
}

async function openWallet(currency: string): Promise<string> {
  const wallet = await api.call('OpenWallet', {
    idempotencyKey: nextKey('open'),
    ownerType: 'PERSONAL',
    ownerId: nextKey('owner'),
    currency,
    overdraftLimit: '0',
    metadata: {},
  });
  return wallet.walletId as string;
}

it("the finding's top-up of 9223372036854774807 is refused before anything happens; the key stays free", async () => {
  const walletId = await openWallet('IDR');
  const refused = await attempt('TopUp', {
    idempotencyKey: 'huge-1',
    walletId,
    amount: '9223372036854774807',
    metadata: {},
  });
  expect(refused.ok).toBe(false);
  if (refused.ok) return;
  expect(refused.error.code).toBe(status.INVALID_ARGUMENT);
  expect(refused.error.reason).toBe('AMOUNT_LIMIT_EXCEEDED');
  expect(refused.error.field).toBe('amount');
  // The corrected request may use the same key: nothing was claimed.
  const done = await api.call('TopUp', {
    idempotencyKey: 'huge-1',
    walletId,
    amount: '1000000000000000',
    metadata: {},
  });
  await api.call('Void', {
    idempotencyKey: 'huge-1-reversal',
    transactionId: done.transactionId,
    reason: 'test',
  });
  // And the tenant is not exhausted: a top-up of the maximum still goes through, again and again.
  for (let i = 0; i < 3; i += 1)
    await api.call('TopUp', {
      idempotencyKey: nextKey('max'),
      walletId,
      amount: '1000000000000000',
      metadata: {},
    });
  expect((await api.call('GetWallet', { walletId })).postedBalance).toBe('3000000000000000');
}, 60_000);

const EXTREME = [
  1n,
  USD_MAX - 1n,
  USD_MAX,
  USD_MAX + 1n,
  2n ** 62n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n,
  10n ** 30n,
];

type Step = { kind: 'topup' | 'usage'; amount: bigint } | { kind: 'reverse' };

it('property: extreme amounts in sequences of top-ups, usages and reversals never overflow and never move money when refused', async () => {
  const amount = fc.oneof(fc.constantFrom(...EXTREME), fc.bigInt(1n, 2n ** 70n));
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('topup' as const), amount }),
    fc.record({ kind: fc.constant('usage' as const), amount }),
    fc.constant({ kind: 'reverse' as const }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (steps) => {
      const walletId = await openWallet('USD');
      let balance = 0n;
      const topUps: Array<{ id: string; amount: bigint }> = [];
      for (const s of steps) {
        if (s.kind === 'reverse') {
          const last = topUps.pop();
          if (!last) continue;
          const r = await attempt('Void', {
            idempotencyKey: nextKey('rev'),
            transactionId: last.id,
            reason: 'p',
          });
          if (r.ok) balance -= last.amount;
          else expect(r.error.reason).toBe('INSUFFICIENT_FUNDS'); // the money was spent
          continue;
        }
        const method = s.kind === 'topup' ? 'TopUp' : 'BookUsage';
        const r = await attempt(method, {
          idempotencyKey: nextKey(s.kind),
          walletId,
          amount: s.amount.toString(),
          productCode: 'p',
          metadata: {},
        });
        if (s.amount > USD_MAX) {
          expect(r.ok).toBe(false);
          if (!r.ok) {
            expect(r.error.code).toBe(status.INVALID_ARGUMENT);
            expect(['AMOUNT_LIMIT_EXCEEDED', 'INVALID_ARGUMENT']).toContain(r.error.reason);
          }
          continue;
        }
        if (r.ok) {
          balance += s.kind === 'topup' ? s.amount : -s.amount;
          if (s.kind === 'topup') topUps.push({ id: r.tx['transactionId'] as string, amount: s.amount });
        } else {
          expect(s.kind).toBe('usage');
          expect(r.error.reason).toBe('INSUFFICIENT_FUNDS');
        }
      }
      const wallet = await api.call('GetWallet', { walletId });
      expect(BigInt(wallet.postedBalance)).toBe(balance);
    }),
    { numRuns: 12, seed: 11 },
  );
  // The system accounts stay far from the bigint range; the tenant can top up the maximum.
  const rows = await sql<{ debits: string; credits: string }>(
    stack.database.url,
    `SELECT debits_posted::text AS debits, credits_posted::text AS credits FROM ledger.accounts
      WHERE tenant_id = $1 AND asset_code = 'USD' AND type <> 'wallet'`,
    [TENANT],
  );
  for (const row of rows) expect(BigInt(row.debits) + BigInt(row.credits) < 2n ** 50n).toBe(true);
  const walletId = await openWallet('USD');
  await api.call('TopUp', {
    idempotencyKey: nextKey('final'),
    walletId,
    amount: USD_MAX.toString(),
    metadata: {},
  });
}, 180_000);
