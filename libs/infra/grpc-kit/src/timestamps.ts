import type { Timestamp } from '@saldo/proto';

/** Dates (or ISO strings from PostgreSQL JSON) to google.protobuf.Timestamp with int64 seconds as string. */
export function toTimestamp(value: Date | string | null | undefined): Timestamp | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const date = value instanceof Date ? value : new Date(value);
  const millis = date.getTime();
  if (Number.isNaN(millis)) return undefined;
  const seconds = Math.floor(millis / 1000);
  // PostgreSQL keeps microseconds; an ISO string from it carries them too.
  const micros = typeof value === 'string' ? microsOf(value) : (millis % 1000) * 1000;
  return { seconds: String(seconds), nanos: micros * 1000 };
}

export function fromTimestamp(value: Timestamp | null | undefined): Date | undefined {
  if (!value) return undefined;
  const seconds = Number(value.seconds ?? 0);
  if (!Number.isFinite(seconds) || (seconds === 0 && !value.nanos)) return undefined;
  return new Date(seconds * 1000 + Math.floor((value.nanos ?? 0) / 1_000_000));
}

function microsOf(iso: string): number {
  const match = /\.(\d{1,6})/.exec(iso);
  return match?.[1] ? Number(match[1].padEnd(6, '0')) : 0;
}
