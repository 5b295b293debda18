import { LedgerError } from '@saldo/ledger-domain';

/** What an API key may do (issue 11 #8). */
export const API_KEY_SCOPES = ['wallets:read', 'wallets:write', 'erp:resolve'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** The rights of a key made without --scope (and of every key made before scopes existed). */
export const DEFAULT_SCOPES: readonly ApiKeyScope[] = ['wallets:read', 'wallets:write'];

export function isScope(value: string): value is ApiKeyScope {
  return (API_KEY_SCOPES as readonly string[]).includes(value);
}

/** "wallets:read,erp:resolve" (also "+"-separated) → scopes, or INVALID_ARGUMENT naming the bad one. */
export function parseScopes(raw: string, field = 'scope'): ApiKeyScope[] {
  const scopes = raw
    .split(/[,+\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (scopes.length === 0)
    throw LedgerError.invalid(field, `name at least one of ${API_KEY_SCOPES.join(', ')}`);
  for (const scope of scopes)
    if (!isScope(scope))
      throw LedgerError.invalid(
        field,
        `unknown scope "${scope.slice(0, 32)}"; expected ${API_KEY_SCOPES.join(', ')}`,
      );
  return [...new Set(scopes)] as ApiKeyScope[];
}

/** "30d", "12h", "90m", or an RFC 3339 time → the expiry instant (in the future). */
export function parseExpiry(raw: string, now = new Date(), field = 'expires'): Date {
  const relative = /^(\d{1,5})([dhm])$/.exec(raw.trim());
  const at = relative
    ? new Date(
        now.getTime() +
          Number(relative[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[relative[2] as 'd' | 'h' | 'm'],
      )
    : new Date(raw);
  if (Number.isNaN(at.getTime()) || at <= now)
    throw LedgerError.invalid(field, 'must be a duration such as 30d, 12h or 90m, or a future RFC 3339 time');
  return at;
}
