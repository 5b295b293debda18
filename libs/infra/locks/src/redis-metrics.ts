import type Redis from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import { redisWatchOf } from './redis-client';
import type { WalletLockStats } from './wallet-locks';

/**
 * Redis as /metrics shows it: saldo_redis_up (1/0), saldo_redis_outages_total, and with wallet
 * locks saldo_wallet_locks_degraded (1 while best-effort) and saldo_wallet_locks_redis_skipped_total.
 */
export function registerRedisMetrics(registry: Registry, client: Redis, locks?: WalletLockStats): void {
  new Gauge({
    name: 'saldo_redis_up',
    help: '1 while the Redis client is ready, else 0',
    registers: [registry],
    collect() {
      this.set(client.status === 'ready' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'saldo_redis_outages_total',
    help: 'Redis outages seen since start (one per loss of the connection)',
    registers: [registry],
    collect() {
      this.set(redisWatchOf(client)?.outages ?? 0);
    },
  });
  if (!locks) return;
  new Gauge({
    name: 'saldo_wallet_locks_degraded',
    help: '1 while wallet locks run best-effort (PostgreSQL row locks only, Redis away)',
    registers: [registry],
    collect() {
      this.set(locks.degraded ? 1 : 0);
    },
  });
  new Gauge({
    name: 'saldo_wallet_locks_redis_skipped_total',
    help: 'Lock acquisitions that went without Redis',
    registers: [registry],
    collect() {
      this.set(locks.redisSkipped);
    },
  });
}
