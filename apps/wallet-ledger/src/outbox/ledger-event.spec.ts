import {
  buildMessages,
  DEFAULT_ORDERING_SHARDS,
  orderingKeyOf,
  type AccountFacts,
  type EntryJson,
  type OutboxRecord,
} from './ledger-event';
import { ProtoJsonCodec, timestampToJson } from './proto-json';
import { LEDGER_EVENT_TYPE } from './outbox-relay';
import { reparseLedgerEvent } from './testing/event-schema';
import { walletIdentityOf } from './wallet-identity';

const WALLET_A = '00000000-0000-4000-8000-00000000000a';
const WALLET_B = '00000000-0000-4000-8000-00000000000b';
const REVENUE = '00000000-0000-4000-8000-0000000000e1';
const COST = '00000000-0000-4000-8000-0000000000e2';
const PAYABLES = '00000000-0000-4000-8000-0000000000e3';

const facts = (
  account_id: string,
  type: AccountFacts['type'],
  metadata: Record<string, string> = {},
): AccountFacts => ({
  account_id,
  type,
  asset_code: 'IDR',
  asset_scale: 0,
  overdraft_limit: '0',
  metadata,
});

function entry(
  id: number,
  account_id: string,
  side: 'debit' | 'credit',
  phase: EntryJson['phase'],
  amount: string,
  after: Partial<EntryJson>,
): EntryJson {
  return {
    entry_id: String(id),
    account_id,
    side,
    phase,
    amount,
    account_version: '1',
    debits_posted: '0',
    credits_posted: '0',
    debits_pending: '0',
    credits_pending: '0',
    ...after,
  };
}

const codec = ProtoJsonCodec.load('saldo/events/v1/events.proto');

