import type { Metadata } from '@grpc/grpc-js';
import { timingSafeEqual, createHash } from 'node:crypto';

/** The token of `authorization: Bearer <token>`, or undefined. */
export function bearerTokenOf(metadata: Metadata | undefined): string | undefined {
  const value = metadata?.get('authorization')[0];
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return match?.[1];
}

/** Constant-time comparison of two secrets of any length. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
