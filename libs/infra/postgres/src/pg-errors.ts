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

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  '53300',
]);

/**
 * Sorts a pg error: SQLSTATE SL001 is a domain failure raised by our SQL functions (message =
 * code, detail = readable text, hint = JSON); lock timeouts, deadlocks and serialization failures
 * are retryable; lost connections and an exhausted server are outages.
 */
export function classifyPgError(error: unknown): PgErrorClass {
  const e = (error ?? {}) as PgLikeError;
  const message = e.message ?? String(error);
  if (e.code === 'SL001')
    return { kind: 'domain', code: message, message: e.detail ?? message, hint: e.hint };
  if (e.code === '55P03' || e.code === '40P01' || e.code === '40001')
    return { kind: 'retryable', reason: message };
  if (e.code === '57014') return { kind: 'retryable', reason: 'statement timed out' };
  if (
    (e.code && CONNECTION_CODES.has(e.code)) ||
    /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED/i.test(message)
  ) {
    return { kind: 'unavailable', reason: message };
  }
  if (e.code === '23514' || e.code === '23505' || e.code === '23503') {
    return { kind: 'constraint', constraint: e.constraint, message };
  }
  if (e.code === '22003') return { kind: 'overflow', message };
  return { kind: 'other', message };
}
