import { ConfigError } from '@saldo/config';
import { parseBootstrapKeys } from './bootstrap-keys';

describe('parseBootstrapKeys', () => {
  it('reads tenant=key pairs, ignoring blanks', () => {
    expect(parseBootstrapKeys(' acme=aaaaaaaaaaaaaaaa , ,globex=bbbbbbbbbbbbbbbb')).toEqual([
      { tenant: 'acme', key: 'aaaaaaaaaaaaaaaa' },
      { tenant: 'globex', key: 'bbbbbbbbbbbbbbbb' },
    ]);
    expect(parseBootstrapKeys('')).toEqual([]);
  });

  it('names the variable and the entry, never the key', () => {
    const attempt = () => parseBootstrapKeys('acme=short-secret1,bad tenant=cccccccccccccccc,novalue');
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('SALDO_API_KEYS: entry 1 (tenant acme): key must be 16');
      expect(message).toContain('SALDO_API_KEYS: entry 2: tenant must be');
      expect(message).toContain('SALDO_API_KEYS: entry 3: expected tenant=key');
      expect(message).not.toContain('short-secret1');
    }
  });

  it('refuses one key for two tenants', () => {
    expect(() => parseBootstrapKeys('a=kkkkkkkkkkkkkkkk,b=kkkkkkkkkkkkkkkk')).toThrow(
      /one key is given to tenants a and b/,
    );
  });
});
