import { Pool, type PoolClient } from 'pg';
import type { MappedWallet, UnmappableWallet } from '../source/mapping';

export type MigrationState = 'importing' | 'imported' | 'frozen' | 'cut_over' | 'rolled_back';
export type ImportPhase = 'standalone' | 'children' | 'done';

export interface MigrationRow {
  id: string;
  tenant_id: string;
  source: string;
  state: MigrationState;
  import_cursor: string;
  import_phase: ImportPhase;
  import_after: string | null;
  applied_cursor: string;
  source_cursor: string;
  source_cursor_at: Date | null;
  applied_at: Date | null;
  wallets_planned: string;
  changes_applied: string;
  changes_skipped: string;
  last_verify: unknown;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export interface MappedRow {
  legacy_id: string;
  wallet_id: string;
  account_id: string | null;
  model: string;
  currency: string;
}

/** Transactions a migration posted, newest first (what a rollback reverses). */
export interface PostedRow {
  id: string;
  account_id: string;
}

/**
 * Everything the migrator reads and writes in Saldo's database, as reviewed SQL: its own schema,
 * the aggregator's wallets and tenant migration state, and the ledger's bulk account opening
 * (ledger.open_wallet_accounts). Ledger money moves only through the LedgerService (postings).
 */
export class MigrationStore {
  readonly pool: Pool;

