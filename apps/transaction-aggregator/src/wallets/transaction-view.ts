import { ledgerV1, transactionV1 } from '@saldo/proto';

const T = transactionV1.Transaction_Type;
const S = transactionV1.Transaction_Status;

/** References the aggregator writes on every ledger transaction; the ledger copies them onto captures, voids and reversals. */
export interface PostingReferences {
  /** The public wallet the action is about (a member for a member's usage). */
  wallet_id: string;
  /** The wallet whose ledger account moved (the member's organisation, else wallet_id). */
  funding_wallet_id: string;
  wallet_account_id: string;
  counterparty_wallet_id?: string;
  member_wallet_id?: string;
  product_code?: string;
  cost_amount?: string;
  reference?: string;
}

export function referencesOf(refs: PostingReferences): Record<string, string> {
  return Object.fromEntries(
    Object.entries(refs).filter(([, value]) => value !== undefined && value !== ''),
  ) as Record<string, string>;
}

const ACTION_TYPES: Readonly<Record<string, transactionV1.Transaction_Type>> = {
  TOP_UP: T.TOP_UP,
  USAGE: T.USAGE,
  TRANSFER: T.TRANSFER,
};

function typeOf(tx: ledgerV1.Transaction): transactionV1.Transaction_Type {
  switch (tx.kind) {
    case ledgerV1.TransactionKind.TRANSACTION_KIND_PENDING:
      return T.RESERVE;
    case ledgerV1.TransactionKind.TRANSACTION_KIND_POST_PENDING:
      return T.CAPTURE;
    case ledgerV1.TransactionKind.TRANSACTION_KIND_VOID_PENDING:
      return T.VOID;
    case ledgerV1.TransactionKind.TRANSACTION_KIND_REVERSAL:
      return T.REVERSAL;
    default:
      return ACTION_TYPES[tx.action] ?? T.TYPE_UNSPECIFIED;
  }
}

function statusOf(tx: ledgerV1.Transaction): transactionV1.Transaction_Status {
  switch (tx.status) {
    case ledgerV1.TransactionStatus.TRANSACTION_STATUS_PENDING:
      return S.PENDING;
    case ledgerV1.TransactionStatus.TRANSACTION_STATUS_VOIDED:
      return S.VOIDED;
    case ledgerV1.TransactionStatus.TRANSACTION_STATUS_REVERSED:
      return S.REVERSED;
    case ledgerV1.TransactionStatus.TRANSACTION_STATUS_POSTED:
      return S.POSTED;
    default:
      return S.STATUS_UNSPECIFIED;
  }
}

/** The entries that carry the wallet's movement: what is held, released or posted by this transaction. */
function phaseOf(tx: ledgerV1.Transaction): ledgerV1.EntryPhase {
  if (tx.kind === ledgerV1.TransactionKind.TRANSACTION_KIND_PENDING)
    return ledgerV1.EntryPhase.ENTRY_PHASE_PENDING;
  if (tx.kind === ledgerV1.TransactionKind.TRANSACTION_KIND_VOID_PENDING)
    return ledgerV1.EntryPhase.ENTRY_PHASE_RELEASE;
  return ledgerV1.EntryPhase.ENTRY_PHASE_POSTED;
}

/** The amount that moved on the wallet's ledger account (minor units, as a string). */
export function walletAmountOf(tx: ledgerV1.Transaction): bigint {
  const account = tx.references['wallet_account_id'];
  const phase = phaseOf(tx);
  return tx.entries
    .filter((entry) => entry.accountId === account && entry.phase === phase)
    .reduce((sum, entry) => sum + BigInt(entry.amount), 0n);
}

/** The ledger's key is "agg:<caller's key>" (wallet-rules ledgerKey); the caller sees its own key back. */
function publicKeyOf(ledgerKey: string): string {
  // A document top-up's key is the document's, not the caller's.
  if (!ledgerKey.startsWith('agg:') || ledgerKey.startsWith('agg:topup-doc:')) return '';
  return ledgerKey.slice('agg:'.length);
}

/** A ledger transaction as the public API shows it. */
export function toPublicTransaction(tx: ledgerV1.Transaction, replayed = false): transactionV1.Transaction {
  const refs = tx.references;
  return {
    transactionId: tx.transactionId,
    type: typeOf(tx),
    status: statusOf(tx),
    walletId: refs['wallet_id'] ?? '',
    amount: walletAmountOf(tx).toString(),
    currency: tx.assetCode,
    createdAt: tx.createdAt,
    counterpartyWalletId: refs['counterparty_wallet_id'] ?? '',
    productCode: refs['product_code'] ?? '',
    costAmount: refs['cost_amount'] ?? '',
    reference: refs['reference'] ?? '',
    relatedTransactionId: tx.pendingTransactionId || tx.reversesTransactionId,
    expiresAt: tx.expiresAt,
    idempotencyKey: publicKeyOf(tx.idempotencyKey),
    metadata: tx.metadata,
    replayed: replayed || tx.replayed,
    fundingWalletId: refs['funding_wallet_id'] ?? '',
    resolvedByTransactionId: tx.resolvedByTransactionId || tx.reversedByTransactionId,
  };
}
