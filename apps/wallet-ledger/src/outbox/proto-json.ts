import { protoFile, protoRoot } from '@saldo/proto';
import path from 'node:path';
import * as protobuf from 'protobufjs';

const INT64_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const TIMESTAMP = '.google.protobuf.Timestamp';
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n; // 9999-12-31T23:59:59Z
const MIN_TIMESTAMP_SECONDS = -62_135_596_800n; // 0001-01-01T00:00:00Z

/**
 * Proto3 JSON (https://protobuf.dev/programming-guides/json/) for messages shaped as ts-proto
 * generates them here (lowerCamelCase fields, 64-bit integers as decimal strings, enums as their
 * names, Timestamp as {seconds, nanos}). Walks the schema loaded from proto/ so every field is
 * checked against the .proto: JSON names in lowerCamelCase, int64 as strings, enums as names,
 * Timestamp as RFC 3339 in UTC, fields with default values omitted. Anything that is not in the
 * schema, or not of its type, throws: a malformed event is never published.
 */
export class ProtoJsonCodec {
  private constructor(private readonly root: protobuf.Root) {}

  /** Loads `relativeFile` (e.g. "saldo/events/v1/events.proto") and its imports from proto/. */
  static load(relativeFile: string): ProtoJsonCodec {
    const root = new protobuf.Root();
    const base = protoRoot();
    // Imports resolve against proto/; google/protobuf/* come with protobufjs (its `common` set).
    root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(base, target));
    root.loadSync(protoFile(relativeFile), { keepCase: false });
    root.resolveAll();
    return new ProtoJsonCodec(root);
  }

  type(fullName: string): protobuf.Type {
    return this.root.lookupType(fullName);
  }

  toJson(fullName: string, message: object): Record<string, unknown> {
    return messageToJson(this.type(fullName), message as Record<string, unknown>, fullName);
  }

  encode(fullName: string, message: object): Buffer {
    return Buffer.from(JSON.stringify(this.toJson(fullName, message)), 'utf8');
  }
}

function messageToJson(
  type: protobuf.Type,
  value: Record<string, unknown>,
  at: string,
): Record<string, unknown> {
  const fields = type.fields;
  for (const key of Object.keys(value)) {
    if (!(key in fields) && value[key] !== undefined)
      throw new Error(`${at}.${key}: not a field of ${type.fullName}`);
  }
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const raw = value[field.name];
    const where = `${at}.${field.name}`;
    if (raw === undefined || raw === null) continue;
    if (field instanceof protobuf.MapField) {
      const entries = Object.entries(raw as Record<string, unknown>);
      if (entries.length === 0) continue;
      out[field.name] = Object.fromEntries(
        entries.map(([k, v]) => [k, valueToJson(field, v, `${where}[${k}]`)]),
      );
    } else if (field.repeated) {
      if (!Array.isArray(raw)) throw new Error(`${where}: expected an array`);
      if (raw.length === 0) continue;
      out[field.name] = raw.map((item, i) => valueToJson(field, item, `${where}[${i}]`));
    } else {
      const json = valueToJson(field, raw, where);
      // proto3 implicit presence: scalars and enums at their default value are omitted.
      if (isImplicitDefault(field, json)) continue;
      out[field.name] = json;
    }
  }
  return out;
}

function isImplicitDefault(field: protobuf.Field, json: unknown): boolean {
  if (field.resolvedType instanceof protobuf.Enum) return field.resolvedType.values[json as string] === 0;
  if (field.resolvedType) return false; // a set message field is always written
  if (INT64_TYPES.has(field.type)) return json === '0';
  if (field.type === 'string' || field.type === 'bytes') return json === '';
  return json === 0 || json === false;
}

function valueToJson(field: protobuf.Field, value: unknown, where: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    if (typeof value !== 'string' || resolved.values[value] === undefined) {
      throw new Error(`${where}: ${String(value)} is not a value of ${resolved.fullName}`);
    }
    return value;
  }
  if (resolved instanceof protobuf.Type) {
    if (typeof value !== 'object' || value === null) throw new Error(`${where}: expected a message`);
    if (resolved.fullName === TIMESTAMP)
      return timestampToJson(value as { seconds?: unknown; nanos?: unknown }, where);
    return messageToJson(resolved, value as Record<string, unknown>, where);
  }
  return scalarToJson(field.type, value, where);
}

function scalarToJson(type: string, value: unknown, where: string): unknown {
  if (INT64_TYPES.has(type)) {
    const text = typeof value === 'bigint' ? value.toString() : value;
    if (typeof text !== 'string' || !/^-?(0|[1-9]\d*)$/.test(text))
      throw new Error(`${where}: expected an integer string, got ${String(value)}`);
    if (type.startsWith('u') || type === 'fixed64') {
      if (text.startsWith('-') || BigInt(text) > 18_446_744_073_709_551_615n)
        throw new Error(`${where}: out of range for ${type}`);
    } else if (BigInt(text) > 9_223_372_036_854_775_807n || BigInt(text) < -9_223_372_036_854_775_808n) {
      throw new Error(`${where}: out of range for ${type}`);
    }
    return text;
  }
  if (INT32_TYPES.has(type)) {
    if (typeof value !== 'number' || !Number.isInteger(value))
      throw new Error(`${where}: expected an integer`);
    const unsigned = type.startsWith('u') || type === 'fixed32';
    if (unsigned ? value < 0 || value > 4_294_967_295 : value < -2_147_483_648 || value > 2_147_483_647) {
      throw new Error(`${where}: out of range for ${type}`);
    }
    return value;
  }
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw new Error(`${where}: expected a string`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw new Error(`${where}: expected a boolean`);
      return value;
    case 'bytes':
      if (!(value instanceof Uint8Array)) throw new Error(`${where}: expected bytes`);
      return Buffer.from(value).toString('base64');
    case 'double':
    case 'float':
      if (typeof value !== 'number') throw new Error(`${where}: expected a number`);
      return Number.isFinite(value) ? value : String(value);
    default:
      throw new Error(`${where}: unsupported field type ${type}`);
  }
}

/** RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as the proto3 JSON mapping requires. */
export function timestampToJson(value: { seconds?: unknown; nanos?: unknown }, where = 'timestamp'): string {
  const secondsText = String(value.seconds ?? '0');
  if (!/^-?\d+$/.test(secondsText)) throw new Error(`${where}: seconds must be an integer`);
  const seconds = BigInt(secondsText);
  const nanos = value.nanos ?? 0;
  if (typeof nanos !== 'number' || !Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw new Error(`${where}: nanos must be an integer from 0 to 999999999`);
  }
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS)
    throw new Error(`${where}: out of range`);
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  if (nanos === 0) return `${base}Z`;
  const digits = String(nanos).padStart(9, '0');
  const fraction =
    nanos % 1_000_000 === 0 ? digits.slice(0, 3) : nanos % 1_000 === 0 ? digits.slice(0, 6) : digits;
  return `${base}.${fraction}Z`;
}
