// The Pub/Sub intake end to end: signed messages on the run's Pub/Sub emulator, the real
// aggregator and ledger processes; same semantics as gRPC, results published, poison messages
// dead-lettered with their reason.
import { PubSub } from '@google-cloud/pubsub';
import { randomUUID } from 'node:crypto';
import { Api, apiKey, startStack, tenantId, type Stack } from '@saldo/test-support';
import { Collector, publishAction, uniqueTopics } from './pubsub-harness';

jest.setTimeout(60_000);

const TENANT = tenantId('agg-ps');
const KEY = apiKey();
const topics = uniqueTopics();

let stack: Stack;
let api: Api;
let pubsub: PubSub;
let results: Collector;
let deadLetters: Collector;

beforeAll(async () => {
  if (!process.env['PUBSUB_EMULATOR_HOST'])
    throw new Error('PUBSUB_EMULATOR_HOST is not set: run with `npm test`');
  stack = await startStack('agg_pubsub', {
    SALDO_API_KEYS: `${TENANT}=${KEY}`,
    AGGREGATOR_PUBSUB_ENABLED: 'true',
    ...topics,
  });
  api = new Api(stack.aggregatorTarget, KEY);
  pubsub = new PubSub();
  results = await Collector.on(pubsub, topics.AGGREGATOR_RESULTS_TOPIC);
  deadLetters = await Collector.on(pubsub, topics.AGGREGATOR_DEAD_LETTER_TOPIC);
}, 120_000);

afterAll(async () => {
  await results?.close();
  await deadLetters?.close();
  await pubsub?.close();
  api?.close();
  await stack?.stop();
});

const resultFor = (key: string, count = 1) =>
  results
    .next(
      () => results.messages.filter((m) => m.attributes['idempotency_key'] === key).length >= count,
      `result for ${key}`,
    )
    .then(() => results.messages.filter((m) => m.attributes['idempotency_key'] === key));

async function newWallet(): Promise<string> {
  const opened = await api.call('OpenWallet', {
    idempotencyKey: randomUUID(),
    ownerType: 'PERSONAL',
    ownerId: 'u',
    currency: 'IDR',
  });
  return opened.walletId;
}

