import { LedgerError, type TenantId } from '@saldo/ledger-domain';
import type { DataSource } from 'typeorm';

/** How long a tenant's migration state is trusted in process before it is read again. */
const STATE_TTL_MS = 1_000;
/** Upper bound on tenants remembered (each entry is a few bytes; old ones are dropped first). */
const MAX_TENANTS = 10_000;

/**
 * Refuses writes to the wallets of a tenant that is being migrated from a legacy system
 * (aggregator.tenant_migrations, set by apps/migrator): until cutover the legacy system still
 * serves them and the migrator mirrors its changes into the ledger, so a write here would fork the
 * two. Reads are not guarded. The state is cached for STATE_TTL_MS: a cutover opens the wallets
 * within a second; the migrator marks a tenant migrating before it opens any of its wallets.
 */
export class MigrationGuard {
  private readonly cache = new Map<string, { migrationId: string | null; until: number }>();

  constructor(private readonly db: DataSource) {}

  async assertWritable(tenant: TenantId): Promise<void> {
    const migrationId = await this.migratingAs(tenant);
    if (migrationId === null) return;
    throw new LedgerError(
      'WALLET_RULE_VIOLATION',
      `wallet_id: tenant ${tenant} is being migrated (migration ${migrationId}); its wallets accept writes after the cutover, reads work meanwhile`,
      { field: 'wallet_id', facts: { migration_id: migrationId } },
    );
  }

  private async migratingAs(tenant: TenantId): Promise<string | null> {
    const now = Date.now();
    const cached = this.cache.get(tenant);
    if (cached && cached.until > now) return cached.migrationId;
    const rows = (await this.db.query(
      `SELECT migration_id FROM aggregator.tenant_migrations WHERE tenant_id = $1 AND state = 'migrating'`,
      [tenant],
    )) as Array<{ migration_id: string }>;
    const migrationId = rows[0]?.migration_id ?? null;
    if (this.cache.size >= MAX_TENANTS) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(tenant, { migrationId, until: now + STATE_TTL_MS });
    return migrationId;
  }
}
