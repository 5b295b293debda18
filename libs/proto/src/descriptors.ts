// The real file descriptors of what Saldo serves (protoc-gen-es embeds each .proto's
// FileDescriptorProto as compiled by buf: its own file name, its imports, snake_case field names
// with their JSON names). Server reflection hands these out unchanged, so buf curl and grpcurl
// see exactly proto/ and encode the README's snake_case JSON correctly.
import { toBinary, type DescFile } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { file_health_v1_health } from './es/health/v1/health_pb';
import { file_saldo_ledger_v1_ledger } from './es/saldo/ledger/v1/ledger_pb';
import { file_saldo_transaction_v1_transaction } from './es/saldo/transaction/v1/transaction_pb';

export const TRANSACTION_PROTO_FILE: DescFile = file_saldo_transaction_v1_transaction;
export const LEDGER_PROTO_FILE: DescFile = file_saldo_ledger_v1_ledger;
export const HEALTH_PROTO_FILE: DescFile = file_health_v1_health;

/** The files and everything they import, each once, imports first. */
export function withImports(files: readonly DescFile[]): DescFile[] {
  const ordered: DescFile[] = [];
  const seen = new Set<string>();
  const visit = (file: DescFile) => {
    if (seen.has(file.name)) return;
    seen.add(file.name);
    file.dependencies.forEach(visit);
    ordered.push(file);
  };
  files.forEach(visit);
  return ordered;
}

/** Serialized google.protobuf.FileDescriptorProto of the files and their imports (what reflection sends). */
export function encodedFileDescriptors(files: readonly DescFile[]): Uint8Array[] {
  return withImports(files).map((file) => toBinary(FileDescriptorProtoSchema, file.proto));
}
