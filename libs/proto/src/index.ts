// Wire types generated from proto/ (ts-proto, NestJS mode) and where the .proto files live at run time.
export * as ledgerV1 from './generated/saldo/ledger/v1/ledger';
export * as eventsV1 from './generated/saldo/events/v1/events';
export * as transactionV1 from './generated/saldo/transaction/v1/transaction';
export type { Timestamp } from './generated/google/protobuf/timestamp';
export { protoRoot, protoFile } from './proto-files';
// protobuf-es v2 (protoc-gen-es) code: the Connect door, server reflection, typed clients.
export * as transactionEs from './es/saldo/transaction/v1/transaction_pb';
export * as ledgerEs from './es/saldo/ledger/v1/ledger_pb';
export * as healthEs from './es/health/v1/health_pb';
export * as reflectionV1Es from './es/grpc/reflection/v1/reflection_pb';
export * as reflectionV1alphaEs from './es/grpc/reflection/v1alpha/reflection_pb';
export {
  TRANSACTION_PROTO_FILE,
  LEDGER_PROTO_FILE,
  HEALTH_PROTO_FILE,
  withImports,
  encodedFileDescriptors,
} from './descriptors';
