import { createDataSource } from '@saldo/postgres';
import type { DataSource } from 'typeorm';
import { AggregatorSchema1767312000000 } from './migrations/1767312000000-aggregator-schema';
import { ShadowTopUps1767398400000 } from './migrations/1767398400000-shadow-topups';
import { ErpDocumentWriteOff1767484800000 } from './migrations/1767484800000-erp-document-write-off';
import { CacheNotifications1767700000010 } from './migrations/1767700000010-cache-notifications';
import { ApiKeyScopes1767700000020 } from './migrations/1767700000020-api-key-scopes';
import { WalletLifecycle1767700000030 } from './migrations/1767700000030-wallet-lifecycle';
import { CreditGrants1767700000040 } from './migrations/1767700000040-credit-grants';
import { TenantMigrations1767700000050 } from './migrations/1767700000050-tenant-migrations';

/** Every migration of the aggregator, in order. Append only. */
export const AGGREGATOR_MIGRATIONS = [
  AggregatorSchema1767312000000,
  ShadowTopUps1767398400000,
  ErpDocumentWriteOff1767484800000,
  CacheNotifications1767700000010,
  ApiKeyScopes1767700000020,
  WalletLifecycle1767700000030,
  CreditGrants1767700000040,
  TenantMigrations1767700000050,
];

export const AGGREGATOR_MIGRATION_LOCK = 'saldo:transaction-aggregator:migrations';

export function createAggregatorDataSource(url: string, poolSize: number): DataSource {
  return createDataSource({
    url,
    poolSize,
    applicationName: 'saldo-transaction-aggregator',
    migrations: AGGREGATOR_MIGRATIONS,
    migrationsTableName: 'aggregator_migrations',
  });
}
