import protobuf from 'protobufjs';
import { protoFile } from '@saldo/proto';

/** Why a message body is not a valid proto3 JSON request; the message goes to the dead-letter topic. */
export class ProtoJsonError extends Error {}

/**
 * proto3 JSON for the public messages, read from transaction.proto at run time: parsing yields the
 * same shape the gRPC server hands the controller (lowerCamelCase, defaults filled, enums as names,
 * 64-bit integers as strings), so both paths run the very same use case.
 */
export class ProtoJsonCodec {
  private readonly root: protobuf.Root;

  constructor() {
    this.root = new protobuf.Root().loadSync(protoFile('saldo/transaction/v1/transaction.proto'), {
      keepCase: false,
    });
    this.root.resolveAll();
  }

  parse(typeName: string, body: Buffer): Record<string, unknown> {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new ProtoJsonError(`body is not JSON: ${(error as Error).message}`);
    }
    return readMessage(this.type(typeName), json, '');
  }

  /** A response as proto3 JSON (Timestamps as RFC 3339, enums as names, int64 as strings). */
  stringify(typeName: string, value: Record<string, unknown>): string {
    return JSON.stringify(writeMessage(this.type(typeName), value));
  }

  private type(name: string): protobuf.Type {
    return this.root.lookupType(`saldo.transaction.v1.${name}`);
  }
}

function readMessage(type: protobuf.Type, json: unknown, path: string): Record<string, unknown> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ProtoJsonError(`${path || 'body'}: expected a JSON object for ${type.name}`);
  }
  const byName = new Map<string, protobuf.Field>();
  for (const field of type.fieldsArray) {
    byName.set(field.name, field);
    byName.set(snakeOf(field.name), field);
  }
  const given = new Map<protobuf.Field, unknown>();
  for (const [key, value] of Object.entries(json)) {
    const field = byName.get(key);
    if (!field) throw new ProtoJsonError(`${path}${key}: unknown field of ${type.name}`);
    if (given.has(field)) throw new ProtoJsonError(`${path}${key}: given twice`);
    given.set(field, value);
  }
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const raw = given.get(field);
    out[field.name] = readField(field, raw === null ? undefined : raw, `${path}${snakeOf(field.name)}`);
  }
  return out;
}

function readField(field: protobuf.Field, raw: unknown, path: string): unknown {
  if (field instanceof protobuf.MapField) {
    if (raw === undefined) return {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new ProtoJsonError(`${path}: expected an object`);
    for (const [key, value] of Object.entries(raw)) {
      if (typeof value !== 'string') throw new ProtoJsonError(`${path}.${key}: expected a string`);
    }
    return { ...(raw as Record<string, string>) };
  }
  if (field.repeated) throw new ProtoJsonError(`${path}: repeated fields are not accepted here`);
  if (field.resolvedType instanceof protobuf.Enum) return readEnum(field.resolvedType, raw, path);
  if (field.resolvedType instanceof protobuf.Type)
    throw new ProtoJsonError(`${path}: nested messages are not accepted here`);
  switch (field.type) {
    case 'string':
      if (raw === undefined) return '';
      if (typeof raw !== 'string') throw new ProtoJsonError(`${path}: expected a string`);
      return raw;
    case 'bool':
      if (raw === undefined) return false;
      if (typeof raw !== 'boolean') throw new ProtoJsonError(`${path}: expected true or false`);
      return raw;
    case 'uint32': {
      if (raw === undefined) return 0;
      const value = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        throw new ProtoJsonError(`${path}: expected a whole number from 0 to 4294967295`);
      }
      return value;
    }
    default:
      throw new ProtoJsonError(`${path}: fields of type ${field.type} are not accepted here`);
  }
}

function readEnum(type: protobuf.Enum, raw: unknown, path: string): string {
  const zero = type.valuesById[0] as string;
  if (raw === undefined) return zero;
  if (typeof raw === 'string' && Object.hasOwn(type.values, raw)) return raw;
  if (typeof raw === 'number' && Object.hasOwn(type.valuesById, raw)) return type.valuesById[raw] as string;
  throw new ProtoJsonError(`${path}: not a value of ${type.name}`);
}

function writeMessage(type: protobuf.Type, value: Record<string, unknown>): Record<string, unknown> {
  if (type.fullName === '.google.protobuf.Timestamp') throw new Error('Timestamp is written by writeField');
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const raw = value[field.name];
    if (raw === undefined || raw === null) continue;
    out[field.name] = writeField(field, raw);
  }
  return out;
}

function writeField(field: protobuf.Field, raw: unknown): unknown {
  if (field instanceof protobuf.MapField) return raw;
  if (field.repeated && Array.isArray(raw)) {
    return raw.map((item) =>
      field.resolvedType instanceof protobuf.Type ? writeNested(field.resolvedType, item) : item,
    );
  }
  if (field.resolvedType instanceof protobuf.Type) return writeNested(field.resolvedType, raw);
  if (['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64'].includes(field.type)) return String(raw);
  return raw;
}

function writeNested(type: protobuf.Type, raw: unknown): unknown {
  if (type.fullName === '.google.protobuf.Timestamp') {
    const { seconds, nanos } = raw as { seconds: string | number; nanos: number };
    const millis = Number(seconds) * 1000 + Math.floor((nanos ?? 0) / 1_000_000);
    return new Date(millis).toISOString();
  }
  return writeMessage(type, raw as Record<string, unknown>);
}

function snakeOf(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
