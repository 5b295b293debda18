import { parseBootstrapKeys } from './bootstrap-keys';
import { parseExpiry, parseScopes } from './scopes';

describe('scopes', () => {
  it('parses scope lists and refuses unknown scopes', () => {
    expect(parseScopes('wallets:read, erp:resolve')).toEqual(['wallets:read', 'erp:resolve']);
    expect(parseScopes('wallets:read+wallets:read')).toEqual(['wallets:read']);
    expect(() => parseScopes('admin')).toThrow(/unknown scope "admin"/);
    expect(() => parseScopes('')).toThrow(/at least one/);
  });

  it('parses expiries as durations or future times', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(parseExpiry('30d', now).toISOString()).toBe('2026-01-31T00:00:00.000Z');
    expect(parseExpiry('2026-02-01T00:00:00Z', now).toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(() => parseExpiry('2025-01-01T00:00:00Z', now)).toThrow(/future/);
    expect(() => parseExpiry('soon', now)).toThrow(/duration/);
  });

  it('SALDO_API_KEYS entries may carry ;scopes=', () => {
    const keys = parseBootstrapKeys('demo=aaaaaaaaaaaaaaaaaaaa,demo=bbbbbbbbbbbbbbbbbbbb;scopes=erp:resolve');
    expect(keys).toEqual([
      { tenant: 'demo', key: 'aaaaaaaaaaaaaaaaaaaa' },
      { tenant: 'demo', key: 'bbbbbbbbbbbbbbbbbbbb', scopes: ['erp:resolve'] },
    ]);
    expect(() => parseBootstrapKeys('demo=bbbbbbbbbbbbbbbbbbbb;scopes=root')).toThrow(
      /entry 1: scope: unknown scope/,
    );
  });
});
