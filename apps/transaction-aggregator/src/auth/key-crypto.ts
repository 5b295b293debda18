import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

const KEY_PREFIX = 'sk_';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A new API key: 256 random bits, URL-safe, with a prefix that secret scanners can spot. */
export function generateApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** What the table stores to find a key: SHA-256 (a key has 128+ bits of entropy, so no slow hash is needed). */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The first characters of a key, enough for an operator to tell keys apart, never enough to use one. */
export function keyHint(key: string): string {
  return `${key.slice(0, key.startsWith(KEY_PREFIX) ? 7 : 4)}…`;
}

/**
 * Encrypts the stored copy of each API key with AES-256-GCM under a key derived (HKDF-SHA256)
 * from SALDO_KEY_ENCRYPTION_KEY. The associated data binds a ciphertext to its tenant and key id,
 * so a row copied onto another tenant does not decrypt. Layout: iv (12) | tag (16) | ciphertext.
 */
export class KeyCipher {
  private readonly key: Buffer;

  constructor(secret: string) {
    if (secret.length < 32) throw new Error('the key encryption secret must be at least 32 characters');
    this.key = Buffer.from(hkdfSync('sha256', secret, 'saldo-aggregator', 'api-key-encryption-v1', 32));
  }

  encrypt(plain: string, boundTo: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(boundTo));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  decrypt(sealed: Buffer, boundTo: string): string {
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(boundTo));
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  }
}

/** Hex HMAC-SHA256 of a message body keyed by an API key: what Pub/Sub producers sign with. */
export function signBody(body: Buffer, apiKey: string): string {
  return createHmac('sha256', apiKey).update(body).digest('hex');
}

/** Constant-time check of a hex signature against the body, for one candidate key. */
export function signatureMatches(
  body: Buffer,
  signatureHex: string,
  apiKey: string,
  timestamp?: string,
): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(signatureHex)) return false;
  const expected = signBalanceAction(body, apiKey, timestamp);
  return timingSafeEqual(expected, Buffer.from(signatureHex, 'hex'));
}

/**
 * A producer's signature of a balance action: HMAC-SHA256 under the API key of
 * "<timestamp>.<body>" (the `timestamp` attribute, ms since epoch, so the signature covers when it
 * was signed), or of the body alone for the signature of before (no timestamp).
 */
export function signBalanceAction(body: Buffer, apiKey: string, timestamp?: string): Buffer {
  const hmac = createHmac('sha256', apiKey);
  if (timestamp !== undefined) hmac.update(`${timestamp}.`);
  return hmac.update(body).digest();
}
