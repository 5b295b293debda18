// Finding wallets by owner, reference or id. Until the TransactionService's FindWallets lands
// (issue 12), this reads the aggregator's wallet table directly, read-only and always within one
// tenant; it is the one place to switch to FindWallets.
import type { DataSource } from 'typeorm';

export interface WalletHit {
  walletId: string;
  ownerType: string;
  ownerId: string;
  currency: string;
  role: string;
  parentWalletId: string | null;
  createdAt: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const MAX_HITS = 50;

export class WalletDirectory {
  constructor(private readonly db: DataSource) {}

  /** Wallets of the tenant whose id is `query`, whose owner id starts with it, or whose metadata has it as a value. */
  async find(tenantId: string, query: string): Promise<WalletHit[]> {
    const q = query.trim().slice(0, 128);
    const rows: Array<Record<string, unknown>> = await this.db.query(
      `SELECT id::text AS wallet_id, owner_type, owner_id, currency, role, parent_wallet_id::text, created_at
         FROM aggregator.wallets
        WHERE tenant_id = $1
          AND ($2 = '' OR ($3::uuid IS NOT NULL AND id = $3::uuid)
               OR owner_id ILIKE replace(replace(replace($2, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'
               OR EXISTS (SELECT 1 FROM jsonb_each_text(metadata) m WHERE m.value = $2))
        ORDER BY created_at DESC, id
        LIMIT ${MAX_HITS}`,
      [tenantId, q, UUID.test(q) ? q : null],
    );
    return rows.map((r) => ({
      walletId: r['wallet_id'] as string,
      ownerType: r['owner_type'] as string,
      ownerId: r['owner_id'] as string,
      currency: r['currency'] as string,
      role: r['role'] as string,
      parentWalletId: (r['parent_wallet_id'] as string | null) ?? null,
      createdAt: r['created_at'] as Date,
    }));
  }

  /** The ledger account whose balance the wallet shows (a member spends its organisation's). */
  async fundingAccountOf(tenantId: string, walletId: string): Promise<string | null> {
    if (!UUID.test(walletId)) return null;
    const rows: Array<{ account_id: string | null }> = await this.db.query(
      `SELECT coalesce(w.ledger_account_id, p.ledger_account_id)::text AS account_id
         FROM aggregator.wallets w
         LEFT JOIN aggregator.wallets p ON p.tenant_id = w.tenant_id AND p.id = w.parent_wallet_id
        WHERE w.tenant_id = $1 AND w.id = $2`,
      [tenantId, walletId],
    );
    return rows[0]?.account_id ?? null;
  }
}