  constructor(url: string, poolSize = 4) {
    this.pool = new Pool({
      connectionString: url,
      max: poolSize,
      application_name: 'saldo-migrator',
      statement_timeout: 120_000,
    });
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SET LOCAL lock_timeout = '10s'");
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * One step at a time per migration, across processes (import, catch-up, verify, cutover,
   * rollback): a session advisory lock on its own connection, held while `work` runs.
   */
  async exclusively<T>(migrationId: string, work: () => Promise<T>, wait = true): Promise<T> {
    const client = await this.pool.connect();
    try {
      const lockSql = wait
        ? 'SELECT pg_advisory_lock(hashtext($1)) AS ok'
        : 'SELECT pg_try_advisory_lock(hashtext($1)) AS ok';
      await client.query('SET lock_timeout = 0');
      const got = (await client.query<{ ok: boolean | string }>(lockSql, [`saldo:migrator:${migrationId}`]))
        .rows[0]?.ok;
      if (got === false) throw new Error(`migration ${migrationId} is busy (another step holds it)`);
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`saldo:migrator:${migrationId}`]);
      }
    } finally {
      client.release();
    }
  }

  async find(idOrTenant: { id?: string; tenant?: string }): Promise<MigrationRow | undefined> {
    const rows = idOrTenant.id
      ? await this.pool.query<MigrationRow>(
          `SELECT ${MIGRATION_COLUMNS} FROM migrator.migrations WHERE id = $1`,
          [idOrTenant.id],
        )
      : await this.pool.query<MigrationRow>(
          `SELECT ${MIGRATION_COLUMNS} FROM migrator.migrations WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT 1`,
          [idOrTenant.tenant],
        );
    return rows.rows[0];
  }

  /**
   * Starts a migration: its row, the tenant in the aggregator and the aggregator's write guard
   * (writes to the tenant's wallets are refused from now until cutover or rollback), in one
   * transaction.
   */
  async create(row: {
    id: string;
    tenant: string;
    source: string;
    cursor: bigint;
    planned: number;
  }): Promise<MigrationRow> {
    await this.transaction(async (db) => {
      await db.query(
        `INSERT INTO migrator.migrations (id, tenant_id, source, state, import_cursor, applied_cursor, wallets_planned,
                                          source_cursor, source_cursor_at)
         VALUES ($1, $2, $3, 'importing', $4, $4, $5, $4, now())`,
        [row.id, row.tenant, row.source, row.cursor.toString(), row.planned],
      );
      await db.query(`INSERT INTO aggregator.tenants (id) VALUES ($1) ON CONFLICT DO NOTHING`, [row.tenant]);
      await db.query(
        `INSERT INTO aggregator.tenant_migrations (tenant_id, migration_id, state) VALUES ($1, $2, 'migrating')
         ON CONFLICT (tenant_id) DO UPDATE SET migration_id = EXCLUDED.migration_id, state = 'migrating', updated_at = now()`,
        [row.tenant, row.id],
      );
    });
    return (await this.find({ id: row.id })) as MigrationRow;
  }

  /**
   * Opens a page of mapped wallets (ledger accounts in bulk, then the aggregator's wallets) and
   * records the mapping and what could not map, in one transaction. Every statement is a no-op for
   * what exists already, so a page repeated after a crash changes nothing.
   */
  async openPage(
    migrationId: string,
    tenant: string,
    mapped: readonly MappedWallet[],
    unmapped: readonly UnmappableWallet[],
  ): Promise<void> {
    if (!mapped.length && !unmapped.length) return;
    await this.transaction(async (db) => {
      const accounts = mapped
        .filter((w) => w.accountId !== null)
        .map((w) => ({
          account_id: w.accountId,
          asset_code: w.currency,
          overdraft_limit: w.overdraftMinor.toString(),
          external_ref: w.walletId,
          // The owner contract of the ledger's events and the Firestore mirror (docs/events.md).
          metadata: {
            wallet_id: w.walletId,
            owner_type: w.ownerType,
            owner_id: w.ownerId,
            legacy_wallet_id: w.legacyId,
            migration_id: migrationId,
          },
        }));
      if (accounts.length)
        await db.query('SELECT ledger.open_wallet_accounts($1, $2::jsonb)', [
          tenant,
          JSON.stringify(accounts),
        ]);
      if (mapped.length) {
        const wallets = mapped.map((w) => ({
          id: w.walletId,
          owner_type: w.ownerType,
          owner_id: w.ownerId,
          currency: w.currency,
          role: w.role,
          parent_wallet_id: w.parentWalletId,
          ledger_account_id: w.accountId,
          metadata: { legacy_wallet_id: w.legacyId, migration_id: migrationId },
        }));
        await db.query(
          `INSERT INTO aggregator.wallets (tenant_id, id, owner_type, owner_id, currency, role, parent_wallet_id,
                                           ledger_account_id, metadata)
           SELECT $1, w.id, w.owner_type, w.owner_id, w.currency, w.role, w.parent_wallet_id, w.ledger_account_id, w.metadata
             FROM jsonb_to_recordset($2::jsonb) AS w(id uuid, owner_type text, owner_id text, currency text, role text,
                                                     parent_wallet_id uuid, ledger_account_id uuid, metadata jsonb)
           ON CONFLICT (tenant_id, id) DO NOTHING`,
          [tenant, JSON.stringify(wallets)],
        );
        await db.query(
          `INSERT INTO migrator.wallet_map (migration_id, legacy_id, wallet_id, account_id, model, currency, opening_minor)
           SELECT $1, m.legacy_id, m.wallet_id, m.account_id, m.model, m.currency, m.opening_minor
             FROM jsonb_to_recordset($2::jsonb) AS m(legacy_id text, wallet_id uuid, account_id uuid, model text,
                                                     currency text, opening_minor bigint)
           ON CONFLICT (migration_id, legacy_id) DO NOTHING`,
          [
            migrationId,
            JSON.stringify(
              mapped.map((w) => ({
                legacy_id: w.legacyId,
                wallet_id: w.walletId,
                account_id: w.accountId,
                model: w.model,
                currency: w.currency,
                opening_minor: w.balanceMinor.toString(),
              })),
            ),
          ],
        );
      }
      if (unmapped.length)
        await db.query(
          `INSERT INTO migrator.unmapped (migration_id, legacy_id, reason)
           SELECT $1, u.legacy_id, u.reason FROM jsonb_to_recordset($2::jsonb) AS u(legacy_id text, reason text)
           ON CONFLICT (migration_id, legacy_id) DO NOTHING`,
          [migrationId, JSON.stringify(unmapped.map((u) => ({ legacy_id: u.legacyId, reason: u.reason })))],
        );
    });
  }

  async advanceImport(migrationId: string, phase: ImportPhase, after: string | null): Promise<void> {
    await this.pool.query(
      `UPDATE migrator.migrations
          SET import_phase = $2, import_after = $3, updated_at = now(),
              state = CASE WHEN $2 = 'done' AND state = 'importing' THEN 'imported' ELSE state END
        WHERE id = $1`,
      [migrationId, phase, after],
    );
  }

  async mapped(migrationId: string, legacyIds: readonly string[]): Promise<Map<string, MappedRow>> {
    if (!legacyIds.length) return new Map();
    const rows = await this.pool.query<MappedRow>(
      `SELECT legacy_id, wallet_id, account_id, model, currency FROM migrator.wallet_map
        WHERE migration_id = $1 AND legacy_id = ANY($2::text[])`,
      [migrationId, legacyIds],
    );
    return new Map(rows.rows.map((r) => [r.legacy_id, r]));
  }

  async unmappedIds(migrationId: string, legacyIds: readonly string[]): Promise<Set<string>> {
    if (!legacyIds.length) return new Set();
    const rows = await this.pool.query<{ legacy_id: string }>(
      `SELECT legacy_id FROM migrator.unmapped WHERE migration_id = $1 AND legacy_id = ANY($2::text[])`,
      [migrationId, legacyIds],
    );
    return new Set(rows.rows.map((r) => r.legacy_id));
  }

  /** Records a catch-up page as applied (after its postings): the cursor and counters move once. */
  async advanceCatchUp(
    migrationId: string,
    cursor: bigint,
    applied: number,
    skipped: number,
    sourceCursor: bigint,
  ): Promise<void> {
    await this.pool.query(
      `UPDATE migrator.migrations
          SET applied_cursor = greatest(applied_cursor, $2), changes_applied = changes_applied + $3,
              changes_skipped = changes_skipped + $4, applied_at = now(),
              source_cursor = greatest(source_cursor, $5), source_cursor_at = now(), updated_at = now()
        WHERE id = $1 AND applied_cursor < $2`,
      [migrationId, cursor.toString(), applied, skipped, sourceCursor.toString()],
    );
  }

  async noteSourceCursor(migrationId: string, sourceCursor: bigint): Promise<void> {
    await this.pool.query(
      `UPDATE migrator.migrations SET source_cursor = greatest(source_cursor, $2), source_cursor_at = now() WHERE id = $1`,
      [migrationId, sourceCursor.toString()],
    );
  }

  /** Posted balances (credits − debits) of the page's wallet accounts, now. */
  async ledgerBalances(tenant: string, accountIds: readonly string[]): Promise<Map<string, bigint>> {
    if (!accountIds.length) return new Map();
    const rows = await this.pool.query<{ id: string; posted: string }>(
      `SELECT id::text, (credits_posted - debits_posted)::text AS posted FROM ledger.accounts
        WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
      [tenant, accountIds],
    );
    return new Map(rows.rows.map((r) => [r.id, BigInt(r.posted)]));
  }

  async setState(
    migrationId: string,
    state: MigrationState,
    extra: { verify?: unknown } = {},
  ): Promise<void> {
    await this.transaction(async (db) => {
      const row = (
        await db.query<{ tenant_id: string }>(
          `UPDATE migrator.migrations SET state = $2, updated_at = now(),
                  last_verify = coalesce($3::jsonb, last_verify),
                  finished_at = CASE WHEN $2 IN ('cut_over', 'rolled_back') THEN now() END
            WHERE id = $1 RETURNING tenant_id`,
          [migrationId, state, extra.verify === undefined ? null : JSON.stringify(extra.verify)],
        )
      ).rows[0];
      if (row && (state === 'cut_over' || state === 'rolled_back'))
        await db.query(
          `UPDATE aggregator.tenant_migrations SET state = $3, updated_at = now() WHERE tenant_id = $1 AND migration_id = $2`,
          [row.tenant_id, migrationId, state],
        );
    });
  }

  async saveVerify(migrationId: string, verify: unknown): Promise<void> {
    await this.pool.query(
      `UPDATE migrator.migrations SET last_verify = $2::jsonb, updated_at = now() WHERE id = $1`,
      [migrationId, JSON.stringify(verify)],
    );
  }

  /** Posted (not yet reversed) ledger transactions of this migration, newest first. */
  async postedByMigration(tenant: string, migrationId: string): Promise<PostedRow[]> {
    const rows = await this.pool.query<PostedRow>(
      `SELECT t.id::text, t.refs->>'wallet_account_id' AS account_id
         FROM ledger.idempotency_keys k
         JOIN ledger.transactions t ON t.tenant_id = k.tenant_id AND t.id = k.result_id
        WHERE k.tenant_id = $1 AND k.key LIKE $2 AND k.key NOT LIKE $3 AND t.status = 'posted'
        ORDER BY t.created_at DESC, t.id DESC`,
      [tenant, `mig:${likeEscape(migrationId)}:%`, `mig:${likeEscape(migrationId)}:rollback:%`],
    );
    return rows.rows;
  }

  async counts(migrationId: string): Promise<{ mapped: number; unmapped: number; withAccount: number }> {
    const row = (
      await this.pool.query<{ mapped: string; unmapped: string; accounts: string }>(
        `SELECT (SELECT count(*) FROM migrator.wallet_map WHERE migration_id = $1)::text AS mapped,
                (SELECT count(*) FROM migrator.wallet_map WHERE migration_id = $1 AND account_id IS NOT NULL)::text AS accounts,
                (SELECT count(*) FROM migrator.unmapped WHERE migration_id = $1)::text AS unmapped`,
        [migrationId],
      )
    ).rows[0];
    return {
      mapped: Number(row?.mapped),
      unmapped: Number(row?.unmapped),
      withAccount: Number(row?.accounts),
    };
  }

  async unmappedList(
    migrationId: string,
    limit: number,
  ): Promise<Array<{ legacy_id: string; reason: string }>> {
    return (
      await this.pool.query<{ legacy_id: string; reason: string }>(
        `SELECT legacy_id, reason FROM migrator.unmapped WHERE migration_id = $1 ORDER BY legacy_id LIMIT $2`,
        [migrationId, limit],
      )
    ).rows;
  }
}

const MIGRATION_COLUMNS = `id, tenant_id, source, state, import_cursor::text, import_phase, import_after,
  applied_cursor::text, source_cursor::text, source_cursor_at, applied_at, wallets_planned::text,
  changes_applied::text, changes_skipped::text, last_verify, created_at, updated_at, finished_at`;

const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);
