import { status } from '@grpc/grpc-js';
import { LedgerError } from '@saldo/ledger-domain';

/**
 * What a dependency failure means for the caller:
 * - unavailable: the dependency (PostgreSQL, Redis, the ledger, Pub/Sub) cannot be reached or is
 *   restarting; the same request may succeed shortly (gRPC UNAVAILABLE);
 * - retry: the request collided with another (lock timeout, serialization failure, deadlock);
 *   running it again will do (gRPC ABORTED);
 * - overloaded: the dependency refused for load; back off first (gRPC RESOURCE_EXHAUSTED).
 */
export type FaultKind = 'unavailable' | 'retry' | 'overloaded';

export interface Fault {
  readonly kind: FaultKind;
  /** A short, stable label for logs and metrics (e.g. "pg_admin_shutdown", "connection_refused"). */
  readonly reason: string;
  /** The original error's message (for logs; never sent to callers). */
  readonly cause: string;
}

interface ErrorLike {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  name?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** Node's socket errors: the peer is gone or unreachable. */
const SOCKET_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  ECONNABORTED: 'connection_reset',
  EPIPE: 'connection_reset',
  ETIMEDOUT: 'connect_timeout',
  ENOTFOUND: 'host_not_found',
  EAI_AGAIN: 'host_not_found',
  EHOSTUNREACH: 'host_unreachable',
  ENETUNREACH: 'host_unreachable',
  ENETDOWN: 'host_unreachable',
};

/** PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const PG_CODES: Readonly<Record<string, { kind: FaultKind; reason: string }>> = {
  '57P01': { kind: 'unavailable', reason: 'pg_admin_shutdown' },
  '57P02': { kind: 'unavailable', reason: 'pg_crash_shutdown' },
  '57P03': { kind: 'unavailable', reason: 'pg_cannot_connect_now' },
  '57P05': { kind: 'unavailable', reason: 'pg_idle_session_timeout' },
  '08000': { kind: 'unavailable', reason: 'pg_connection_exception' },
  '08001': { kind: 'unavailable', reason: 'pg_cannot_connect' },
  '08003': { kind: 'unavailable', reason: 'pg_connection_does_not_exist' },
  '08004': { kind: 'unavailable', reason: 'pg_connection_rejected' },
  '08006': { kind: 'unavailable', reason: 'pg_connection_failure' },
  '08007': { kind: 'unavailable', reason: 'pg_transaction_resolution_unknown' },
  '53300': { kind: 'unavailable', reason: 'pg_too_many_connections' },
  '53200': { kind: 'overloaded', reason: 'pg_out_of_memory' },
  '53400': { kind: 'overloaded', reason: 'pg_configuration_limit' },
  '55P03': { kind: 'retry', reason: 'pg_lock_timeout' },
  '40001': { kind: 'retry', reason: 'pg_serialization_failure' },
  '40P01': { kind: 'retry', reason: 'pg_deadlock' },
  '57014': { kind: 'retry', reason: 'pg_statement_timeout' },
  '25P04': { kind: 'retry', reason: 'pg_transaction_timeout' },
};

/** Messages of drivers that carry no code (pg, pg-pool, ioredis, TypeORM). */
const MESSAGES: ReadonlyArray<{ pattern: RegExp; kind: FaultKind; reason: string }> = [
  { pattern: /Connection terminated/i, kind: 'unavailable', reason: 'connection_terminated' },
  { pattern: /timeout exceeded when trying to connect/i, kind: 'unavailable', reason: 'pool_timeout' },
  {
    pattern: /the database system is (shutting down|starting up|in recovery mode|not yet accepting)/i,
    kind: 'unavailable',
    reason: 'pg_cannot_connect_now',
  },
  {
    pattern: /terminating connection due to administrator command/i,
    kind: 'unavailable',
    reason: 'pg_admin_shutdown',
  },
  {
    pattern: /Client has encountered a connection error/i,
    kind: 'unavailable',
    reason: 'connection_terminated',
  },
  {
    pattern: /Connection is closed|Stream isn't writeable|Reached the max retries per request/i,
    kind: 'unavailable',
    reason: 'redis_unavailable',
  },
  { pattern: /Command timed out/i, kind: 'unavailable', reason: 'redis_timeout' },
  { pattern: /Cannot use a pool after calling end on the pool/i, kind: 'unavailable', reason: 'pool_closed' },
  {
    pattern: /connect (ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH)/i,
    kind: 'unavailable',
    reason: 'connection_refused',
  },
];

/** gRPC statuses a client received from a dependency. */
const GRPC_STATUSES: Readonly<Partial<Record<status, { kind: FaultKind; reason: string }>>> = {
  [status.UNAVAILABLE]: { kind: 'unavailable', reason: 'grpc_unavailable' },
  [status.DEADLINE_EXCEEDED]: { kind: 'unavailable', reason: 'grpc_deadline_exceeded' },
  [status.CANCELLED]: { kind: 'unavailable', reason: 'grpc_cancelled' },
  [status.ABORTED]: { kind: 'retry', reason: 'grpc_aborted' },
  [status.RESOURCE_EXHAUSTED]: { kind: 'overloaded', reason: 'grpc_resource_exhausted' },
};

