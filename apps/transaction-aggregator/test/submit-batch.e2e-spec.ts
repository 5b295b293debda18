// TransactionService.SubmitBatch end to end (real aggregator, ledger, PostgreSQL, Pub/Sub emulator):
// one outcome per action in order, partial success, idempotent replay within and across batches,
// member limits inside a batch, and unary calls and Pub/Sub messages riding the same ledger batches.
import { PubSub } from '@google-cloud/pubsub';
import { status } from '@grpc/grpc-js';
import { Api, apiKey, freePort, sql, startStack, tenantId, type Stack } from '@saldo/test-support';
import { randomUUID } from 'node:crypto';
import { Collector, publishAction, uniqueTopics } from './pubsub-harness';

jest.setTimeout(90_000);

const TENANT = tenantId('agg-batch');
const KEY = apiKey();
const topics = uniqueTopics();

let stack: Stack;
let api: Api;
let httpPort: number;
let pubsub: PubSub;
let results: Collector;

beforeAll(async () => {
  if (!process.env['PUBSUB_EMULATOR_HOST'])
    throw new Error('PUBSUB_EMULATOR_HOST is not set: run with `npm test`');
  httpPort = await freePort();
  stack = await startStack('agg_batch', {
    SALDO_API_KEYS: `${TENANT}=${KEY}`,
    AGGREGATOR_PUBSUB_ENABLED: 'true',
    AGGREGATOR_HTTP_HOST: '127.0.0.1',
    AGGREGATOR_HTTP_PORT: String(httpPort),
    // A batch of 1,000 postings on a loaded 2-core test machine may take more than the default 10 s.
    AGGREGATOR_LEDGER_DEADLINE_MS: '60000',
    ...topics,
  });
  api = new Api(stack.aggregatorTarget, KEY);
  pubsub = new PubSub();
  results = await Collector.on(pubsub, topics.AGGREGATOR_RESULTS_TOPIC);
}, 120_000);

afterAll(async () => {
  await results?.close();
  await pubsub?.close();
  api?.close();
  await stack?.stop();
});

const k = (label: string) => `${label}-${randomUUID().slice(0, 12)}`;

async function openWallet(fields: Record<string, unknown> = {}): Promise<string> {
  const opened = await api.call('OpenWallet', {
    idempotencyKey: k('open'),
    ownerType: 'PERSONAL',
    ownerId: 'batch',
    currency: 'IDR',
    ...fields,
  });
  return opened.walletId;
}

async function wallet(walletId: string) {
  return api.call('GetWallet', { walletId });
}

interface Outcome {
  transaction?: { transactionId: string; type: string; status: string; amount: string; replayed: boolean };
  error?: { code: string; reason: string; field: string; message: string; facts: Record<string, string> };
}

async function submit(actions: Array<Record<string, unknown>>): Promise<Outcome[]> {
  const response = await api.call<{ outcomes: Outcome[] }>('SubmitBatch', { actions });
  expect(response.outcomes).toHaveLength(actions.length);
  return response.outcomes;
}

async function withRetries(request: Record<string, unknown>, attempts = 5) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await api.call('TopUp', request);
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (attempt >= attempts || (code !== status.UNAVAILABLE && code !== status.ABORTED)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/** Counter values from the aggregator's /metrics. */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  // e.g. saldo_aggregator_ledger_batches_total{service="transaction-aggregator"} 12
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return Number(line?.split(' ').pop() ?? NaN);
}

async function ledgerCount(): Promise<number> {
  const [row] = await sql<{ n: string }>(
    stack.database.url,
    `SELECT count(*)::text AS n FROM ledger.transactions WHERE tenant_id = $1`,
    [TENANT],
  );
  return Number(row?.n);
}

