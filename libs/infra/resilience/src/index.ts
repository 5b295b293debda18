export { backoffMs, retry, sleepMs } from './backoff';
export type { BackoffPolicy, RetryOptions } from './backoff';
export { FAST_RECONNECT_GRPC_OPTIONS } from './grpc-reconnect';
