export { backoffMs, retry, sleepMs } from './backoff';
export type { BackoffPolicy, RetryOptions } from './backoff';
