import {
  LedgerError,
  parseMetadata,
  requireId,
  requireIdempotencyKey,
  requireStorableText,
} from '@saldo/ledger-domain';

/** Public idempotency keys: the ledger's key is "agg:<key>" and must fit its 128 characters. */
export const MAX_PUBLIC_KEY_CHARS = 100;

export function requirePublicKey(raw: unknown): string {
  const key = requireIdempotencyKey(raw);
  if (key.length > MAX_PUBLIC_KEY_CHARS) {
    throw LedgerError.invalid(
      'idempotency_key',
      `must be 1 to ${MAX_PUBLIC_KEY_CHARS} printable ASCII characters without spaces`,
    );
  }
  return key;
}

/** Wallet and transaction ids are UUIDs; anything else cannot exist. */
export function requireWalletId(raw: unknown, field: string): string {
  return requireId(raw, field);
}

export function optionalText(raw: unknown, field: string, max: number): string {
  if (raw === undefined || raw === null || raw === '') return '';
  if (typeof raw !== 'string') throw LedgerError.invalid(field, 'must be a string');
  if (raw.length > max) throw LedgerError.invalid(field, `at most ${max} characters`);
  if ([...raw].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    throw LedgerError.invalid(field, 'must not contain control characters');
  return requireStorableText(raw, field);
}

export function requiredText(raw: unknown, field: string, max: number): string {
  const text = optionalText(raw, field, max);
  if (text === '') throw LedgerError.invalid(field, 'is required');
  return text;
}

/** Caller metadata: bounded string maps; keys starting with "saldo" are reserved. */
export function callerMetadata(raw: unknown): Record<string, string> {
  const metadata = parseMetadata(raw, 'metadata');
  const reserved = Object.keys(metadata).find((key) => key.toLowerCase().startsWith('saldo'));
  if (reserved) throw LedgerError.invalid(`metadata.${reserved}`, 'keys starting with "saldo" are reserved');
  return metadata;
}

export const MAX_HOLD_SECONDS = 366 * 24 * 3600;

export function pageSizeOf(requested: number | undefined, fallback: number, max: number): number {
  if (!requested) return fallback;
  if (!Number.isInteger(requested) || requested < 1 || requested > max)
    throw LedgerError.invalid('page_size', `must be 1 to ${max}`);
  return requested;
}
