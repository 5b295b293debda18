import { computeBalance, splitShadow } from '@saldo/ledger-domain';
import type { Pool, PoolClient } from 'pg';
import { walletIdentityOf, type WalletIdentity } from '../outbox/wallet-identity';

/** One transaction as the wallet saw it: its effect on the wallet and the balances right after. */
export interface WalletTransactionView {
  transactionId: string;
  walletVersion: bigint;
  kind: string;
  /** Current status (a hold shows `posted` or `voided` once resolved, a posting `reversed`). */
  status: string;
  action: string;
  postedDelta: bigint;
  availableDelta: bigint;
  postedBalanceAfter: bigint;
  availableBalanceAfter: bigint;
  pendingDebitsAfter: bigint;
  references: Record<string, string>;
  pendingTransactionId: string | null;
  reversesTransactionId: string | null;
  /** For a transaction that credited ERP-document money: its shadow credit's state. */
  shadowState: 'shadow' | 'confirmed' | 'reversed' | null;
  createdAt: string;
}

/** A wallet as of one consistent PostgreSQL snapshot. */
export interface WalletSnapshot {
  accountId: string;
  tenantId: string;
  identity: WalletIdentity;
  currency: string;
  assetScale: number;
  overdraftLimit: string;
  postedBalance: bigint;
  pendingDebits: bigint;
  availableBalance: bigint;
  /** postedBalance split by the open shadow credits (see splitShadow). */
  shadowBalance: bigint;
  confirmedBalance: bigint;
  version: bigint;
  /**
   * Raised by each shadow-credit confirmation, which moves no money and so leaves the version
   * alone: (version, shadowRevision) orders the wallet's states.
   */
  shadowRevision: bigint;
  /** When the wallet last changed in the ledger (its newest entry, or its opening). */
  updatedAt: string;
  /** When the snapshot was read (database clock). */
  readAt: string;
  /** The newest transactions, newest first, at most `kept`: versions version−kept+1 .. version. */
  transactions: WalletTransactionView[];
}

interface AccountRow {
  account_id: string;
  tenant_id: string;
  type: string;
  asset_code: string;
  asset_scale: number;
  overdraft_limit: string;
  metadata: Record<string, string>;
  debits_posted: string;
  credits_posted: string;
  debits_pending: string;
  credits_pending: string;
  version: string;
  shadow_credits: string;
  shadow_revision: string;
  updated_at: string;
  read_at: string;
}

interface EntryRow {
  entry_id: string;
  transaction_id: string;
  side: 'debit' | 'credit';
  phase: 'posted' | 'pending' | 'release';
  amount: string;
  account_version: string;
  debits_posted: string;
  credits_posted: string;
  debits_pending: string;
  kind: string;
  status: string;
  action: string;
  references: Record<string, string>;
  pending_transaction_id: string | null;
  reverses_transaction_id: string | null;
  shadow_state: WalletTransactionView['shadowState'];
  created_at: string;
}

interface BatchEntryRow extends EntryRow {
  wallet_account_id: string;
}

// Every claimed wallet in one statement (= ANY: index probes on the primary key).
const ACCOUNTS_SQL = `
SELECT a.id AS account_id, a.tenant_id, a.type, a.asset_code, s.scale AS asset_scale, a.overdraft_limit::text,
       a.metadata, a.debits_posted::text, a.credits_posted::text, a.debits_pending::text, a.credits_pending::text,
       a.version::text,
       (SELECT coalesce(sum(c.amount), 0)::text FROM ledger.shadow_credits c
         WHERE c.account_id = a.id AND c.state = 'shadow') AS shadow_credits,
       coalesce((SELECT m.pending_shadow_revision FROM ledger.mirror_state m WHERE m.account_id = a.id), 0)::text
         AS shadow_revision,
       to_json(coalesce((SELECT e.created_at FROM ledger.entries e WHERE e.account_id = a.id ORDER BY e.id DESC LIMIT 1),
                        a.created_at)) #>> '{}' AS updated_at,
       to_json(clock_timestamp()) #>> '{}' AS read_at
  FROM ledger.accounts a JOIN ledger.assets s ON s.tenant_id = a.tenant_id AND s.code = a.asset_code
 WHERE a.id = ANY ($1::uuid[])`;

