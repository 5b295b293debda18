import { LedgerError, type TenantId } from '@saldo/ledger-domain';
import type { ledgerV1 } from '@saldo/proto';
import type { DataSource } from 'typeorm';

/** How often the set of migrating tenants is read again (a cutover opens writes within this). */
const REFRESH_MS = 1_000;

/**
 * Refuses writes to the wallets of a tenant that is being migrated from a legacy system
 * (aggregator.tenant_migrations, set by apps/migrator): until cutover the legacy system still
 * serves them and the migrator mirrors its changes into the ledger, so a write here would fork the
 * two. Reads are not guarded. The set of migrating tenants is held in process and read again every
 * REFRESH_MS, so the check is synchronous and costs the hot path one map lookup (a batch keeps its
 * order). The migrator marks a tenant migrating before it opens any of its wallets.
 */
export class MigrationGuard {
  private migrating = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly db: DataSource) {}

  /** Loads the set once (before the service takes calls), then keeps it fresh. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      // A failed read keeps the last known set; the next tick tries again.
      this.refresh().catch(() => undefined);
    }, REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The refusal for a write of this tenant, or undefined when it may write. */
  refusal(tenant: TenantId | string): LedgerError | undefined {
    const migrationId = this.migrating.get(tenant);
    if (migrationId === undefined) return undefined;
    return new LedgerError(
      'WALLET_RULE_VIOLATION',
      `wallet_id: tenant ${tenant} is being migrated (migration ${migrationId}); its wallets accept writes after the cutover, reads work meanwhile`,
      { field: 'wallet_id', facts: { migration_id: migrationId } },
    );
  }

  assertWritable(tenant: TenantId | string): void {
    const refused = this.refusal(tenant);
    if (refused) throw refused;
  }

  private async refresh(): Promise<void> {
    const rows = (await this.db.query(
      `SELECT tenant_id, migration_id FROM aggregator.tenant_migrations WHERE state = 'migrating'`,
    )) as Array<{ tenant_id: string; migration_id: string }>;
    this.migrating = new Map(rows.map((r) => [r.tenant_id, r.migration_id]));
  }
}

/** The tenant a ledger command writes for. */
export function tenantOfCommand(command: ledgerV1.BatchCommand): string | undefined {
  return (
    command.postTransaction?.tenantId ??
    command.postPending?.tenantId ??
    command.voidPending?.tenantId ??
    command.reverseTransaction?.tenantId
  );
}
