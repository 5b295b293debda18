import {
  computeBalance,
  splitShadow,
  type AccountType,
  type NormalSide,
  type Side,
  type SystemAccountType,
} from '@saldo/ledger-domain';
import { toTimestamp } from '@saldo/grpc-kit';
import { ledgerV1 } from '@saldo/proto';

// Rows as the ledger's SQL functions return them (int8 as text, timestamps as ISO strings).
export interface AccountRow {
  account_id: string;
  tenant_id: string;
  asset_code: string;
  asset_scale: number;
  type: AccountType;
  normal_side: NormalSide;
  overdraft_limit: string;
  external_ref: string;
  metadata: Record<string, string>;
  created_at: string;
  debits_posted: string;
  credits_posted: string;
  debits_pending: string;
  credits_pending: string;
  version: string;
  /** Sum of the account's open shadow credits (wallets; "0" otherwise). */
  shadow_credits: string;
  replayed?: boolean;
}

export interface ShadowCreditRow {
  transaction_id: string;
  tenant_id: string;
  account_id: string;
  document_id: string;
  amount: string;
  state: 'shadow' | 'confirmed' | 'reversed';
  reason: string;
  created_at: string;
  settled_at: string | null;
  replayed?: boolean;
}

export interface TotalsRow {
  debits_posted: string;
  credits_posted: string;
  debits_pending: string;
  credits_pending: string;
}

export interface EntryRow extends TotalsRow {
  entry_id: string;
  transaction_id: string;
  account_id: string;
  asset_code: string;
  side: Side;
  phase: 'posted' | 'pending' | 'release';
  amount: string;
  normal_side: NormalSide;
  account_version: string;
  created_at: string;
}

export interface TransactionRow {
  transaction_id: string;
  tenant_id: string;
  kind: 'posted' | 'pending' | 'post_pending' | 'void_pending' | 'reversal';
  status: 'pending' | 'posted' | 'voided' | 'reversed';
  action: string;
  idempotency_key: string;
  asset_code: string;
  pending_transaction_id: string | null;
  resolved_by_transaction_id: string | null;
  reverses_transaction_id: string | null;
  reversed_by_transaction_id: string | null;
  expires_at: string | null;
  created_at: string;
  references: Record<string, string>;
  metadata: Record<string, string>;
  entries: EntryRow[];
  replayed?: boolean;
}

/** Stored names to wire enums: the one mapping used by the gRPC API and the ledger events. */
export const ACCOUNT_TYPE_TO_WIRE: Record<AccountType, ledgerV1.AccountType> = {
  wallet: ledgerV1.AccountType.ACCOUNT_TYPE_WALLET,
  cash_clearing: ledgerV1.AccountType.ACCOUNT_TYPE_CASH_CLEARING,
  revenue: ledgerV1.AccountType.ACCOUNT_TYPE_REVENUE,
  cost_of_revenue: ledgerV1.AccountType.ACCOUNT_TYPE_COST_OF_REVENUE,
  payables: ledgerV1.AccountType.ACCOUNT_TYPE_PAYABLES,
  promotions: ledgerV1.AccountType.ACCOUNT_TYPE_PROMOTIONS,
  opening_balances: ledgerV1.AccountType.ACCOUNT_TYPE_OPENING_BALANCES,
  grant: ledgerV1.AccountType.ACCOUNT_TYPE_GRANT,
  grant_contra: ledgerV1.AccountType.ACCOUNT_TYPE_GRANT_CONTRA,
  breakage: ledgerV1.AccountType.ACCOUNT_TYPE_BREAKAGE,
};

export function accountTypeFromWire(value: ledgerV1.AccountType | undefined): AccountType | undefined {
  const found = Object.entries(ACCOUNT_TYPE_TO_WIRE).find(([, wire]) => wire === value);
  return found?.[0] as AccountType | undefined;
}

export function systemAccountFromWire(
  value: ledgerV1.AccountType | undefined,
): SystemAccountType | undefined {
  const type = accountTypeFromWire(value);
  return type === 'wallet' || type === 'grant' ? undefined : type;
}

export function sideFromWire(value: ledgerV1.EntrySide | undefined): Side | undefined {
  if (value === ledgerV1.EntrySide.ENTRY_SIDE_DEBIT) return 'debit';
  if (value === ledgerV1.EntrySide.ENTRY_SIDE_CREDIT) return 'credit';
  return undefined;
}

export const SIDE_TO_WIRE = {
  debit: ledgerV1.EntrySide.ENTRY_SIDE_DEBIT,
  credit: ledgerV1.EntrySide.ENTRY_SIDE_CREDIT,
} as const;

export const PHASE_TO_WIRE = {
  posted: ledgerV1.EntryPhase.ENTRY_PHASE_POSTED,
  pending: ledgerV1.EntryPhase.ENTRY_PHASE_PENDING,
  release: ledgerV1.EntryPhase.ENTRY_PHASE_RELEASE,
} as const;

export const KIND_TO_WIRE = {
  posted: ledgerV1.TransactionKind.TRANSACTION_KIND_POSTED,
  pending: ledgerV1.TransactionKind.TRANSACTION_KIND_PENDING,
  post_pending: ledgerV1.TransactionKind.TRANSACTION_KIND_POST_PENDING,
  void_pending: ledgerV1.TransactionKind.TRANSACTION_KIND_VOID_PENDING,
  reversal: ledgerV1.TransactionKind.TRANSACTION_KIND_REVERSAL,
} as const;

