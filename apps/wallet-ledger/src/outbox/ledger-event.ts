import { toTimestamp } from '@saldo/grpc-kit';
import { computeBalance, type AccountType } from '@saldo/ledger-domain';
import { eventsV1, ledgerV1 } from '@saldo/proto';
import { ownerTypeToWire, walletIdentityOf } from './wallet-identity';
import { ACCOUNT_TYPE_TO_WIRE, KIND_TO_WIRE, PHASE_TO_WIRE, SIDE_TO_WIRE } from '../ledger/wire-mapping';

export type OutboxEventType =
  | 'account.opened'
  | 'transaction.posted'
  | 'transaction.pending'
  | 'transaction.posted_from_pending'
  | 'transaction.voided'
  | 'transaction.reversed';

/** Static facts of an account the change touched (never its current balances: they move on). */
export interface AccountFacts {
  account_id: string;
  type: AccountType;
  asset_code: string;
  asset_scale: number;
  overdraft_limit: string;
  metadata: Record<string, string>;
}

export interface EntryJson {
  entry_id: string;
  account_id: string;
  side: 'debit' | 'credit';
  phase: 'posted' | 'pending' | 'release';
  amount: string;
  account_version: string;
  debits_posted: string;
  credits_posted: string;
  debits_pending: string;
  credits_pending: string;
}

/** ledger.transaction_json(): only the fields that never change after the transaction commits are used. */
export interface TransactionJson {
  transaction_id: string;
  kind: 'posted' | 'pending' | 'post_pending' | 'void_pending' | 'reversal';
  action: string;
  idempotency_key: string;
  asset_code: string;
  pending_transaction_id: string | null;
  reverses_transaction_id: string | null;
  expires_at: string | null;
  created_at: string;
  references: Record<string, string>;
  metadata: Record<string, string>;
  entries: EntryJson[];
}

export interface OutboxRecord {
  id: string;
  tenant_id: string;
  event_type: OutboxEventType;
  created_at: string;
  account_id: string | null;
  transaction: TransactionJson | null;
  accounts: AccountFacts[];
}

export interface OutgoingMessage {
  outboxId: string;
  orderingKey: string;
  attributes: { event_id: string; event_type: string; tenant: string };
  event: eventsV1.LedgerEvent;
}

const EVENT_TYPE_TO_WIRE: Record<OutboxEventType, eventsV1.LedgerEventType> = {
  'account.opened': eventsV1.LedgerEventType.LEDGER_EVENT_TYPE_WALLET_OPENED,
  'transaction.posted': eventsV1.LedgerEventType.LEDGER_EVENT_TYPE_TRANSACTION_POSTED,
  'transaction.pending': eventsV1.LedgerEventType.LEDGER_EVENT_TYPE_TRANSACTION_PENDING,
  'transaction.posted_from_pending':
    eventsV1.LedgerEventType.LEDGER_EVENT_TYPE_TRANSACTION_POSTED_FROM_PENDING,
  'transaction.voided': eventsV1.LedgerEventType.LEDGER_EVENT_TYPE_TRANSACTION_VOIDED,
  'transaction.reversed': eventsV1.LedgerEventType.LEDGER_EVENT_TYPE_TRANSACTION_REVERSED,
};

/** Default number of ordering keys (LEDGER_EVENTS_ORDERING_SHARDS). */
export const DEFAULT_ORDERING_SHARDS = 32;

/**
 * The Pub/Sub ordering key of a wallet's events: one of `shards` keys, chosen by a hash of the
 * wallet's ledger account id (immutable). A wallet's events share one key, so Pub/Sub keeps their
 * order; many wallets share a key, so the client publishes them together and no tenant or system
 * account is serialised on a key of its own.
 */
