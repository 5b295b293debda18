import { Pool } from 'pg';
import type { LegacyChange, LegacySource, LegacyWalletRecord, WalletBalanceAt } from './legacy-source';
import { MappingError, type Mapping } from './mapping';

type Tables = Required<Pick<Mapping, 'wallets' | 'changes'>>;

/** A quoted identifier or schema-qualified name (the mapping already allows plain identifiers only). */
const q = (name: string): string =>
  name
    .split('.')
    .map((part) => `"${part}"`)
    .join('.');

/**
 * A legacy PostgreSQL database read through a mapping. Read-only except the optional write-freeze
 * flag. Every read is keyset-paged on an index the legacy schema is expected to have: wallets by id,
 * changes by id, and changes by (wallet, id) for balances at a point.
 *
 * Cursor safety: the change log's ids must become visible in id order (a single writer, or a
 * sequence read with a settle delay). The simulator writes changes one transaction at a time.
 */
export class PostgresSource implements LegacySource {
  readonly description: string;
  private pool: Pool | undefined;
  private readonly mapping: Mapping & Tables;

  constructor(
    private readonly url: string,
    mapping: Mapping,
  ) {
    if (!mapping.wallets || !mapping.changes)
      throw new MappingError(
        'a PostgreSQL source needs mapping.wallets and mapping.changes (tables and columns)',
      );
    this.mapping = mapping as Mapping & Tables;
    const parsed = new URL(url);
    this.description = `postgres ${parsed.hostname}:${parsed.port || 5432}${parsed.pathname} (${mapping.wallets.table}, ${mapping.changes.table})`;
  }

  async connect(): Promise<void> {
    this.pool = new Pool({ connectionString: this.url, max: 4, application_name: 'saldo-migrator-source' });
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool?.end();
    this.pool = undefined;
  }

  private db(): Pool {
    if (!this.pool) throw new Error('legacy source is not connected');
    return this.pool;
  }

  async currentCursor(): Promise<bigint> {
    const c = this.mapping.changes;
    const rows = await this.db().query<{ id: string | null }>(
      `SELECT max(${q(c.id)})::text AS id FROM ${q(c.table)}`,
    );
    return BigInt(rows.rows[0]?.id ?? '0');
  }

  async countWallets(): Promise<number> {
    const rows = await this.db().query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${q(this.mapping.wallets.table)}`,
    );
    return Number(rows.rows[0]?.n ?? 0);
  }

  async listWallets(after: string | null, limit: number): Promise<LegacyWalletRecord[]> {
    const w = this.mapping.wallets;
    // Keyset on the id's own type: ids compare as the legacy column does (numbers as numbers).
    return this.selectWallets(
      `$1::text IS NULL OR ${q(w.id)} > $1::text::${this.mapping.idType}`,
      [after],
      limit,
    );
  }

  async readWallets(ids: readonly string[]): Promise<LegacyWalletRecord[]> {
    if (!ids.length) return [];
    const w = this.mapping.wallets;
    return this.selectWallets(`${q(w.id)} = ANY($1::text[]::${this.mapping.idType}[])`, [ids], ids.length);
  }

  private async selectWallets(
    where: string,
    params: unknown[],
    limit: number,
  ): Promise<LegacyWalletRecord[]> {
    const w = this.mapping.wallets;
    const rows = await this.db().query<{
      id: string;
      owner: string | null;
      currency: string | null;
      model: string | null;
      parent: string | null;
      overdraft: string | null;
    }>(
      `SELECT ${q(w.id)}::text AS id, ${q(w.owner)}::text AS owner, ${q(w.currency)}::text AS currency,
              ${q(w.model)}::text AS model,
              ${w.parent ? `${q(w.parent)}::text` : 'NULL::text'} AS parent,
              ${w.overdraft ? `${q(w.overdraft)}::text` : "'0'"} AS overdraft
         FROM ${q(w.table)}
        WHERE ${where}
        ORDER BY ${q(w.id)}
        LIMIT ${Number(limit)}`,
      params,
    );
    return rows.rows.map((r) => ({
      id: r.id,
      owner: r.owner ?? '',
      currency: (r.currency ?? '').trim(),
      model: (r.model ?? '').trim(),
      parentId: r.parent,
      overdraft: r.overdraft ?? '0',
    }));
  }

  async readChanges(after: bigint, limit: number): Promise<LegacyChange[]> {
    const c = this.mapping.changes;
    const rows = await this.db().query<{
      id: string;
      wallet: string;
      kind: string;
      amount: string;
      balance_after: string;
      at: Date;
      counterparty: string | null;
    }>(
      `SELECT ${q(c.id)}::text AS id, ${q(c.wallet)}::text AS wallet, ${q(c.kind)}::text AS kind,
              ${q(c.amount)}::text AS amount, ${q(c.balanceAfter)}::text AS balance_after, ${q(c.at)} AS at,
              ${c.counterparty ? `${q(c.counterparty)}::text` : 'NULL::text'} AS counterparty
         FROM ${q(c.table)}
        WHERE ${q(c.id)} > $1
        ORDER BY ${q(c.id)}
        LIMIT $2`,
      [after.toString(), limit],
    );
    return rows.rows.map((r) => ({
      id: BigInt(r.id),
      walletId: r.wallet,
      kind: r.kind.trim(),
      amount: r.amount,
      balanceAfter: r.balance_after,
      at: r.at,
      counterpartyId: r.counterparty,
    }));
  }

  async balancesAt(walletIds: readonly string[], at: bigint): Promise<Map<string, WalletBalanceAt>> {
    const c = this.mapping.changes;
    const idType = this.mapping.idType;
    // The newest change at or before the cursor carries the balance; a wallet whose opening change
    // comes later did not exist yet; one with no change at all exists with 0.
    const rows = await this.db().query<{ id: string; balance: string | null; opened_later: boolean }>(
      `SELECT w.id::text AS id,
              (SELECT x.${q(c.balanceAfter)}::text FROM ${q(c.table)} x
                WHERE x.${q(c.wallet)} = w.id AND x.${q(c.id)} <= $2
                ORDER BY x.${q(c.id)} DESC LIMIT 1) AS balance,
              EXISTS (SELECT 1 FROM ${q(c.table)} y
                       WHERE y.${q(c.wallet)} = w.id AND y.${q(c.id)} > $2 AND y.${q(c.kind)}::text = $3) AS opened_later
         FROM unnest($1::text[]::${idType}[]) AS w(id)`,
      [walletIds, at.toString(), c.openKind],
    );
    const result = new Map<string, WalletBalanceAt>();
    for (const r of rows.rows)
      result.set(r.id, { exists: r.balance !== null || !r.opened_later, balance: r.balance ?? '0' });
    return result;
  }

  readonly freeze = async (frozen: boolean): Promise<void> => {
    const f = this.mapping.freeze;
    if (!f)
      throw new Error('the mapping names no write-freeze flag: freeze the legacy system by its own means');
    // Taking the flag's row lock waits for writes in flight that hold it (the simulator's writers
    // read it FOR SHARE in each write transaction): once this returns, no legacy write follows.
    await this.db().query(`UPDATE ${q(f.table)} SET ${q(f.column)} = $1`, [frozen]);
  };
}
