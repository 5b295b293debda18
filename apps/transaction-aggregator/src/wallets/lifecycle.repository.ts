// The SQL of the wallet lifecycle (issue 12): lookups, settings and status changes with their
// audit rows. Every query takes the tenant first and filters by it.
import type { TenantId } from '@saldo/ledger-domain';
import type { QueryRunner } from 'typeorm';
import type { AggregatorRepository, PeriodUnit, WalletRow, WalletStatus } from './aggregator.repository';

export interface WalletFilter {
  ownerId?: string;
  externalReference?: string;
  parentWalletId?: string;
}

export interface WalletChange {
  key: string;
  action: 'UpdateWallet' | 'FreezeWallet' | 'UnfreezeWallet' | 'CloseWallet';
  reason: string;
  status?: WalletStatus;
  spendLimitMinor?: string | null;
  limitPeriod?: PeriodUnit;
  metadata?: Record<string, string>;
  externalReference?: string;
}

/** What a check may settle only on the locked row (e.g. metadata merged with the current one). */
export type WalletChangeOverride = Pick<WalletChange, 'metadata'>;

const WALLET_COLUMNS = `w.*, w.spend_limit_minor::text AS spend_limit_minor`;

export class LifecycleRepository {
  constructor(private readonly base: AggregatorRepository) {}

  findWallets(
    tenant: TenantId,
    filter: WalletFilter,
    afterId: string | undefined,
    limit: number,
  ): Promise<WalletRow[]> {
    return this.base.db.query(
      `SELECT ${WALLET_COLUMNS} FROM aggregator.wallets w
        WHERE w.tenant_id = $1
          AND ($2::text IS NULL OR w.owner_id = $2)
          AND ($3::text IS NULL OR w.external_reference = $3)
          AND ($4::uuid IS NULL OR w.parent_wallet_id = $4)
          AND ($5::uuid IS NULL OR w.id > $5)
        ORDER BY w.id LIMIT $6`,
      [
        tenant,
        filter.ownerId ?? null,
        filter.externalReference ?? null,
        filter.parentWalletId ?? null,
        afterId ?? null,
        limit,
      ],
    );
  }

  async setExternalReference(tenant: TenantId, walletId: string, reference: string): Promise<void> {
    await this.base.db.query(
      `UPDATE aggregator.wallets SET external_reference = $3 WHERE tenant_id = $1 AND id = $2`,
      [tenant, walletId, reference],
    );
  }

  /** Open child wallets (not closed) of a parent. */
  async openChildren(tenant: TenantId, parentId: string): Promise<number> {
    const rows: Array<{ n: string }> = await this.base.db.query(
      `SELECT count(*)::text AS n FROM aggregator.wallets WHERE tenant_id = $1 AND parent_wallet_id = $2 AND status <> 'closed'`,
      [tenant, parentId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** A member's holds still open (reserved, neither captured nor voided nor lapsed). */
  async openHoldsOf(tenant: TenantId, walletId: string): Promise<number> {
    const rows: Array<{ n: string }> = await this.base.db.query(
      `SELECT count(*)::text AS n FROM aggregator.operations
        WHERE tenant_id = $1 AND spender_wallet_id = $2 AND action = 'Reserve' AND state = 'completed'
          AND NOT hold_resolved AND (hold_expires_at IS NULL OR hold_expires_at > now())`,
      [tenant, walletId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Applies a change under the wallet's row lock and appends its audit row, in one transaction;
   * `check` sees the locked row, may refuse, and may settle the metadata against it. A repeat of the same key finds its audit row and
   * changes nothing (a resumed attempt after a crash).
   */
  async change(
    tenant: TenantId,
    walletId: string,
    change: WalletChange,
    check: (locked: WalletRow) => WalletChangeOverride | void | Promise<WalletChangeOverride | void>,
  ): Promise<void> {
    const runner: QueryRunner = this.base.db.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.query(`SET LOCAL lock_timeout = '5s'`);
      const done: unknown[] = await runner.query(
        `SELECT 1 FROM aggregator.wallet_changes WHERE tenant_id = $1 AND idempotency_key = $2`,
        [tenant, change.key],
      );
      if (done.length === 0) {
        const rows: WalletRow[] = await runner.query(
          `SELECT ${WALLET_COLUMNS} FROM aggregator.wallets w WHERE w.tenant_id = $1 AND w.id = $2 FOR UPDATE`,
          [tenant, walletId],
        );
        const before = rows[0] as WalletRow;
        change = { ...change, ...((await check(before)) ?? {}) };
        const after: WalletRow = {
          ...before,
          status: change.status ?? before.status,
          spend_limit_minor:
            change.spendLimitMinor !== undefined ? change.spendLimitMinor : before.spend_limit_minor,
          limit_period: change.limitPeriod ?? before.limit_period,
          metadata: change.metadata ?? before.metadata,
          external_reference: change.externalReference ?? before.external_reference,
        };
        await runner.query(
          `UPDATE aggregator.wallets
              SET status = $3, spend_limit_minor = $4::bigint, limit_period = $5, metadata = $6::jsonb,
                  external_reference = $7,
                  status_changed_at = CASE WHEN status <> $3 THEN now() ELSE status_changed_at END
            WHERE tenant_id = $1 AND id = $2`,
          [
            tenant,
            walletId,
            after.status,
            after.spend_limit_minor,
            after.limit_period,
            JSON.stringify(after.metadata),
            after.external_reference,
          ],
        );
        await runner.query(
          `INSERT INTO aggregator.wallet_changes (tenant_id, idempotency_key, wallet_id, action, before, after, reason)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7)`,
          [
            tenant,
            change.key,
            walletId,
            change.action,
            JSON.stringify(audited(before)),
            JSON.stringify(audited(after)),
            change.reason,
          ],
        );
      }
      await runner.commitTransaction();
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }

  /** The audit trail of a wallet, oldest first (operators, tests). */
  changes(
    tenant: TenantId,
    walletId: string,
  ): Promise<Array<{ action: string; before: object; after: object; reason: string }>> {
    return this.base.db.query(
      `SELECT action, before, after, reason FROM aggregator.wallet_changes
        WHERE tenant_id = $1 AND wallet_id = $2 ORDER BY created_at, idempotency_key`,
      [tenant, walletId],
    );
  }
}

function audited(row: WalletRow) {
  return {
    status: row.status,
    spend_limit_minor: row.spend_limit_minor,
    limit_period: row.limit_period,
    metadata: row.metadata,
    external_reference: row.external_reference,
  };
}
