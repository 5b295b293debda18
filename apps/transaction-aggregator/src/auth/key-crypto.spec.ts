import { generateApiKey, hashApiKey, KeyCipher, keyHint, signatureMatches, signBody } from './key-crypto';

describe('API key crypto', () => {
  const cipher = new KeyCipher('x'.repeat(32));

  it('generates distinct 256-bit keys and hashes them to 32 bytes', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(hashApiKey(a)).toHaveLength(32);
    expect(hashApiKey(a).equals(hashApiKey(b))).toBe(false);
    expect(keyHint(a)).toBe(`${a.slice(0, 7)}…`);
  });

  it('seals a key so that only the same secret and the same binding open it', () => {
    const sealed = cipher.encrypt('secret-key-value', 'tenantA:1');
    expect(sealed.toString('latin1')).not.toContain('secret-key-value');
    expect(cipher.decrypt(sealed, 'tenantA:1')).toBe('secret-key-value');
    expect(() => cipher.decrypt(sealed, 'tenantB:1')).toThrow();
    expect(() => new KeyCipher('y'.repeat(32)).decrypt(sealed, 'tenantA:1')).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    expect(() => cipher.decrypt(tampered, 'tenantA:1')).toThrow();
  });

  it('refuses a short encryption secret', () => {
    expect(() => new KeyCipher('short')).toThrow(/32 characters/);
  });

  it('verifies HMAC-SHA256 signatures of a body and nothing else', () => {
    const body = Buffer.from('{"amount":"10"}');
    const signature = signBody(body, 'key-1');
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(signatureMatches(body, signature, 'key-1')).toBe(true);
    expect(signatureMatches(body, signature.toUpperCase(), 'key-1')).toBe(true);
    expect(signatureMatches(body, signature, 'key-2')).toBe(false);
    expect(signatureMatches(Buffer.from('{"amount":"11"}'), signature, 'key-1')).toBe(false);
    expect(signatureMatches(body, signature.slice(2), 'key-1')).toBe(false);
    expect(signatureMatches(body, 'zz'.repeat(32), 'key-1')).toBe(false);
  });
});