describe('SubmitBatch', () => {
  it('answers each action in order: successes of every kind beside refusals, which change nothing', async () => {
    const a = await openWallet();
    const b = await openWallet();
    await api.call('TopUp', { idempotencyKey: k('fund'), walletId: a, amount: '1000' });
    const outcomes = await submit([
      { topUp: { idempotencyKey: k('t'), walletId: b, amount: '500', reference: 'pg-1' } },
      {
        bookUsage: {
          idempotencyKey: k('u'),
          walletId: a,
          amount: '300',
          productCode: 'esign',
          costAmount: '50',
        },
      },
      { transfer: { idempotencyKey: k('x'), fromWalletId: a, toWalletId: b, amount: '2000' } },
      { reserve: { idempotencyKey: k('r'), walletId: a, amount: '200', expiresInSeconds: 600 } },
      { bookUsage: { idempotencyKey: k('u'), walletId: randomUUID(), amount: '1' } },
      { topUp: { idempotencyKey: k('t'), walletId: b, amount: '1.5' } },
      { transfer: { idempotencyKey: k('x'), fromWalletId: a, toWalletId: b, amount: '100' } },
      {},
    ]);
    expect(
      outcomes.map((o) => o.transaction?.type ?? `${o.error?.code}/${o.error?.reason}/${o.error?.field}`),
    ).toEqual([
      'TOP_UP',
      'USAGE',
      'FAILED_PRECONDITION/INSUFFICIENT_FUNDS/amount',
      'RESERVE',
      'NOT_FOUND/WALLET_NOT_FOUND/wallet_id',
      'INVALID_ARGUMENT/INVALID_ARGUMENT/amount',
      'TRANSFER',
      'INVALID_ARGUMENT/INVALID_ARGUMENT/action',
    ]);
    expect(await wallet(a)).toMatchObject({ postedBalance: '600', pendingDebits: '200', periodSpent: '500' });
    expect(await wallet(b)).toMatchObject({ postedBalance: '600' });

    // Captures and voids in a batch: the hold captured in part, the usage reversed.
    const hold = outcomes[3]?.transaction?.transactionId as string;
    const usage = outcomes[1]?.transaction?.transactionId as string;
    const second = await submit([
      { capture: { idempotencyKey: k('c'), transactionId: hold, amount: '150' } },
      { void: { idempotencyKey: k('v'), transactionId: usage, reason: 'refund' } },
      { capture: { idempotencyKey: k('c'), transactionId: usage } },
    ]);
    expect(second.map((o) => o.transaction?.type ?? o.error?.reason)).toEqual([
      'CAPTURE',
      'REVERSAL',
      'HOLD_NOT_PENDING',
    ]);
    expect(await wallet(a)).toMatchObject({ postedBalance: '750', pendingDebits: '0', periodSpent: '150' });
  });

  it('replays a key within a batch and across batches; a refused action leaves its key free', async () => {
    const w = await openWallet();
    const same = { idempotencyKey: k('same'), walletId: w, amount: '100' };
    const usage = { idempotencyKey: k('later'), walletId: w, amount: '150' };
    const first = await submit([
      { topUp: same },
      { topUp: same },
      { topUp: { ...same, amount: '101' } },
      { bookUsage: { ...same } },
      { bookUsage: usage },
    ]);
    const id = first[0]?.transaction?.transactionId;
    expect(first[0]?.transaction?.replayed).toBe(false);
    expect(first[1]?.transaction).toMatchObject({ transactionId: id, replayed: true });
    expect([first[2]?.error?.code, first[2]?.error?.field]).toEqual(['ALREADY_EXISTS', 'idempotency_key']);
    expect(first[3]?.error?.code).toBe('ALREADY_EXISTS');
    expect(first[4]?.error?.reason).toBe('INSUFFICIENT_FUNDS');
    expect((await wallet(w)).postedBalance).toBe('100');

    const before = await ledgerCount();
    await api.call('TopUp', { idempotencyKey: k('fund'), walletId: w, amount: '100' });
    const again = await submit([{ topUp: same }, { bookUsage: usage }]);
    expect(again[0]?.transaction).toMatchObject({ transactionId: id, replayed: true });
    expect(again[1]?.transaction).toMatchObject({ type: 'USAGE', replayed: false });
    // The unary method replays what the batch did, and the other way round.
    expect(await api.call('BookUsage', usage)).toMatchObject({
      transactionId: again[1]?.transaction?.transactionId,
      replayed: true,
    });
    expect(await ledgerCount()).toBe(before + 2); // the funding top-up and the usage, nothing else
    expect(await wallet(w)).toMatchObject({ postedBalance: '50', periodSpent: '150' });
  });

  it("keeps a member's spend limit inside a batch", async () => {
    const org = await openWallet({ ownerType: 'ENTERPRISE', ownerId: 'acme' });
    const member = await openWallet({ ownerId: 'alice', parentWalletId: org, spendLimit: '500' });
    await api.call('TopUp', { idempotencyKey: k('fund'), walletId: org, amount: '10000' });
    const outcomes = await submit(
      Array.from({ length: 4 }, () => ({
        bookUsage: { idempotencyKey: k('m'), walletId: member, amount: '200' },
      })),
    );
    expect(outcomes.filter((o) => o.transaction).length).toBe(2);
    expect(outcomes.filter((o) => o.error?.reason === 'SPEND_LIMIT_EXCEEDED').length).toBe(2);
    expect(await wallet(member)).toMatchObject({ periodSpent: '400', availableBalance: '100' });
    expect(await wallet(org)).toMatchObject({ postedBalance: '9600' });
  });

  it('takes a large batch in one call and refuses 0 or more than 1,000 actions as a whole', async () => {
    // 300 keeps this suite within seconds on a loaded machine; the limit itself is checked below.
    const wallets = await Promise.all([openWallet(), openWallet(), openWallet()]);
    const actions = Array.from({ length: 300 }, (_, i) => ({
      topUp: { idempotencyKey: k(`bulk-${i}`), walletId: wallets[i % 3], amount: '1' },
    }));
    const outcomes = await submit(actions);
    expect(outcomes.filter((o) => o.transaction?.status !== 'POSTED').slice(0, 3)).toEqual([]);
    expect((await Promise.all(wallets.map(wallet))).map((v) => v.postedBalance)).toEqual([
      '100',
      '100',
      '100',
    ]);
    const tooMany = Array.from({ length: 1_001 }, (_, i) => actions[i % actions.length]);
    for (const batch of [[], tooMany]) {
      const refused = await api.fail('SubmitBatch', { actions: batch });
      expect([refused.code, refused.field]).toEqual([status.INVALID_ARGUMENT, 'actions']);
    }
  });
});

