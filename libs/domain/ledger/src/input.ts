import { LedgerError } from './ledger-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KEY = /^[\x21-\x7e]{1,128}$/;
const TENANT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ASSET = /^[A-Z][A-Z0-9_]{1,15}$/;

/**
 * A tenant id that has been checked. Repositories take it as their first argument, so a query
 * without a tenant does not compile.
 */
export type TenantId = string & { readonly __brand: 'TenantId' };

/** Idempotency keys: 1..128 printable ASCII characters, no spaces. */
export function requireIdempotencyKey(raw: unknown, field = 'idempotency_key'): string {
  if (typeof raw !== 'string' || raw === '') throw LedgerError.invalid(field, 'is required on every write');
  if (!KEY.test(raw))
    throw LedgerError.invalid(field, 'must be 1 to 128 printable ASCII characters without spaces');
  return raw;
}

export function requireId(raw: unknown, field: string): string {
  if (typeof raw !== 'string' || raw === '') throw LedgerError.invalid(field, 'is required');
  if (!UUID.test(raw)) throw LedgerError.invalid(field, 'must be a UUID');
  return raw.toLowerCase();
}

export function requireTenant(raw: unknown, field = 'tenant_id'): TenantId {
  if (typeof raw !== 'string' || raw === '') throw LedgerError.invalid(field, 'is required');
  if (!TENANT.test(raw)) {
    throw LedgerError.invalid(field, 'must be 1 to 64 letters, digits, dots, dashes or underscores');
  }
  return raw as TenantId;
}

export function parseAssetCode(raw: unknown, field = 'asset_code'): string {
  if (typeof raw !== 'string' || raw === '') throw LedgerError.invalid(field, 'is required');
  if (!ASSET.test(raw)) {
    throw LedgerError.invalid(field, 'must be 2 to 16 upper-case letters, digits or underscores, e.g. "IDR"');
  }
  return raw;
}

export function parseScale(raw: unknown, field = 'scale'): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > 18) {
    throw LedgerError.invalid(field, 'must be a whole number from 0 to 18');
  }
  return raw;
}

/**
 * What PostgreSQL text/jsonb cannot store: NUL (jsonb answers "unsupported Unicode escape
 * sequence", text refuses the byte) and UTF-16 that is not Unicode (a lone surrogate, which
 * jsonb refuses and UTF-8 cannot encode). Reached through JSON paths (Pub/Sub, Connect) or a
 * protobuf string with "\0".
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this refuses
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Refuses text PostgreSQL cannot store, naming the field (INVALID_ARGUMENT); returns it unchanged. */
export function requireStorableText(raw: string, field: string): string {
  if (UNSTORABLE.test(raw))
    throw LedgerError.invalid(field, 'must not contain NUL characters or unpaired UTF-16 surrogates');
  return raw;
}

/**
 * A field name that quotes a caller's text (e.g. a metadata key) in printable ASCII, so it can
 * travel in the saldo-error-field trailer: anything else is written as \uXXXX.
 */
export function printableFieldName(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const MAX_METADATA_ENTRIES = 32;
const MAX_METADATA_VALUE = 512;

/** Metadata and references: small string maps, bounded so a caller cannot bloat every row. */
export function parseMetadata(raw: unknown, field: string): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw LedgerError.invalid(field, 'must be a map of strings');
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_METADATA_ENTRIES) {
    throw LedgerError.invalid(field, `at most ${MAX_METADATA_ENTRIES} entries`);
  }
  for (const [key, value] of entries) {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(key)) {
      throw LedgerError.invalid(
        `${field}.${printableFieldName(key.slice(0, 64))}`,
        'keys are 1 to 64 letters, digits, _ . : -',
      );
    }
    if (typeof value !== 'string' || value.length > MAX_METADATA_VALUE) {
      throw LedgerError.invalid(
        `${field}.${key}`,
        `values are strings of at most ${MAX_METADATA_VALUE} characters`,
      );
    }
    requireStorableText(value, `${field}.${key}`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
