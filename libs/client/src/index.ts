// @saldo/client: the typed client of Saldo's public TransactionService (see README.md).
// Transports: '@saldo/client/node' (gRPC, Connect, gRPC-Web) and '@saldo/client/web' (browsers).
export { createSaldoClient } from './client';
export type {
  CallOptions,
  RetryPolicy,
  SaldoClient,
  SaldoClientOptions,
  SaldoRequest,
  SaldoResponse,
} from './client';
export { SaldoError, RETRYABLE_CODES, Code, ConnectError } from './errors';
export { formatAmount, formatMajor, toMinorUnits } from './money';
// Messages, enums and their schemas (protobuf-es v2), e.g. WalletOwnerType, WalletSchema.
export * from './gen/saldo/transaction/v1/transaction_pb';
// JSON and timestamps, so callers need no second protobuf import.
export { toJson, toJsonString, fromJson, create } from '@bufbuild/protobuf';
export { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