const ENTRY_COLUMNS = `e.id::text AS entry_id, e.transaction_id, e.side, e.phase, e.amount::text, e.account_version::text,
       e.debits_posted::text, e.credits_posted::text, e.debits_pending::text,
       t.kind, t.status, t.action, t.refs AS references, t.pending_id AS pending_transaction_id,
       t.reverses_id AS reverses_transaction_id, c.state AS shadow_state,
       to_json(t.created_at) #>> '{}' AS created_at`;

// The newest entries of every wallet, at most $2 each, by the (account_id, id) index: a bounded
// backwards walk per wallet, never a scan of a hot wallet's history. A wallet whose window needs
// more rows than that (several entries per transaction) is read again page by page (ENTRIES_SQL).
const BATCH_ENTRIES_SQL = `
SELECT w.id AS wallet_account_id, ${ENTRY_COLUMNS}
  FROM unnest($1::uuid[]) AS w(id)
 CROSS JOIN LATERAL (SELECT * FROM ledger.entries e0 WHERE e0.account_id = w.id ORDER BY e0.id DESC LIMIT $2) e
  JOIN ledger.transactions t ON t.id = e.transaction_id
  LEFT JOIN ledger.shadow_credits c ON c.transaction_id = e.transaction_id
 ORDER BY w.id, e.id DESC`;

// Newest entries first by the (account_id, id) index, a page at a time: no scan of a hot wallet's history.
const ENTRIES_SQL = `
SELECT ${ENTRY_COLUMNS}
  FROM ledger.entries e JOIN ledger.transactions t ON t.id = e.transaction_id
  LEFT JOIN ledger.shadow_credits c ON c.transaction_id = e.transaction_id
 WHERE e.account_id = $1 AND e.id < $2
 ORDER BY e.id DESC
 LIMIT $3`;

const ENTRY_PAGE = 400;
const MAX_PAGES = 50; // a transaction holds at most a few entries of one wallet; this is a runaway guard
/** Entries read per wallet by the batch statement: a window of `kept` transactions, most of one entry. */
const BATCH_ENTRIES_PER_TRANSACTION = 2;
/** Wallets read per statement (a limit on everything). */
export const SNAPSHOT_BATCH_MAX = 1_000;

/** Reads the wallet and its newest `kept` transactions in one REPEATABLE READ snapshot; undefined if not a wallet. */
export async function loadWalletSnapshot(
  pool: Pool,
  accountId: string,
  kept: number,
): Promise<WalletSnapshot | undefined> {
  return (await loadWalletSnapshots(pool, [accountId], kept)).get(accountId);
}

/**
 * Reads many wallets, each with its newest `kept` transactions, in one REPEATABLE READ snapshot and
 * two statements (plus one paged read for a rare wallet with many entries per transaction). Keyed
 * by account id; an id that is not a wallet is absent.
 */
export async function loadWalletSnapshots(
  pool: Pool,
  accountIds: readonly string[],
  kept: number,
): Promise<Map<string, WalletSnapshot>> {
  if (accountIds.length > SNAPSHOT_BATCH_MAX)
    throw new RangeError(`at most ${SNAPSHOT_BATCH_MAX} wallets per read, got ${accountIds.length}`);
  const snapshots = new Map<string, WalletSnapshot>();
  if (accountIds.length === 0) return snapshots;
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const accounts = (await client.query<AccountRow>(ACCOUNTS_SQL, [accountIds])).rows.filter(
        (a) => a.type === 'wallet',
      );
      const perWallet = kept * BATCH_ENTRIES_PER_TRANSACTION;
      const entries = (
        await client.query<BatchEntryRow>(BATCH_ENTRIES_SQL, [accounts.map((a) => a.account_id), perWallet])
      ).rows;
      const byWallet = new Map<string, EntryRow[]>();
      for (const row of entries) {
        const list = byWallet.get(row.wallet_account_id) ?? [];
        list.push(row);
        byWallet.set(row.wallet_account_id, list);
      }
      for (const account of accounts) {
        const rows = byWallet.get(account.account_id) ?? [];
        const window = windowOf(rows, BigInt(account.version), kept);
        // Cut short by the per-wallet limit before the window's start: read this wallet in pages.
        const complete = rows.length < perWallet || window.reachedOlder;
        const groups = complete
          ? window.groups
          : await pagedWindow(client, account.account_id, account.version, kept);
        snapshots.set(account.account_id, snapshotOf(account, groups));
      }
      await client.query('COMMIT');
      return snapshots;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    client.release();
  }
}

