import { classifyFault } from '@saldo/faults';
import Redis from 'ioredis';

/** The two levels the Redis watcher logs at (a pino Logger fits). */
export interface RedisLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

/**
 * An ioredis client that fails fast while Redis is away (no offline queue, one retry per
 * command), so callers can fall back or answer UNAVAILABLE instead of hanging. It always has an
 * error listener (ioredis prints "Unhandled error event" with a stack for every reconnect attempt
 * otherwise); pass a logger to hear one warning per outage and one info on recovery (watchRedis).
 */
export function createRedisClient(url: string, name: string, logger?: RedisLogger): Redis {
  const client = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2_000),
    lazyConnect: false,
  });
  client.on('error', () => undefined);
  return logger ? watchRedis(client, logger) : client;
}

export interface RedisWatch {
  /** Outages seen since start (a counter for /metrics). */
  outages: number;
  up: boolean;
}

const WATCHES = new WeakMap<Redis, RedisWatch>();

/** The outage counter and state of a watched client (undefined when not watched). */
export function redisWatchOf(client: Redis): RedisWatch | undefined {
  return WATCHES.get(client);
}

/**
 * One structured warning when a client loses Redis (with the classified reason, no stack) and one
 * info when it is back; the error events in between stay quiet.
 */
export function watchRedis(client: Redis, logger: RedisLogger): Redis {
  if (WATCHES.has(client)) return client;
  const watch: RedisWatch = { outages: 0, up: client.status === 'ready' };
  WATCHES.set(client, watch);
  let downSince: number | undefined;
  const down = (error: unknown) => {
    if (downSince !== undefined) return;
    downSince = Date.now();
    watch.up = false;
    watch.outages += 1;
    const fault = classifyFault(error);
    logger.warn(
      {
        redis: client.options.connectionName,
        fault: fault?.reason ?? 'redis_error',
        cause: error instanceof Error ? error.message : String(error),
      },
      'redis unavailable: locks fall back to best-effort (PostgreSQL row locks), rate limits to per-instance',
    );
  };
  client.on('error', down);
  client.on('end', () => down(new Error('connection ended')));
  client.on('ready', () => {
    watch.up = true;
    if (downSince === undefined) return;
    logger.info(
      { redis: client.options.connectionName, outage_ms: Date.now() - downSince },
      'redis recovered: locks and rate limits are shared across instances again',
    );
    downSince = undefined;
  });
  return client;
}
