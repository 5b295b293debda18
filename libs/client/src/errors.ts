// A failed call, as Saldo explains it: the status (Connect's code names, the same numbers as gRPC),
// Saldo's own reason (INSUFFICIENT_FUNDS, WALLET_FROZEN, …), the field at fault and the facts, read
// from the google.rpc.ErrorInfo / BadRequest details or the saldo-error-* headers.
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { Code, ConnectError } from '@connectrpc/connect';

/** Codes a call is retried on (with the same idempotency key): nothing was decided yet. */
export const RETRYABLE_CODES: ReadonlySet<Code> = new Set([
  Code.Unavailable,
  Code.Aborted,
  Code.ResourceExhausted,
]);

/** gRPC / Connect code names in SCREAMING_SNAKE_CASE (as gRPC tools print them). */
const CODE_NAMES: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

export class SaldoError extends Error {
  override readonly name = 'SaldoError';
  /** The status, e.g. "FAILED_PRECONDITION" (gRPC's name for it). */
  readonly status: string;
  /** The same as a number (gRPC and Connect share them). */
  readonly code: Code;
  /** Saldo's reason, e.g. "INSUFFICIENT_FUNDS"; undefined when the failure is not Saldo's (network). */
  readonly reason: string | undefined;
  /** The request field at fault (snake_case, as in proto/), if any. */
  readonly field: string | undefined;
  /** Machine-readable facts of the refusal (e.g. shortfall). */
  readonly facts: Readonly<Record<string, string>>;
  /** True when retrying the same request (same idempotency key) may succeed. */
  readonly retryable: boolean;
  /** How many attempts were made. */
  readonly attempts: number;

  constructor(cause: ConnectError, attempts: number) {
    super(cause.rawMessage || CODE_NAMES[cause.code] || 'call failed', { cause });
    this.code = cause.code;
    this.status = CODE_NAMES[cause.code] ?? String(cause.code);
    const details = decodeDetails(cause);
    this.reason = cause.metadata.get('saldo-error-code') ?? details.reason;
    this.field = cause.metadata.get('saldo-error-field') ?? details.field;
    this.facts = details.facts;
    this.retryable = RETRYABLE_CODES.has(cause.code);
    this.attempts = attempts;
  }
}

interface Details {
  reason?: string;
  field?: string;
  facts: Record<string, string>;
}

function decodeDetails(error: ConnectError): Details {
  const found: Details = { facts: {} };
  for (const detail of error.details) {
    if (!('type' in detail)) continue;
    try {
      if (detail.type === 'google.rpc.ErrorInfo') Object.assign(found, decodeErrorInfo(detail.value));
      else if (detail.type === 'google.rpc.BadRequest')
        found.field ??= decodeFirstViolationField(detail.value);
    } catch {
      // A detail we cannot read adds nothing; the status and message still stand.
    }
  }
  return found;
}

/** google.rpc.ErrorInfo: reason = 1, domain = 2, metadata = 3 (map<string, string>). */
function decodeErrorInfo(bytes: Uint8Array): Details {
  const reader = new BinaryReader(bytes);
  const info: Details = { facts: {} };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) info.reason = reader.string();
    else if (field === 3) {
      const entry = new BinaryReader(reader.bytes());
      let key = '';
      let value = '';
      while (entry.pos < entry.len) {
        const [entryField, entryWire] = entry.tag();
        if (entryField === 1) key = entry.string();
        else if (entryField === 2) value = entry.string();
        else entry.skip(entryWire);
      }
      info.facts[key] = value;
    } else reader.skip(wireType);
  }
  return info;
}

/** google.rpc.BadRequest: field_violations = 1 ({field = 1, description = 2}). */
function decodeFirstViolationField(bytes: Uint8Array): string | undefined {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 1) {
      reader.skip(wireType);
      continue;
    }
    const violation = new BinaryReader(reader.bytes());
    while (violation.pos < violation.len) {
      const [inner, innerWire] = violation.tag();
      if (inner === 1) return violation.string();
      violation.skip(innerWire);
    }
  }
  return undefined;
}

export { ConnectError, Code };
