// @saldo/faults: the one classification of dependency failures, shared by every service and the CLI.
export { classifyFault, dependencyError, outcomeUnknown, logFailure, RETRY_HINT } from './classify';
export type { FailureLogger } from './classify';
export type { Fault, FaultKind } from './classify';
export { retryableStatus, exitCodeOfStatus, RETRY_AFTER_METADATA_KEY } from './status';