export const STATUS_TO_WIRE = {
  pending: ledgerV1.TransactionStatus.TRANSACTION_STATUS_PENDING,
  posted: ledgerV1.TransactionStatus.TRANSACTION_STATUS_POSTED,
  voided: ledgerV1.TransactionStatus.TRANSACTION_STATUS_VOIDED,
  reversed: ledgerV1.TransactionStatus.TRANSACTION_STATUS_REVERSED,
} as const;

export function balanceToWire(
  accountId: string,
  totals: TotalsRow,
  normalSide: NormalSide,
  version: string,
  asOf: Date | string,
  /** Open shadow credits at that moment; undefined where they are not read (an entry's balance_after). */
  shadowCredits?: string,
): ledgerV1.Balance {
  const figures = computeBalance(
    {
      debitsPosted: BigInt(totals.debits_posted),
      creditsPosted: BigInt(totals.credits_posted),
      debitsPending: BigInt(totals.debits_pending),
      creditsPending: BigInt(totals.credits_pending),
    },
    normalSide,
  );
  return {
    accountId,
    debitsPosted: totals.debits_posted,
    creditsPosted: totals.credits_posted,
    debitsPending: totals.debits_pending,
    creditsPending: totals.credits_pending,
    postedBalance: figures.postedBalance.toString(),
    availableBalance: figures.availableBalance.toString(),
    version,
    asOf: toTimestamp(asOf),
    ...shadowFigures(figures.postedBalance, shadowCredits),
  };
}

function shadowFigures(
  postedBalance: bigint,
  shadowCredits: string | undefined,
): Pick<ledgerV1.Balance, 'shadowBalance' | 'confirmedBalance'> {
  if (shadowCredits === undefined) return { shadowBalance: '', confirmedBalance: '' };
  const split = splitShadow(postedBalance, BigInt(shadowCredits));
  return {
    shadowBalance: split.shadowBalance.toString(),
    confirmedBalance: split.confirmedBalance.toString(),
  };
}

const SHADOW_STATE_TO_WIRE = {
  shadow: ledgerV1.ShadowCreditState.SHADOW_CREDIT_STATE_SHADOW,
  confirmed: ledgerV1.ShadowCreditState.SHADOW_CREDIT_STATE_CONFIRMED,
  reversed: ledgerV1.ShadowCreditState.SHADOW_CREDIT_STATE_REVERSED,
} as const;

export function shadowCreditToWire(row: ShadowCreditRow): ledgerV1.ShadowCredit {
  return {
    transactionId: row.transaction_id,
    tenantId: row.tenant_id,
    accountId: row.account_id,
    documentId: row.document_id,
    amount: row.amount,
    state: SHADOW_STATE_TO_WIRE[row.state],
    reason: row.reason,
    createdAt: toTimestamp(row.created_at),
    settledAt: toTimestamp(row.settled_at),
    replayed: row.replayed === true,
  };
}

export function accountToWire(row: AccountRow): ledgerV1.Account {
  return {
    accountId: row.account_id,
    tenantId: row.tenant_id,
    assetCode: row.asset_code,
    assetScale: row.asset_scale,
    type: ACCOUNT_TYPE_TO_WIRE[row.type],
    overdraftLimit: row.overdraft_limit,
    externalRef: row.external_ref,
    metadata: row.metadata,
    balance: balanceToWire(
      row.account_id,
      row,
      row.normal_side,
      row.version,
      new Date(),
      row.type === 'wallet' ? row.shadow_credits : undefined,
    ),
    createdAt: toTimestamp(row.created_at),
    replayed: row.replayed === true,
  };
}

export function entryToWire(row: EntryRow): ledgerV1.Entry {
  return {
    entryId: row.entry_id,
    transactionId: row.transaction_id,
    accountId: row.account_id,
    assetCode: row.asset_code,
    side: SIDE_TO_WIRE[row.side],
    phase: PHASE_TO_WIRE[row.phase],
    amount: row.amount,
    balanceAfter: balanceToWire(row.account_id, row, row.normal_side, row.account_version, row.created_at),
    createdAt: toTimestamp(row.created_at),
  };
}

export function transactionToWire(row: TransactionRow): ledgerV1.Transaction {
  return {
    transactionId: row.transaction_id,
    tenantId: row.tenant_id,
    kind: KIND_TO_WIRE[row.kind],
    status: STATUS_TO_WIRE[row.status],
    action: row.action,
    idempotencyKey: row.idempotency_key,
    entries: row.entries.map(entryToWire),
    references: row.references,
    metadata: row.metadata,
    pendingTransactionId: row.pending_transaction_id ?? '',
    resolvedByTransactionId: row.resolved_by_transaction_id ?? '',
    reversesTransactionId: row.reverses_transaction_id ?? '',
    reversedByTransactionId: row.reversed_by_transaction_id ?? '',
    expiresAt: toTimestamp(row.expires_at),
    createdAt: toTimestamp(row.created_at),
    replayed: row.replayed === true,
    assetCode: row.asset_code,
  };
}
