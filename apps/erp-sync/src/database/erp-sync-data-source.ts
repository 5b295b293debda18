import { createDataSource } from '@saldo/postgres';
import type { DataSource } from 'typeorm';
import { ErpSyncSchema1767312000000 } from './migrations/1767312000000-erp-sync-schema';
import { ErpDocuments1767398400000 } from './migrations/1767398400000-erp-documents';
import { ErpSyncRetention1767484800000 } from './migrations/1767484800000-erp-sync-retention';
import { ErpDocumentWriteOff1767571200000 } from './migrations/1767571200000-erp-document-write-off';
import { BreakageLines1767800000040 } from './migrations/1767800000040-breakage-lines';
import { IntegrationHub1767800000070 } from './migrations/1767800000070-integration-hub';

/** Every migration of erp-sync, in order. Append only. */
export const ERP_SYNC_MIGRATIONS = [
  ErpSyncSchema1767312000000,
  ErpDocuments1767398400000,
  ErpSyncRetention1767484800000,
  ErpDocumentWriteOff1767571200000,
  BreakageLines1767800000040,
  IntegrationHub1767800000070,
];

export const ERP_SYNC_MIGRATION_LOCK = 'saldo:erp-sync:migrations';

export function createErpSyncDataSource(url: string, poolSize: number): DataSource {
  return createDataSource({
    url,
    poolSize,
    applicationName: 'saldo-erp-sync',
    migrations: ERP_SYNC_MIGRATIONS,
    migrationsTableName: 'erp_sync_migrations',
  });
}
