export { WalletLocks } from './wallet-locks';
export type { WalletLocksOptions, RedisLockMode, WalletLockStats } from './wallet-locks';
export { KeyedMutex } from './keyed-mutex';
export { createRedisClient, watchRedis, redisWatchOf } from './redis-client';
export type { RedisLogger, RedisWatch } from './redis-client';
export { registerRedisMetrics } from './redis-metrics';
