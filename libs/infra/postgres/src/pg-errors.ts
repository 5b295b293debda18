import { classifyFault } from '@saldo/faults';

/** What a PostgreSQL error means for the caller, independent of any domain. */
export type PgErrorClass =
  | { kind: 'domain'; code: string; message: string; hint: string | undefined }
  | { kind: 'retryable'; reason: string }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'constraint'; constraint: string | undefined; message: string }
  | { kind: 'overflow'; message: string }
  | { kind: 'other'; message: string };

interface PgLikeError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
  constraint?: string;
}

/**
 * Sorts a pg error: SQLSTATE SL001 is a domain failure raised by our SQL functions (message =
 * code, detail = readable text, hint = JSON); lock timeouts, deadlocks and serialization failures
 * are retryable; lost connections and an exhausted server are outages (both as @saldo/faults says).
 */
export function classifyPgError(error: unknown): PgErrorClass {
  const e = (error ?? {}) as PgLikeError;
  const message = e.message ?? String(error);
  if (e.code === 'SL001')
    return { kind: 'domain', code: message, message: e.detail ?? message, hint: e.hint };
  // Outages and collisions: the one classification of @saldo/faults.
  const fault = classifyFault(error);
  if (fault?.kind === 'retry') return { kind: 'retryable', reason: message };
  if (fault) return { kind: 'unavailable', reason: message };
  if (e.code === '23514' || e.code === '23505' || e.code === '23503') {
    return { kind: 'constraint', constraint: e.constraint, message };
  }
  if (e.code === '22003') return { kind: 'overflow', message };
  return { kind: 'other', message };
}
