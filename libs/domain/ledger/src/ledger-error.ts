/**
 * Every failure the ledger can report, as a closed list. Transports map each code to a status in
 * one exhaustive switch (see @saldo/grpc-kit), so adding a code here fails to compile until the
 * mapping says what callers will see.
 */
export const LEDGER_ERROR_CODES = [
  'INVALID_ARGUMENT',
  'UNBALANCED_TRANSACTION',
  'ASSET_MISMATCH',
  'ASSET_NOT_FOUND',
  'ACCOUNT_NOT_FOUND',
  'TRANSACTION_NOT_FOUND',
  'INSUFFICIENT_FUNDS',
  // Credit grants: no applicable grant (validity, products) covers the amount, whatever else the wallet holds.
  'INSUFFICIENT_GRANTS',
  'HOLD_NOT_PENDING',
  'HOLD_EXPIRED',
  'AMOUNT_EXCEEDS_HOLD',
  'NOT_REVERSIBLE',
  // A document credited twice, or a reversed shadow credit confirmed.
  'SHADOW_CREDIT_CONFLICT',
  'BALANCE_OVERFLOW',
  'IDEMPOTENCY_CONFLICT',
  'ASSET_CONFLICT',
  'CONFLICT_RETRY',
  'DEPENDENCY_UNAVAILABLE',
  // Admission control or an overloaded dependency: back off (retry-after-ms), then retry.
  'RESOURCE_EXHAUSTED',
  // An amount above the per-action maximum of its asset.
  'AMOUNT_LIMIT_EXCEEDED',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'INTERNAL',
  // transaction-aggregator: its wallet models.
  'WALLET_NOT_FOUND',
  'WALLET_RULE_VIOLATION',
  'SPEND_LIMIT_EXCEEDED',
  // Wallet lifecycle: a frozen wallet refuses debits; a closed one refuses every write.
  'WALLET_FROZEN',
  'WALLET_CLOSED',
] as const;

export type LedgerErrorCode = (typeof LEDGER_ERROR_CODES)[number];

export interface LedgerErrorDetails {
  /** The request field at fault, in the wire's snake_case (e.g. "legs[1].amount"). */
  readonly field?: string;
  /** Extra facts for the caller (never secrets), e.g. { available: "37", requested: "40" }. */
  readonly facts?: Readonly<Record<string, string>>;
}

export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    readonly details: LedgerErrorDetails = {},
  ) {
    super(message);
    this.name = 'LedgerError';
  }

  static invalid(field: string, message: string): LedgerError {
    return new LedgerError('INVALID_ARGUMENT', `${field}: ${message}`, { field });
  }
}

export function isLedgerError(value: unknown): value is LedgerError {
  return value instanceof LedgerError;
}
