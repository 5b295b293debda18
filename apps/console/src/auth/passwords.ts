import * as argon2 from 'argon2';

export const MIN_PASSWORD_CHARS = 12;
export const MAX_PASSWORD_CHARS = 256;

/** argon2id with the library's defaults (m=64 MiB, t=3, p=4), in PHC string form. */
export function hashPassword(password: string): Promise<string> {
  if (password.length < MIN_PASSWORD_CHARS || password.length > MAX_PASSWORD_CHARS)
    throw new Error(`a password has ${MIN_PASSWORD_CHARS} to ${MAX_PASSWORD_CHARS} characters`);
  return argon2.hash(password, { type: argon2.argon2id });
}

// Verified against when the e-mail is unknown, so both cases take the same time.
let decoy: Promise<string> | undefined;

export async function verifyPassword(hash: string | undefined, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_CHARS) return false;
  decoy ??= argon2.hash('decoy-password-never-matches', { type: argon2.argon2id });
  const ok = await argon2.verify(hash ?? (await decoy), password).catch(() => false);
  return ok && hash !== undefined;
}
