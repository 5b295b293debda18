// Test helper: drives the ledger through its SQL write functions (the same ones the service calls).
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';

export interface WalletOwner {
  walletId?: string;
  ownerType?: string;
  ownerId?: string;
  parentOwnerId?: string;
}

async function call(
  pool: Pool,
  fn: string,
  input: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { rows } = await pool.query<{ result: Record<string, unknown> }>(
    `SELECT ledger.${fn}($1::jsonb) AS result`,
    [JSON.stringify({ request_hash: randomUUID(), idempotency_key: randomUUID(), ...input })],
  );
  return rows[0]!.result;
}

export class LedgerFixture {
  constructor(
    readonly pool: Pool,
    readonly tenant: string,
    readonly asset = 'IDR',
  ) {}

  async defineAsset(): Promise<void> {
    await this.pool.query(`SELECT ledger.define_asset($1, $2, 0::smallint)`, [this.tenant, this.asset]);
  }

  async openWallet(owner: WalletOwner = {}, overdraft = '0'): Promise<string> {
    const metadata: Record<string, string> = {};
    if (owner.walletId) metadata['wallet_id'] = owner.walletId;
    if (owner.ownerType) metadata['owner_type'] = owner.ownerType;
    if (owner.ownerId) metadata['owner_id'] = owner.ownerId;
    if (owner.parentOwnerId) metadata['parent_owner_id'] = owner.parentOwnerId;
    const account = await call(this.pool, 'open_account', {
      tenant_id: this.tenant,
      asset_code: this.asset,
      overdraft_limit: overdraft,
      metadata,
    });
    return account['account_id'] as string;
  }

  post(
    legs: Array<Record<string, unknown>>,
    extra: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>> {
    return call(this.pool, 'post_transaction', {
      tenant_id: this.tenant,
      asset_code: this.asset,
      legs,
      ...extra,
    });
  }

  topUp(wallet: string, amount: bigint | number): Promise<Record<string, unknown>> {
    return this.post(
      [
        { system_account: 'cash_clearing', side: 'debit', amount: String(amount) },
        { account_id: wallet, side: 'credit', amount: String(amount) },
      ],
      { action: 'TOP_UP', references: { reference: `pay-${randomUUID().slice(0, 8)}` } },
    );
  }

  usage(wallet: string, amount: bigint | number, cost?: bigint | number): Promise<Record<string, unknown>> {
    const legs: Array<Record<string, unknown>> = [
      { account_id: wallet, side: 'debit', amount: String(amount) },
      { system_account: 'revenue', side: 'credit', amount: String(amount) },
    ];
    if (cost !== undefined) {
      legs.push({ system_account: 'cost_of_revenue', side: 'debit', amount: String(cost) });
      legs.push({ system_account: 'payables', side: 'credit', amount: String(cost) });
    }
    return this.post(legs, { action: 'USAGE', references: { product_code: 'esign' } });
  }

  transfer(from: string, to: string, amount: bigint | number): Promise<Record<string, unknown>> {
    return this.post(
      [
        { account_id: from, side: 'debit', amount: String(amount) },
        { account_id: to, side: 'credit', amount: String(amount) },
      ],
      { action: 'TRANSFER' },
    );
  }

  hold(wallet: string, amount: bigint | number): Promise<Record<string, unknown>> {
    return this.post(
      [
        { account_id: wallet, side: 'debit', amount: String(amount) },
        { system_account: 'revenue', side: 'credit', amount: String(amount) },
      ],
      { action: 'RESERVE', pending: true, references: { product_code: 'ekyc' } },
    );
  }

  capture(holdId: string, amount?: bigint | number): Promise<Record<string, unknown>> {
    return call(this.pool, 'resolve_pending', {
      tenant_id: this.tenant,
      operation: 'post_pending',
      pending_transaction_id: holdId,
      ...(amount === undefined ? {} : { amount: String(amount) }),
    });
  }

  void(holdId: string): Promise<Record<string, unknown>> {
    return call(this.pool, 'resolve_pending', {
      tenant_id: this.tenant,
      operation: 'void_pending',
      pending_transaction_id: holdId,
    });
  }

  reverse(transactionId: string): Promise<Record<string, unknown>> {
    return call(this.pool, 'reverse_transaction', { tenant_id: this.tenant, transaction_id: transactionId });
  }
}

/** What the relay must publish for the rows now in the outbox: event id → ordering key. */
export async function expectedEvents(pool: Pool, tenant: string): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ id: string; keys: string[] }>(
    `
    SELECT o.id::text AS id,
           CASE WHEN o.account_id IS NOT NULL
                THEN ARRAY[coalesce(nullif(a.metadata->>'wallet_id', ''), a.id::text)]
                ELSE (SELECT array_agg(k ORDER BY first_entry) FROM (
                        SELECT coalesce(nullif(w.metadata->>'wallet_id', ''), w.id::text) AS k, min(e.id) AS first_entry
                          FROM ledger.entries e JOIN ledger.accounts w ON w.id = e.account_id AND w.type = 'wallet'
                         WHERE e.transaction_id = o.transaction_id GROUP BY w.id) x) END AS keys
      FROM ledger.outbox o LEFT JOIN ledger.accounts a ON a.id = o.account_id
     WHERE o.tenant_id = $1
     ORDER BY o.id`,
    [tenant],
  );
  const expected = new Map<string, string>();
  for (const row of rows) {
    const keys = row.keys ?? ['system'];
    keys.forEach((key, i) => expected.set(`${row.id}.${i + 1}`, key));
  }
  return expected;
}