export function orderingKeyOf(accountId: string, shards: number): string {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be ≥ 1, got ${shards}`);
  let hash = 0x811c9dc5; // FNV-1a, 32 bit: stable across processes and releases
  for (let i = 0; i < accountId.length; i += 1) {
    hash ^= accountId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `wallets-${(hash % shards).toString().padStart(4, '0')}`;
}

/**
 * The messages announcing one outbox row: one per affected wallet (ordering key: the wallet's
 * shard, see orderingKeyOf), or one without an ordering key when no wallet is touched (system
 * accounts only: nothing to keep in order, so nothing to serialise). Built only from what never
 * changes once committed (the entries with their running totals, the transaction's immutable
 * fields, the accounts' identity), so a redelivery carries the same id and the same body.
 */
export function buildMessages(record: OutboxRecord, shards = DEFAULT_ORDERING_SHARDS): OutgoingMessage[] {
  const events =
    record.event_type === 'account.opened'
      ? [walletOpened(record, shards)]
      : transactionEvents(record, shards);
  return events.map((event) => ({
    outboxId: record.id,
    orderingKey: event.orderingKey,
    attributes: { event_id: event.eventId, event_type: event.type, tenant: event.tenantId },
    event,
  }));
}

function baseEvent(
  record: OutboxRecord,
): Omit<eventsV1.LedgerEvent, 'eventId' | 'orderingKey' | 'part' | 'parts' | 'wallet'> {
  const occurredAt = toTimestamp(record.created_at);
  if (!occurredAt)
    throw new Error(`outbox row ${record.id}: created_at "${record.created_at}" is not a timestamp`);
  return {
    tenantId: record.tenant_id,
    type: EVENT_TYPE_TO_WIRE[record.event_type],
    occurredAt,
    outboxId: record.id,
    wallets: [],
    transaction: undefined,
    businessAction: undefined,
  };
}

function walletOpened(record: OutboxRecord, shards: number): eventsV1.LedgerEvent {
  const facts = record.accounts.find((a) => a.account_id === record.account_id);
  if (!facts || facts.type !== 'wallet')
    throw new Error(`outbox row ${record.id}: opened account ${record.account_id} is not a wallet`);
  const zero = { debits_posted: '0', credits_posted: '0', debits_pending: '0', credits_pending: '0' };
  const wallet = walletState(facts, zero, '0', { posted: 0n, pendingDebits: 0n });
  return {
    ...baseEvent(record),
    eventId: `${record.id}.1`,
    orderingKey: orderingKeyOf(wallet.accountId, shards),
    part: 1,
    parts: 1,
    wallet,
    wallets: [wallet],
  };
}

function transactionEvents(record: OutboxRecord, shards: number): eventsV1.LedgerEvent[] {
  const tx = record.transaction;
  if (!tx) throw new Error(`outbox row ${record.id}: transaction not found`);
  if (tx.entries.length < 2)
    throw new Error(`outbox row ${record.id}: transaction ${tx.transaction_id} has fewer than two entries`);
  const facts = new Map(record.accounts.map((a) => [a.account_id, a]));
  const factsOf = (accountId: string): AccountFacts => {
    const found = facts.get(accountId);
    if (!found) throw new Error(`outbox row ${record.id}: account ${accountId} of an entry is unknown`);
    return found;
  };
  const wallets = affectedWallets(tx, factsOf);
  const transaction = transactionOf(tx, factsOf);
  const base = { ...baseEvent(record), wallets, transaction };
  if (wallets.length === 0) {
    const businessAction = businessActionOf(tx, factsOf, []);
    return [
      {
        ...base,
        eventId: `${record.id}.1`,
        orderingKey: '',
        part: 1,
        parts: 1,
        wallet: undefined,
        businessAction,
      },
    ];
  }
  return wallets.map((wallet, index) => ({
    ...base,
    eventId: `${record.id}.${index + 1}`,
    orderingKey: orderingKeyOf(wallet.accountId, shards),
    part: index + 1,
    parts: wallets.length,
    wallet,
    businessAction: businessActionOf(
      tx,
      factsOf,
      wallets.filter((other) => other.walletId !== wallet.walletId).map((other) => other.walletId),
    ),
  }));
}

/** Each wallet the transaction touched, in order of first entry, with its totals after the change. */
function affectedWallets(tx: TransactionJson, factsOf: (id: string) => AccountFacts): eventsV1.WalletState[] {
  const order: string[] = [];
  const last = new Map<string, EntryJson>();
  const effect = new Map<string, { posted: bigint; pendingDebits: bigint }>();
  for (const entry of tx.entries) {
    if (factsOf(entry.account_id).type !== 'wallet') continue;
    if (!last.has(entry.account_id)) order.push(entry.account_id);
    const previous = last.get(entry.account_id);
    if (!previous || BigInt(entry.entry_id) > BigInt(previous.entry_id)) last.set(entry.account_id, entry);
    const sum = effect.get(entry.account_id) ?? { posted: 0n, pendingDebits: 0n };
    const amount = BigInt(entry.amount);
    if (entry.phase === 'posted') sum.posted += entry.side === 'credit' ? amount : -amount;
    else if (entry.side === 'debit') sum.pendingDebits += entry.phase === 'pending' ? amount : -amount;
    effect.set(entry.account_id, sum);
  }
  return order.map((accountId) => {
    const after = last.get(accountId)!;
    return walletState(factsOf(accountId), after, after.account_version, effect.get(accountId)!);
  });
}

function walletState(
  facts: AccountFacts,
  totals: Pick<EntryJson, 'debits_posted' | 'credits_posted' | 'debits_pending' | 'credits_pending'>,
  version: string,
  effect: { posted: bigint; pendingDebits: bigint },
): eventsV1.WalletState {
  const identity = walletIdentityOf(facts.account_id, facts.metadata);
  const figures = computeBalance(
    {
      debitsPosted: BigInt(totals.debits_posted),
      creditsPosted: BigInt(totals.credits_posted),
      debitsPending: BigInt(totals.debits_pending),
      creditsPending: BigInt(totals.credits_pending),
    },
    'credit',
  );
  return {
    walletId: identity.walletId,
    accountId: facts.account_id,
    ownerType: ownerTypeToWire(identity.ownerType),
    ownerId: identity.ownerId,
    currency: facts.asset_code,
    assetScale: facts.asset_scale,
    debitsPosted: totals.debits_posted,
    creditsPosted: totals.credits_posted,
    debitsPending: totals.debits_pending,
    creditsPending: totals.credits_pending,
    postedBalance: figures.postedBalance.toString(),
    pendingDebits: totals.debits_pending,
    availableBalance: figures.availableBalance.toString(),
    version,
    postedDelta: effect.posted.toString(),
    availableDelta: (effect.posted - effect.pendingDebits).toString(),
    overdraftLimit: facts.overdraft_limit,
    parentOwnerId: identity.parentOwnerId,
  };
}

function transactionOf(
  tx: TransactionJson,
  factsOf: (id: string) => AccountFacts,
): eventsV1.LedgerTransaction {
  const createdAt = toTimestamp(tx.created_at);
  if (!createdAt) throw new Error(`transaction ${tx.transaction_id}: created_at is not a timestamp`);
  return {
    transactionId: tx.transaction_id,
    kind: KIND_TO_WIRE[tx.kind],
    // The status at commit: a later capture, void or reversal has its own event.
    status:
      tx.kind === 'pending'
        ? ledgerV1.TransactionStatus.TRANSACTION_STATUS_PENDING
        : ledgerV1.TransactionStatus.TRANSACTION_STATUS_POSTED,
    action: tx.action,
    idempotencyKey: tx.idempotency_key,
    assetCode: tx.asset_code || factsOf(tx.entries[0]!.account_id).asset_code,
    assetScale: factsOf(tx.entries[0]!.account_id).asset_scale,
    entries: tx.entries.map((entry) => {
      const facts = factsOf(entry.account_id);
      return {
        entryId: entry.entry_id,
        accountId: entry.account_id,
        accountType: ACCOUNT_TYPE_TO_WIRE[facts.type],
        walletId: facts.type === 'wallet' ? walletIdentityOf(facts.account_id, facts.metadata).walletId : '',
        side: SIDE_TO_WIRE[entry.side],
        phase: PHASE_TO_WIRE[entry.phase],
        amount: entry.amount,
        accountVersion: entry.account_version,
        debitsPosted: entry.debits_posted,
        creditsPosted: entry.credits_posted,
        debitsPending: entry.debits_pending,
        creditsPending: entry.credits_pending,
      };
    }),
    references: stringMap(tx.references),
    metadata: stringMap(tx.metadata),
    pendingTransactionId: tx.pending_transaction_id ?? '',
    reversesTransactionId: tx.reverses_transaction_id ?? '',
    expiresAt: toTimestamp(tx.expires_at),
    createdAt,
  };
}

function businessActionOf(
  tx: TransactionJson,
  factsOf: (id: string) => AccountFacts,
  counterpartWalletIds: string[],
): eventsV1.BusinessAction {
  // Net posted movement on an account type, in that type's normal direction.
  const net = (type: AccountType, normal: 'debit' | 'credit'): string => {
    let sum = 0n;
    for (const entry of tx.entries) {
      if (entry.phase !== 'posted' || factsOf(entry.account_id).type !== type) continue;
      sum += entry.side === normal ? BigInt(entry.amount) : -BigInt(entry.amount);
    }
    return sum === 0n ? '' : sum.toString();
  };
  return {
    action: tx.action,
    productCode: tx.references['product_code'] ?? '',
    costAmount: net('cost_of_revenue', 'debit'),
    revenueAmount: net('revenue', 'credit'),
    counterpartWalletIds,
    reference: tx.references['reference'] ?? '',
  };
}

function stringMap(value: Record<string, unknown> | null | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(value ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
}
