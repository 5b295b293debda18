import { ConfigError } from '@saldo/config';
import { requireTenant, type TenantId } from '@saldo/ledger-domain';
import { parseScopes, type ApiKeyScope } from './scopes';

export interface BootstrapKey {
  tenant: TenantId;
  key: string;
  /** Given with `;scopes=a+b`: the key's scopes (else new keys get the default, old ones keep theirs). */
  scopes?: ApiKeyScope[];
}

const SCOPES_SUFFIX = ';scopes=';

const MIN_KEY_CHARS = 16;
const MAX_KEY_CHARS = 256;

/**
 * Parses SALDO_API_KEYS="tenantA=keyA,tenantB=keyB;scopes=wallets:read+erp:resolve". Problems name
 * the variable and the entry's position, never the key itself.
 */
export function parseBootstrapKeys(raw: string): BootstrapKey[] {
  const entries = raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const problems: string[] = [];
  const keys: BootstrapKey[] = [];
  entries.forEach((full, index) => {
    const scoped = full.lastIndexOf(SCOPES_SUFFIX);
    const entry = scoped > 0 ? full.slice(0, scoped) : full;
    let scopes: ApiKeyScope[] | undefined;
    if (scoped > 0) {
      try {
        scopes = parseScopes(full.slice(scoped + SCOPES_SUFFIX.length));
      } catch (error) {
        return void problems.push(`SALDO_API_KEYS: entry ${index + 1}: ${(error as Error).message}`);
      }
    }
    const at = entry.indexOf('=');
    const tenant = at > 0 ? entry.slice(0, at).trim() : '';
    const key = at > 0 ? entry.slice(at + 1).trim() : '';
    const where = `SALDO_API_KEYS: entry ${index + 1}`;
    if (!tenant || !key) return void problems.push(`${where}: expected tenant=key`);
    try {
      requireTenant(tenant);
    } catch {
      return void problems.push(
        `${where}: tenant must be 1 to 64 letters, digits, dots, dashes or underscores`,
      );
    }
    if (key.length < MIN_KEY_CHARS || key.length > MAX_KEY_CHARS || /\s/.test(key)) {
      return void problems.push(
        `${where} (tenant ${tenant}): key must be ${MIN_KEY_CHARS} to ${MAX_KEY_CHARS} characters without spaces`,
      );
    }
    keys.push({ tenant: tenant as TenantId, key, ...(scopes ? { scopes } : {}) });
  });
  const seen = new Map<string, string>();
  for (const { tenant, key } of keys) {
    const owner = seen.get(key);
    if (owner !== undefined && owner !== tenant)
      problems.push(`SALDO_API_KEYS: one key is given to tenants ${owner} and ${tenant}`);
    seen.set(key, tenant);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return keys;
}