describe('buildMessages', () => {
  const usage: OutboxRecord = {
    id: '42',
    tenant_id: 'tenant-1',
    event_type: 'transaction.posted',
    created_at: '2026-03-01T10:00:00.123456+07:00',
    account_id: null,
    accounts: [
      facts(WALLET_A, 'wallet', { wallet_id: 'w-a', owner_type: 'PERSONAL', owner_id: 'uid-a' }),
      facts(REVENUE, 'revenue'),
      facts(COST, 'cost_of_revenue'),
      facts(PAYABLES, 'payables'),
    ],
    transaction: {
      transaction_id: '11111111-1111-4111-8111-111111111111',
      kind: 'posted',
      action: 'USAGE',
      idempotency_key: 'usage-1',
      asset_code: 'IDR',
      pending_transaction_id: null,
      reverses_transaction_id: null,
      expires_at: null,
      created_at: '2026-03-01T03:00:00.123456+00:00',
      references: { product_code: 'esign', reference: 'doc-9' },
      metadata: {},
      entries: [
        entry(100, WALLET_A, 'debit', 'posted', '1500', {
          account_version: '7',
          credits_posted: '10000',
          debits_posted: '1500',
          debits_pending: '200',
        }),
        entry(101, REVENUE, 'credit', 'posted', '1500', { account_version: '3', credits_posted: '4500' }),
        entry(102, COST, 'debit', 'posted', '400', { account_version: '2', debits_posted: '800' }),
        entry(103, PAYABLES, 'credit', 'posted', '400', { account_version: '2', credits_posted: '800' }),
      ],
    },
  };

  it('announces a usage once, for its wallet, with balances after the change and the business action', () => {
    const [message, ...rest] = buildMessages(usage);
    expect(rest).toHaveLength(0);
    expect(message!.orderingKey).toBe(orderingKeyOf(WALLET_A, DEFAULT_ORDERING_SHARDS));
    expect(message!.attributes).toEqual({
      event_id: '42.1',
      event_type: 'LEDGER_EVENT_TYPE_TRANSACTION_POSTED',
      tenant: 'tenant-1',
    });
    const json = codec.toJson(LEDGER_EVENT_TYPE, message!.event);
    expect(json).toMatchObject({
      eventId: '42.1',
      tenantId: 'tenant-1',
      type: 'LEDGER_EVENT_TYPE_TRANSACTION_POSTED',
      occurredAt: '2026-03-01T03:00:00.123456Z',
      orderingKey: orderingKeyOf(WALLET_A, DEFAULT_ORDERING_SHARDS),
      outboxId: '42',
      part: 1,
      parts: 1,
      wallet: {
        walletId: 'w-a',
        accountId: WALLET_A,
        ownerType: 'WALLET_OWNER_TYPE_PERSONAL',
        ownerId: 'uid-a',
        currency: 'IDR',
        postedBalance: '8500',
        pendingDebits: '200',
        availableBalance: '8300',
        version: '7',
        postedDelta: '-1500',
        availableDelta: '-1500',
      },
      businessAction: {
        action: 'USAGE',
        productCode: 'esign',
        costAmount: '400',
        revenueAmount: '1500',
        reference: 'doc-9',
      },
    });
    const transaction = json['transaction'] as Record<string, unknown>;
    expect(transaction['status']).toBe('TRANSACTION_STATUS_POSTED');
    expect(
      (transaction['entries'] as unknown[]).map((e) => (e as Record<string, string>)['accountType']),
    ).toEqual([
      'ACCOUNT_TYPE_WALLET',
      'ACCOUNT_TYPE_REVENUE',
      'ACCOUNT_TYPE_COST_OF_REVENUE',
      'ACCOUNT_TYPE_PAYABLES',
    ]);
    // Asset scale 0 and asset_scale default: proto3 JSON omits defaults.
    expect(json['wallet']).not.toHaveProperty('assetScale');
    expect(json).not.toHaveProperty('wallets.0.parentOwnerId');
  });

  it('writes proto3 JSON that an independent implementation parses strictly and prints identically', () => {
    for (const message of buildMessages(usage)) {
      const json = JSON.parse(codec.encode(LEDGER_EVENT_TYPE, message.event).toString('utf8'));
      expect(reparseLedgerEvent(json)).toEqual(json);
    }
  });

  it("announces a transfer once per wallet, each on its wallet's ordering key, with the counterpart", () => {
    const transfer: OutboxRecord = {
      ...usage,
      id: '43',
      accounts: [facts(WALLET_A, 'wallet'), facts(WALLET_B, 'wallet', { wallet_id: 'w-b' })],
      transaction: {
        ...usage.transaction!,
        action: 'TRANSFER',
        references: {},
        entries: [
          entry(200, WALLET_A, 'debit', 'posted', '300', {
            account_version: '8',
            credits_posted: '10000',
            debits_posted: '1800',
          }),
          entry(201, WALLET_B, 'credit', 'posted', '300', { account_version: '1', credits_posted: '300' }),
        ],
      },
    };
    const messages = buildMessages(transfer);
    expect(messages.map((m) => [m.orderingKey, m.attributes.event_id, m.event.part, m.event.parts])).toEqual([
      [orderingKeyOf(WALLET_A, DEFAULT_ORDERING_SHARDS), '43.1', 1, 2],
      [orderingKeyOf(WALLET_B, DEFAULT_ORDERING_SHARDS), '43.2', 2, 2],
    ]);
    expect(messages[0]!.event.businessAction!.counterpartWalletIds).toEqual(['w-b']);
    expect(messages[1]!.event.businessAction!.counterpartWalletIds).toEqual([WALLET_A]);
    expect(messages[1]!.event.wallet!.postedDelta).toBe('300');
    expect(messages[0]!.event.wallets.map((w) => w.version)).toEqual(['8', '1']);
    for (const message of messages) {
      const json = JSON.parse(codec.encode(LEDGER_EVENT_TYPE, message.event).toString('utf8'));
      expect(reparseLedgerEvent(json)).toEqual(json);
    }
  });

  it('publishes a transaction without wallets with no ordering key (nothing to order, nothing serialised)', () => {
    const systemOnly: OutboxRecord = {
      ...usage,
      id: '44',
      transaction: { ...usage.transaction!, entries: usage.transaction!.entries.slice(2) },
    };
    const [message] = buildMessages(systemOnly);
    expect(message!.orderingKey).toBe('');
    expect(codec.toJson(LEDGER_EVENT_TYPE, message!.event)).not.toHaveProperty('orderingKey');
    expect(message!.event.wallet).toBeUndefined();
    expect(message!.event.businessAction!.costAmount).toBe('400');
  });

  it('spreads wallets over the ordering shards, each wallet always on the same one', () => {
    const ids = Array.from(
      { length: 2_000 },
      (_, i) => `00000000-0000-4000-8000-${i.toString().padStart(12, '0')}`,
    );
    const keys = ids.map((id) => orderingKeyOf(id, 32));
    expect(ids.map((id) => orderingKeyOf(id, 32))).toEqual(keys);
    const counts = new Map<string, number>();
    for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
    expect(counts.size).toBe(32);
    for (const count of counts.values()) expect(count).toBeGreaterThan(2_000 / 32 / 2);
    expect(orderingKeyOf(ids[0]!, 1)).toBe('wallets-0000');
    expect(() => orderingKeyOf(ids[0]!, 0)).toThrow(RangeError);
  });

  it('announces a wallet opened with zero balances at version 0, and a hold with its pending amounts', () => {
    const opened: OutboxRecord = {
      ...usage,
      id: '1',
      event_type: 'account.opened',
      account_id: WALLET_A,
      transaction: null,
    };
    const [open] = buildMessages(opened);
    const json = codec.toJson(LEDGER_EVENT_TYPE, open!.event);
    expect(json['type']).toBe('LEDGER_EVENT_TYPE_WALLET_OPENED');
    expect(json['wallet']).toMatchObject({
      postedBalance: '0',
      availableBalance: '0',
      pendingDebits: '0',
      postedDelta: '0',
    });
    expect(json['wallet']).not.toHaveProperty('version'); // 0 is the default: omitted in proto3 JSON
    expect(reparseLedgerEvent(json)).toEqual(json);

    const hold: OutboxRecord = {
      ...usage,
      id: '45',
      event_type: 'transaction.pending',
      accounts: [facts(WALLET_A, 'wallet'), facts(REVENUE, 'revenue')],
      transaction: {
        ...usage.transaction!,
        kind: 'pending',
        expires_at: '2026-03-01T03:10:00+00:00',
        entries: [
          entry(300, WALLET_A, 'debit', 'pending', '250', {
            account_version: '9',
            credits_posted: '10000',
            debits_pending: '250',
          }),
          entry(301, REVENUE, 'credit', 'pending', '250', { account_version: '4', credits_pending: '250' }),
        ],
      },
    };
    const holdJson = codec.toJson(LEDGER_EVENT_TYPE, buildMessages(hold)[0]!.event);
    expect(holdJson['wallet']).toMatchObject({
      postedDelta: '0',
      availableDelta: '-250',
      availableBalance: '9750',
      pendingDebits: '250',
    });
    expect(holdJson['transaction']).toMatchObject({
      status: 'TRANSACTION_STATUS_PENDING',
      expiresAt: '2026-03-01T03:10:00Z',
    });
    expect(reparseLedgerEvent(holdJson)).toEqual(holdJson);
  });

  it('refuses to build an event for a transaction with an unknown account', () => {
    expect(() => buildMessages({ ...usage, accounts: usage.accounts.slice(1) })).toThrow(
      /account .* unknown/,
    );
  });
});

