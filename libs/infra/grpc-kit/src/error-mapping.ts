import { Metadata, status } from '@grpc/grpc-js';
import { dependencyError, RETRY_AFTER_METADATA_KEY } from '@saldo/faults';
import {
  isLedgerError,
  printableFieldName,
  type LedgerError,
  type LedgerErrorCode,
} from '@saldo/ledger-domain';
import { encodeStatusDetails } from './status-details';

export const ERROR_CODE_METADATA_KEY = 'saldo-error-code';
export const ERROR_FIELD_METADATA_KEY = 'saldo-error-field';

/** The one place a domain error code becomes a gRPC status. Exhaustive: a new code must be mapped here. */
export function grpcStatusOf(code: LedgerErrorCode): status {
  switch (code) {
    case 'INVALID_ARGUMENT':
    case 'AMOUNT_LIMIT_EXCEEDED':
    case 'UNBALANCED_TRANSACTION':
    case 'ASSET_MISMATCH':
      return status.INVALID_ARGUMENT;
    case 'ASSET_NOT_FOUND':
    case 'ACCOUNT_NOT_FOUND':
    case 'TRANSACTION_NOT_FOUND':
    case 'WALLET_NOT_FOUND':
      return status.NOT_FOUND;
    case 'INSUFFICIENT_FUNDS':
    case 'INSUFFICIENT_GRANTS':
    case 'HOLD_NOT_PENDING':
    case 'HOLD_EXPIRED':
    case 'AMOUNT_EXCEEDS_HOLD':
    case 'NOT_REVERSIBLE':
    case 'SHADOW_CREDIT_CONFLICT':
    case 'BALANCE_OVERFLOW':
    case 'WALLET_RULE_VIOLATION':
    case 'SPEND_LIMIT_EXCEEDED':
    case 'WALLET_FROZEN':
    case 'WALLET_CLOSED':
      return status.FAILED_PRECONDITION;
    case 'IDEMPOTENCY_CONFLICT':
    case 'ASSET_CONFLICT':
      return status.ALREADY_EXISTS;
    case 'CONFLICT_RETRY':
      return status.ABORTED;
    case 'DEPENDENCY_UNAVAILABLE':
      return status.UNAVAILABLE;
    case 'RESOURCE_EXHAUSTED':
      return status.RESOURCE_EXHAUSTED;
    case 'UNAUTHENTICATED':
      return status.UNAUTHENTICATED;
    case 'PERMISSION_DENIED':
      return status.PERMISSION_DENIED;
    case 'INTERNAL':
      return status.INTERNAL;
    default:
      return assertNever(code);
  }
}

export interface GrpcErrorPayload {
  code: status;
  message: string;
  details: string;
  metadata: Metadata;
}

/**
 * A gRPC error for grpc-js: the status, a readable message, and machine-readable details both as
 * trailers (saldo-error-code, saldo-error-field) and as google.rpc.Status in grpc-status-details-bin
 * (ErrorInfo + BadRequest field violation), which grpcurl and Google client libraries understand.
 * A dependency failure that was not coded on its way (a refused connection, a terminated backend,
 * a pool timeout: @saldo/faults) becomes UNAVAILABLE/ABORTED with "retry with the same key";
 * anything else that is not a LedgerError becomes INTERNAL without leaking its text.
 */
export function toGrpcError(error: unknown): GrpcErrorPayload {
  const ledgerError: LedgerError | undefined = isLedgerError(error) ? error : dependencyError(error);
  const code: LedgerErrorCode = ledgerError?.code ?? 'INTERNAL';
  const message = wellFormed(ledgerError?.message ?? 'internal error; it has been logged');
  const grpcCode = grpcStatusOf(code);
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, code);
  if (ledgerError?.details.field)
    metadata.set(ERROR_FIELD_METADATA_KEY, printableFieldName(ledgerError.details.field));
  const retryAfter = ledgerError?.details.facts?.['retry_after_ms'];
  if (code === 'RESOURCE_EXHAUSTED' && retryAfter) metadata.set(RETRY_AFTER_METADATA_KEY, retryAfter);
  metadata.set(
    'grpc-status-details-bin',
    encodeStatusDetails({
      code: grpcCode,
      message,
      reason: code,
      field: ledgerError?.details.field,
      facts: ledgerError?.details.facts,
    }),
  );
  return { code: grpcCode, message, details: message, metadata };
}

/** A lone surrogate (from a caller's text quoted in a message) would make grpc-message unencodable. */
function wellFormed(text: string): string {
  return text.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
}

function assertNever(value: never): never {
  throw new Error(`unmapped error code ${String(value)}`);
}