describe('balance-actions intake', () => {
  it('posts a signed TopUp, publishes the Transaction as the result, and a redelivered message posts nothing new', async () => {
    const walletId = await newWallet();
    const key = `ps-${randomUUID()}`;
    const request = { idempotency_key: key, wallet_id: walletId, amount: '1500', reference: 'va-77' };
    await publishAction(pubsub, topics.AGGREGATOR_ACTIONS_TOPIC, 'TopUp', TENANT, KEY, request);
    const [first] = await resultFor(key);
    expect(first?.attributes).toMatchObject({
      action: 'TopUp',
      tenant: TENANT,
      idempotency_key: key,
      status: 'OK',
    });
    const tx = JSON.parse(first?.data as string);
    expect(tx).toMatchObject({
      type: 'TOP_UP',
      status: 'POSTED',
      walletId,
      amount: '1500',
      currency: 'IDR',
      reference: 'va-77',
      replayed: false,
    });
    expect(tx.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    // The same message again (a redelivery, or a producer retry): same transaction, posted once.
    await publishAction(pubsub, topics.AGGREGATOR_ACTIONS_TOPIC, 'TopUp', TENANT, KEY, request);
    const [, second] = await resultFor(key, 2);
    expect(JSON.parse(second?.data as string)).toMatchObject({
      transactionId: tx.transactionId,
      replayed: true,
    });
    expect((await api.call('GetWallet', { walletId })).postedBalance).toBe('1500');

    // gRPC sees the same key: a replay there too.
    const viaGrpc = await api.call('TopUp', {
      idempotencyKey: key,
      walletId,
      amount: '1500',
      reference: 'va-77',
    });
    expect(viaGrpc).toMatchObject({ transactionId: tx.transactionId, replayed: true });
  });

  it('publishes refusals with the gRPC status name: a reused key with another request, insufficient funds, bad amounts', async () => {
    const walletId = await newWallet();
    const key = `ps-${randomUUID()}`;
    await api.call('TopUp', { idempotencyKey: key, walletId, amount: '100' });
    await publishAction(pubsub, topics.AGGREGATOR_ACTIONS_TOPIC, 'TopUp', TENANT, KEY, {
      idempotencyKey: key,
      walletId,
      amount: '999',
    });
    const [conflict] = await resultFor(key);
    expect(conflict?.attributes['status']).toBe('ALREADY_EXISTS');
    expect(JSON.parse(conflict?.data as string)).toMatchObject({
      code: 'ALREADY_EXISTS',
      reason: 'IDEMPOTENCY_CONFLICT',
      field: 'idempotency_key',
    });

    const usageKey = `ps-${randomUUID()}`;
    await publishAction(pubsub, topics.AGGREGATOR_ACTIONS_TOPIC, 'BookUsage', TENANT, KEY, {
      idempotencyKey: usageKey,
      walletId,
      amount: '101',
    });
    const [poor] = await resultFor(usageKey);
    expect(poor?.attributes['status']).toBe('FAILED_PRECONDITION');
    expect(JSON.parse(poor?.data as string).reason).toBe('INSUFFICIENT_FUNDS');

    const badKey = `ps-${randomUUID()}`;
    await publishAction(pubsub, topics.AGGREGATOR_ACTIONS_TOPIC, 'BookUsage', TENANT, KEY, {
      idempotencyKey: badKey,
      walletId,
      amount: '1.5',
    });
    const [bad] = await resultFor(badKey);
    expect(bad?.attributes['status']).toBe('INVALID_ARGUMENT');
    expect(JSON.parse(bad?.data as string).field).toBe('amount');
    expect((await api.call('GetWallet', { walletId })).postedBalance).toBe('100');
  });

  it('runs Reserve and Capture from messages like gRPC does', async () => {
    const walletId = await newWallet();
    await api.call('TopUp', { idempotencyKey: randomUUID(), walletId, amount: '500' });
    const reserveKey = `ps-${randomUUID()}`;
    await publishAction(pubsub, topics.AGGREGATOR_ACTIONS_TOPIC, 'Reserve', TENANT, KEY, {
      idempotencyKey: reserveKey,
      walletId,
      amount: '200',
      expiresInSeconds: 300,
    });
    const hold = JSON.parse((await resultFor(reserveKey))[0]?.data as string);
    expect(hold).toMatchObject({ type: 'RESERVE', status: 'PENDING' });
    const captureKey = `ps-${randomUUID()}`;
    await publishAction(pubsub, topics.AGGREGATOR_ACTIONS_TOPIC, 'Capture', TENANT, KEY, {
      idempotencyKey: captureKey,
      transactionId: hold.transactionId,
      amount: '150',
    });
    expect(JSON.parse((await resultFor(captureKey))[0]?.data as string)).toMatchObject({
      type: 'CAPTURE',
      amount: '150',
    });
    expect(await api.call('GetWallet', { walletId })).toMatchObject({
      postedBalance: '350',
      availableBalance: '350',
    });
  });

  it('dead-letters messages it can never process, with the reason, and posts nothing', async () => {
    const walletId = await newWallet();
    const request = (key: string) => ({ idempotencyKey: key, walletId, amount: '10' });
    const cases: Array<[string, Parameters<typeof publishAction>[6], string, string]> = [
      ['bad-signature', { signature: 'ab'.repeat(32) }, 'TopUp', 'bad signature'],
      ['signed-by-another-key', { signature: undefined, attributes: {} }, 'TopUp', 'bad signature'],
      ['bad-json', { body: '{"idempotencyKey": ' }, 'TopUp', 'not JSON'],
      [
        'unknown-field',
        { body: JSON.stringify({ idempotencyKey: 'x', walletId, amount: '10', colour: 'red' }) },
        'TopUp',
        'unknown field',
      ],
      ['unknown-action', {}, 'Withdraw', 'unknown action'],
      ['no-tenant', { attributes: { tenant: '' } }, 'TopUp', 'tenant'],
      // The replay window (issue 11 #7): the signature covers the timestamp, which must be recent.
      ['stale', { signedAtMs: Date.now() - 16 * 60_000 }, 'TopUp', 'stale'],
      ['from-the-future', { signedAtMs: Date.now() + 10 * 60_000 }, 'TopUp', 'from the future'],
      ['no-timestamp', { attributes: { timestamp: '' } }, 'TopUp', 'timestamp'],
      ['timestamp-changed', { attributes: { timestamp: String(Date.now() - 1) } }, 'TopUp', 'bad signature'],
    ];
    for (const [label, overrides, action, _reason] of cases) {
      const key = label === 'signed-by-another-key' ? 'x' : KEY;
      await publishAction(
        pubsub,
        topics.AGGREGATOR_ACTIONS_TOPIC,
        action,
        TENANT,
        label === 'signed-by-another-key' ? apiKey() : key,
        request(`dl-${label}`),
        {
          ...overrides,
          attributes: { ...overrides?.attributes, label },
        },
      );
    }
    for (const [label, , , reason] of cases) {
      const dead = await deadLetters.next((m) => m.attributes['label'] === label, `dead letter ${label}`);
      expect([label, dead.attributes['dead_letter_reason']]).toEqual([
        label,
        expect.stringContaining(reason),
      ]);
      expect(dead.attributes['original_message_id']).toBeTruthy();
    }
    expect(results.messages.filter((m) => (m.attributes['idempotency_key'] ?? '').startsWith('dl-'))).toEqual(
      [],
    );
    expect((await api.call('GetWallet', { walletId })).postedBalance).toBe('0');
  });
});