describe('the same batched path', () => {
  it('concurrent unary calls share ledger batches (group commit)', async () => {
    const w = await openWallet();
    const batches = await metric('saldo_aggregator_ledger_batches_total');
    const commands = await metric('saldo_aggregator_ledger_batch_commands_total');
    // As a client does: an outcome that is not known (UNAVAILABLE, ABORTED) is retried with its key.
    const done = await Promise.all(
      Array.from({ length: 60 }, () => withRetries({ idempotencyKey: k('g'), walletId: w, amount: '1' })),
    );
    expect(done.every((tx) => tx.status === 'POSTED')).toBe(true);
    expect((await wallet(w)).postedBalance).toBe('60');
    const sent = (await metric('saldo_aggregator_ledger_batch_commands_total')) - commands;
    const calls = (await metric('saldo_aggregator_ledger_batches_total')) - batches;
    expect(sent).toBeGreaterThanOrEqual(60);
    expect(calls).toBeLessThan(sent);
  });

  it('Pub/Sub messages ride the same batches; a redelivered or repeated message replays', async () => {
    const w = await openWallet();
    const batches = await metric('saldo_aggregator_ledger_batches_total');
    const commands = await metric('saldo_aggregator_ledger_batch_commands_total');
    const keys = Array.from({ length: 40 }, () => k('ps'));
    await Promise.all(
      keys.map((idempotencyKey) =>
        publishAction(pubsub, topics.AGGREGATOR_ACTIONS_TOPIC, 'TopUp', TENANT, KEY, {
          idempotencyKey,
          walletId: w,
          amount: '2',
        }),
      ),
    );
    await results.next(
      () => keys.every((key) => results.messages.some((m) => m.attributes['idempotency_key'] === key)),
      'a result for every message',
      60_000,
    );
    const mine = results.messages.filter((m) => keys.includes(m.attributes['idempotency_key'] as string));
    expect(mine.map((m) => m.attributes['status'])).toEqual(keys.map(() => 'OK'));
    expect((await wallet(w)).postedBalance).toBe('80');
    const sent = (await metric('saldo_aggregator_ledger_batch_commands_total')) - commands;
    const calls = (await metric('saldo_aggregator_ledger_batches_total')) - batches;
    expect(sent).toBeGreaterThanOrEqual(40);
    expect(calls).toBeLessThan(sent);

    // The same message again: a replay of the original, nothing posted twice.
    await publishAction(pubsub, topics.AGGREGATOR_ACTIONS_TOPIC, 'TopUp', TENANT, KEY, {
      idempotencyKey: keys[0],
      walletId: w,
      amount: '2',
    });
    await results.next(
      () => results.messages.filter((m) => m.attributes['idempotency_key'] === keys[0]).length >= 2,
      'the repeated result',
    );
    const repeated = results.messages.filter((m) => m.attributes['idempotency_key'] === keys[0]);
    expect(JSON.parse(repeated[1]?.data as string)).toMatchObject({
      transactionId: JSON.parse(repeated[0]?.data as string).transactionId,
      replayed: true,
    });
    expect((await wallet(w)).postedBalance).toBe('80');
  });
});
