export { WalletLocks } from './wallet-locks';
export type { WalletLocksOptions, RedisLockMode, WalletLockStats } from './wallet-locks';
export { KeyedMutex } from './keyed-mutex';
export { createRedisClient } from './redis-client';
