import { ConfigError } from '@saldo/config';
import { requireTenant, type TenantId } from '@saldo/ledger-domain';

export interface BootstrapKey {
  tenant: TenantId;
  key: string;
}

const MIN_KEY_CHARS = 16;
const MAX_KEY_CHARS = 256;

/**
 * Parses SALDO_API_KEYS="tenantA=keyA,tenantB=keyB". Problems name the variable and the entry's
 * position, never the key itself.
 */
export function parseBootstrapKeys(raw: string): BootstrapKey[] {
  const entries = raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const problems: string[] = [];
  const keys: BootstrapKey[] = [];
  entries.forEach((entry, index) => {
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
    keys.push({ tenant: tenant as TenantId, key });
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
