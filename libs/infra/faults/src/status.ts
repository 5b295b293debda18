import { status } from '@grpc/grpc-js';

/** Trailer of a RESOURCE_EXHAUSTED answer: how long to wait before trying again (integer ms). */
export const RETRY_AFTER_METADATA_KEY = 'retry-after-ms';

/** Statuses after which the same request, with the same idempotency key, may succeed. */
export function retryableStatus(code: status): boolean {
  return (
    code === status.UNAVAILABLE ||
    code === status.ABORTED ||
    code === status.RESOURCE_EXHAUSTED ||
    code === status.DEADLINE_EXCEEDED
  );
}

/** The saldo CLI's exit code for a failed call: 3 "retry with the same key", 1 refused or failed. */
export function exitCodeOfStatus(code: status): 1 | 3 {
  return retryableStatus(code) ? 3 : 1;
}