const MAX_CAUSE_DEPTH = 4;

/**
 * The one classification of dependency failures (STYLE.md 10): a PostgreSQL, pg-pool, socket,
 * ioredis or gRPC-client error becomes a Fault; anything else (a bug, a domain refusal, a
 * constraint) is undefined and stays what it is. Follows `cause` and AggregateError's `errors`.
 */
export function classifyFault(error: unknown, depth = 0): Fault | undefined {
  if (error === null || error === undefined || depth > MAX_CAUSE_DEPTH) return undefined;
  if (error instanceof LedgerError) return faultOfLedgerError(error);
  if (typeof error !== 'object') return undefined;
  const e = error as ErrorLike;
  const message = typeof e.message === 'string' ? e.message : '';
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && PG_CODES[code])
    return { ...(PG_CODES[code] as { kind: FaultKind; reason: string }), cause: message };
  if (code && SOCKET_CODES[code])
    return { kind: 'unavailable', reason: SOCKET_CODES[code] as string, cause: message };
  if (typeof e.code === 'number' && 'metadata' in e) {
    const grpc = GRPC_STATUSES[e.code as status];
    if (grpc) return { ...grpc, cause: message };
  }
  for (const { pattern, kind, reason } of MESSAGES) {
    if (pattern.test(message)) return { kind, reason, cause: message };
  }
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const fault = classifyFault(inner, depth + 1);
      if (fault) return fault;
    }
  }
  return e.cause === undefined ? undefined : classifyFault(e.cause, depth + 1);
}

function faultOfLedgerError(error: LedgerError): Fault | undefined {
  switch (error.code) {
    case 'DEPENDENCY_UNAVAILABLE':
      return { kind: 'unavailable', reason: 'dependency_unavailable', cause: error.message };
    case 'CONFLICT_RETRY':
      return { kind: 'retry', reason: 'conflict_retry', cause: error.message };
    case 'RESOURCE_EXHAUSTED':
      return { kind: 'overloaded', reason: 'resource_exhausted', cause: error.message };
    default:
      return undefined;
  }
}

export const RETRY_HINT = 'retry with the same idempotency key';

/**
 * The LedgerError a caller should see for a dependency failure (undefined when it is none).
 * A LedgerError is returned as it is. `what` names the dependency ("the database", "the ledger").
 */
export function dependencyError(error: unknown, what = 'a dependency'): LedgerError | undefined {
  if (error instanceof LedgerError) return error;
  const fault = classifyFault(error);
  if (!fault) return undefined;
  const facts = { fault: fault.reason };
  switch (fault.kind) {
    case 'unavailable':
      return new LedgerError('DEPENDENCY_UNAVAILABLE', `${what} is unavailable right now; ${RETRY_HINT}`, {
        facts,
      });
    case 'retry':
      return new LedgerError('CONFLICT_RETRY', `the request collided with another; ${RETRY_HINT}`, { facts });
    case 'overloaded':
      return new LedgerError('RESOURCE_EXHAUSTED', `${what} is overloaded; back off, then ${RETRY_HINT}`, {
        facts,
      });
    default:
      return assertNever(fault.kind);
  }
}

/**
 * The answer when the outcome of a write is unknown to this process (the ledger may have
 * committed, but recording it failed): UNAVAILABLE, so the caller retries with its key and the
 * journal converges on that retry. Never INTERNAL, which a gRPC client treats as final.
 */
export function outcomeUnknown(what: string, cause: unknown): LedgerError {
  const fault = classifyFault(cause);
  return new LedgerError(
    'DEPENDENCY_UNAVAILABLE',
    `${what}: the outcome is not known yet, it may have been applied; ${RETRY_HINT} to get the result`,
    { facts: { fault: fault?.reason ?? 'outcome_unknown' } },
  );
}

function assertNever(value: never): never {
  throw new Error(`unhandled fault kind ${String(value)}`);
}

/** The two levels logFailure needs (a pino Logger fits). */
export interface FailureLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/**
 * Logs a failure at the level it deserves: a dependency failure is an expected, retried event (one
 * warning with its classified reason, no stack), anything else is an error with its stack.
 */
export function logFailure(
  logger: FailureLogger,
  error: unknown,
  fields: Record<string, unknown>,
  message: string,
): Fault | undefined {
  const fault = classifyFault(error);
  if (fault)
    logger.warn({ ...fields, fault: fault.reason, fault_kind: fault.kind, cause: fault.cause }, message);
  else logger.error({ ...fields, err: error }, message);
  return fault;
}
