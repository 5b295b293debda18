// Test helper: an independent proto3 JSON implementation (@bufbuild/protobuf, a dev dependency)
// over the descriptors `buf build` compiles from proto/, to check what the relay publishes.
import {
  createFileRegistry,
  fromBinary,
  fromJson,
  toJson,
  type DescMessage,
  type JsonValue,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

let cached: DescMessage | undefined;

export function ledgerEventDescriptor(): DescMessage {
  if (cached) return cached;
  const root = path.resolve(__dirname, '../../../../..');
  const bytes = execFileSync(
    path.join(root, 'node_modules/.bin/buf'),
    ['build', '-o', '-#format=binpb', '--as-file-descriptor-set'],
    {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  cached = createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes)).getMessage(
    'saldo.events.v1.LedgerEvent',
  );
  if (!cached) throw new Error('saldo.events.v1.LedgerEvent not found in the descriptors');
  return cached;
}

/** Parses strictly (unknown fields, bad enum names, bad timestamps throw) and prints back canonical proto3 JSON. */
export function reparseLedgerEvent(json: unknown): JsonValue {
  const desc = ledgerEventDescriptor();
  return toJson(desc, fromJson(desc, json as JsonValue));
}
