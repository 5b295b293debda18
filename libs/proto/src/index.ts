// Wire types generated from proto/ (ts-proto, NestJS mode) and where the .proto files live at run time.
export * as ledgerV1 from './generated/saldo/ledger/v1/ledger';
export * as eventsV1 from './generated/saldo/events/v1/events';
export * as transactionV1 from './generated/saldo/transaction/v1/transaction';
export type { Timestamp } from './generated/google/protobuf/timestamp';
export { protoRoot, protoFile } from './proto-files';