/** Groups entries (newest first) by transaction while they belong to the newest `kept` versions. */
function windowOf(rows: readonly EntryRow[], version: bigint, kept: number) {
  const oldestKept = version - BigInt(kept) + 1n;
  const groups = new Map<string, EntryRow[]>();
  for (const row of rows) {
    if (BigInt(row.account_version) < oldestKept) return { groups, reachedOlder: true };
    const group = groups.get(row.transaction_id) ?? [];
    group.push(row);
    groups.set(row.transaction_id, group);
  }
  return { groups, reachedOlder: false };
}

async function pagedWindow(
  client: PoolClient,
  accountId: string,
  version: string,
  kept: number,
): Promise<Map<string, EntryRow[]>> {
  const all: EntryRow[] = [];
  let before = '9223372036854775807';
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const rows = (await client.query<EntryRow>(ENTRIES_SQL, [accountId, before, ENTRY_PAGE])).rows;
    all.push(...rows);
    const window = windowOf(all, BigInt(version), kept);
    if (window.reachedOlder || rows.length < ENTRY_PAGE) return window.groups;
    before = rows[rows.length - 1]!.entry_id;
  }
  throw new Error(
    `wallet ${accountId}: more than ${MAX_PAGES * ENTRY_PAGE} entries in its last ${kept} transactions`,
  );
}

function snapshotOf(account: AccountRow, byTransaction: Map<string, EntryRow[]>): WalletSnapshot {
  const figures = balanceOf(account);
  const shadow = splitShadow(figures.postedBalance, BigInt(account.shadow_credits));
  const transactions = [...byTransaction.values()]
    .map(transactionView)
    .sort((a, b) => (a.walletVersion > b.walletVersion ? -1 : 1));
  return {
    accountId: account.account_id,
    tenantId: account.tenant_id,
    identity: walletIdentityOf(account.account_id, account.metadata),
    currency: account.asset_code,
    assetScale: account.asset_scale,
    overdraftLimit: account.overdraft_limit,
    postedBalance: figures.postedBalance,
    pendingDebits: BigInt(account.debits_pending),
    availableBalance: figures.availableBalance,
    shadowBalance: shadow.shadowBalance,
    confirmedBalance: shadow.confirmedBalance,
    version: BigInt(account.version),
    shadowRevision: BigInt(account.shadow_revision),
    updatedAt: account.updated_at,
    readAt: account.read_at,
    transactions,
  };
}

function balanceOf(totals: {
  debits_posted: string;
  credits_posted: string;
  debits_pending: string;
  credits_pending?: string;
}) {
  return computeBalance(
    {
      debitsPosted: BigInt(totals.debits_posted),
      creditsPosted: BigInt(totals.credits_posted),
      debitsPending: BigInt(totals.debits_pending),
      creditsPending: BigInt(totals.credits_pending ?? '0'),
    },
    'credit',
  );
}

/** Entries of one transaction on the wallet (newest first) → its view. */
function transactionView(entries: EntryRow[]): WalletTransactionView {
  const newest = entries[0]!;
  let posted = 0n;
  let pendingDebits = 0n;
  for (const entry of entries) {
    const amount = BigInt(entry.amount);
    if (entry.phase === 'posted') posted += entry.side === 'credit' ? amount : -amount;
    else if (entry.side === 'debit') pendingDebits += entry.phase === 'pending' ? amount : -amount;
  }
  const after = balanceOf(newest);
  return {
    transactionId: newest.transaction_id,
    walletVersion: BigInt(newest.account_version),
    kind: newest.kind,
    status: newest.status,
    action: newest.action,
    postedDelta: posted,
    availableDelta: posted - pendingDebits,
    postedBalanceAfter: after.postedBalance,
    availableBalanceAfter: after.availableBalance,
    pendingDebitsAfter: BigInt(newest.debits_pending),
    references: newest.references ?? {},
    pendingTransactionId: newest.pending_transaction_id,
    reversesTransactionId: newest.reverses_transaction_id,
    shadowState: newest.shadow_state ?? null,
    createdAt: newest.created_at,
  };
}
