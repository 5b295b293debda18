import Redis from 'ioredis';

/**
 * An ioredis client that fails fast while Redis is away (no offline queue, one retry per
 * command), so callers can fall back or answer UNAVAILABLE instead of hanging.
 */
export function createRedisClient(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2_000),
    lazyConnect: false,
  });
}
