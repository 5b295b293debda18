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

const ACCOUNT_SQL = `
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
 WHERE a.id = $1`;

// Newest entries first by the (account_id, id) index, a page at a time: no scan of a hot wallet's history.
const ENTRIES_SQL = `
SELECT e.id::text AS entry_id, e.transaction_id, e.side, e.phase, e.amount::text, e.account_version::text,
       e.debits_posted::text, e.credits_posted::text, e.debits_pending::text,
       t.kind, t.status, t.action, t.refs AS references, t.pending_id AS pending_transaction_id,
       t.reverses_id AS reverses_transaction_id, c.state AS shadow_state,
       to_json(t.created_at) #>> '{}' AS created_at
  FROM ledger.entries e JOIN ledger.transactions t ON t.id = e.transaction_id
  LEFT JOIN ledger.shadow_credits c ON c.transaction_id = e.transaction_id
 WHERE e.account_id = $1 AND e.id < $2
 ORDER BY e.id DESC
 LIMIT $3`;

const ENTRY_PAGE = 400;
const MAX_PAGES = 50; // a transaction holds at most a few entries of one wallet; this is a runaway guard

/** Reads the wallet and its newest `kept` transactions in one REPEATABLE READ snapshot; undefined if not a wallet. */
export async function loadWalletSnapshot(
  pool: Pool,
  accountId: string,
  kept: number,
): Promise<WalletSnapshot | undefined> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const snapshot = await readSnapshot(client, accountId, kept);
      await client.query('COMMIT');
      return snapshot;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    client.release();
  }
}

async function readSnapshot(
  client: PoolClient,
  accountId: string,
  kept: number,
): Promise<WalletSnapshot | undefined> {
  const account = (await client.query<AccountRow>(ACCOUNT_SQL, [accountId])).rows[0];
  if (!account || account.type !== 'wallet') return undefined;
  const version = BigInt(account.version);
  const oldestKept = version - BigInt(kept) + 1n;
  const byTransaction = new Map<string, EntryRow[]>();
  let before = '9223372036854775807';
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const rows = (await client.query<EntryRow>(ENTRIES_SQL, [accountId, before, ENTRY_PAGE])).rows;
    let reachedOlder = false;
    for (const row of rows) {
      if (BigInt(row.account_version) < oldestKept) {
        reachedOlder = true;
        break;
      }
      const group = byTransaction.get(row.transaction_id) ?? [];
      group.push(row);
      byTransaction.set(row.transaction_id, group);
    }
    if (reachedOlder || rows.length < ENTRY_PAGE) break;
    before = rows[rows.length - 1]!.entry_id;
    if (page === MAX_PAGES - 1)
      throw new Error(
        `wallet ${accountId}: more than ${MAX_PAGES * ENTRY_PAGE} entries in its last ${kept} transactions`,
      );
  }
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
    version,
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