describe('ProtoJsonCodec', () => {
  it('refuses fields the schema does not have and values of the wrong type', () => {
    expect(() => codec.toJson(LEDGER_EVENT_TYPE, { eventId: 'x', bogus: 1 })).toThrow(/bogus: not a field/);
    expect(() => codec.toJson(LEDGER_EVENT_TYPE, { outboxId: 12 })).toThrow(
      /outboxId: expected an integer string/,
    );
    expect(() => codec.toJson(LEDGER_EVENT_TYPE, { type: 'POSTED' })).toThrow(/not a value of/);
    expect(() => codec.toJson(LEDGER_EVENT_TYPE, { outboxId: '18446744073709551616' })).toThrow(
      /out of range/,
    );
  });

  it('formats timestamps as RFC 3339 UTC with 0, 3, 6 or 9 fractional digits', () => {
    expect(timestampToJson({ seconds: '0', nanos: 0 })).toBe('1970-01-01T00:00:00Z');
    expect(timestampToJson({ seconds: '1767225600', nanos: 5_000_000 })).toBe('2026-01-01T00:00:00.005Z');
    expect(timestampToJson({ seconds: '1767225600', nanos: 123_456_000 })).toBe(
      '2026-01-01T00:00:00.123456Z',
    );
    expect(timestampToJson({ seconds: '1767225600', nanos: 1 })).toBe('2026-01-01T00:00:00.000000001Z');
    expect(() => timestampToJson({ seconds: '253402300800', nanos: 0 })).toThrow(/out of range/);
  });
});

describe('walletIdentityOf', () => {
  it('reads the owner contract from metadata and falls back to the account id', () => {
    expect(
      walletIdentityOf('acc', {
        wallet_id: 'w1',
        owner_type: 'Enterprise',
        owner_id: 'org-1',
        parent_owner_id: 'r-1',
      }),
    ).toEqual({
      walletId: 'w1',
      ownerType: 'enterprise',
      ownerId: 'org-1',
      parentOwnerId: 'r-1',
    });
    expect(walletIdentityOf('acc', {})).toEqual({
      walletId: 'acc',
      ownerType: 'unspecified',
      ownerId: 'acc',
      parentOwnerId: '',
    });
    // A wallet id that could address another Firestore path is not used.
    expect(walletIdentityOf('acc', { wallet_id: '../wallets/x' }).walletId).toBe('acc');
    expect(walletIdentityOf('acc', { owner_type: 'WALLET_OWNER_TYPE_RESELLER' }).ownerType).toBe('reseller');
  });
});
