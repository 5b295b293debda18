import { LEDGER_ERROR_CODES, LedgerError, type LedgerErrorCode, type TenantId } from '@saldo/ledger-domain';
import { classifyPgError } from '@saldo/postgres';
import type { DataSource } from 'typeorm';
import type { AccountRow, EntryRow, ShadowCreditRow, TotalsRow, TransactionRow } from './wire-mapping';

/** The write payloads the SQL functions take (amounts as decimal strings). */
export interface PostTransactionCommand {
  idempotency_key: string;
  request_hash: string;
  legs: Array<{ account_id?: string; system_account?: string; side: string; amount: string }>;
  asset_code: string | null;
  pending: boolean;
  timeout_seconds: number;
  action: string;
  references: Record<string, string>;
  metadata: Record<string, string>;
  /** Present only on a document top-up: see ledger.record_shadow_credit. */
  shadow_document_id?: string;
}

export interface ResolvePendingCommand {
  idempotency_key: string;
  request_hash: string;
  operation: 'post_pending' | 'void_pending';
  pending_transaction_id: string;
  amount: string | null;
  metadata: Record<string, string>;
}

export interface ReverseCommand {
  idempotency_key: string;
  request_hash: string;
  transaction_id: string;
  metadata: Record<string, string>;
}

export interface OpenAccountCommand {
  idempotency_key: string;
  request_hash: string;
  asset_code: string;
  overdraft_limit: string;
  external_ref: string;
  metadata: Record<string, string>;
}

/** A write for PostingBatcher: one of the ledger's posting functions with its input. */
export type PostingCommand =
  | ({ op: 'post_transaction'; tenant_id: TenantId } & PostTransactionCommand)
  | ({ op: 'resolve_pending'; tenant_id: TenantId } & ResolvePendingCommand)
  | ({ op: 'reverse_transaction'; tenant_id: TenantId } & ReverseCommand);

/** A row of ledger.post_commands: a command's outcome (entry_id null) or one new entry. */
interface OutcomeRow {
  n: number;
  code: string | null;
  message: string | null;
  hint: string | null;
  transaction_id: string | null;
  replayed: boolean;
  kind: TransactionRow['kind'] | null;
  status: TransactionRow['status'] | null;
  action: string | null;
  asset_code: string | null;
  pending_id: string | null;
  reverses_id: string | null;
  expires_at: string | null;
  refs: Record<string, string> | null;
  metadata: Record<string, string> | null;
  created_at: string | null;
  entry_id: string | null;
  account_id: string | null;
  entry_asset: string | null;
  side: EntryRow['side'] | null;
  phase: EntryRow['phase'] | null;
  amount: string | null;
  normal_side: EntryRow['normal_side'] | null;
  account_version: string | null;
  debits_posted: string | null;
  credits_posted: string | null;
  debits_pending: string | null;
  credits_pending: string | null;
}

const POST_COMMANDS_SQL = `SELECT * FROM ledger.post_commands($1::text[], $2::text[], $3::text[], $4::text[],
  $5::text[], $6::int[], $7::text[], $8::jsonb[], $9::jsonb[], $10::uuid[], $11::bigint[], $12::text[], $13::int[],
  $14::uuid[], $15::text[], $16::text[], $17::bigint[])`;

/** Tries of one batch that raced another batch for a key, or deadlocked with it. */
const MAX_BATCH_ATTEMPTS = 3;

function isRaceWithAnotherBatch(error: unknown): boolean {
  const e = error as { code?: string; constraint?: string };
  return (e.code === '23505' && e.constraint === 'idempotency_keys_pkey') || e.code === '40P01';
}

/** The commands as the parallel arrays ledger.post_commands takes (one element per command or leg). */
function postCommandsParams(commands: readonly PostingCommand[]): unknown[] {
  const c = {
    op: [] as string[],
    tenant: [] as string[],
    key: [] as string[],
    hash: [] as string[],
    asset: [] as Array<string | null>,
    timeout: [] as number[],
    action: [] as Array<string | null>,
    refs: [] as Array<string | null>,
    meta: [] as string[],
    target: [] as Array<string | null>,
    amount: [] as Array<string | null>,
    shadow: [] as Array<string | null>,
    legs: [] as number[],
  };
  const l = {
    account: [] as Array<string | null>,
    system: [] as Array<string | null>,
    side: [] as string[],
    amount: [] as string[],
  };
  for (const command of commands) {
    c.tenant.push(command.tenant_id);
    c.key.push(command.idempotency_key);
    c.hash.push(command.request_hash);
    c.meta.push(JSON.stringify(command.metadata));
    if (command.op === 'post_transaction') {
      c.op.push(command.pending ? 'hold' : 'post');
      c.asset.push(command.asset_code);
      c.timeout.push(command.timeout_seconds);
      c.action.push(command.action);
      c.refs.push(JSON.stringify(command.references));
      c.target.push(null);
      c.amount.push(null);
      c.shadow.push(command.shadow_document_id || null);
      c.legs.push(command.legs.length);
      for (const leg of command.legs) {
        l.account.push(leg.account_id ?? null);
        l.system.push(leg.account_id ? null : (leg.system_account ?? null));
        l.side.push(leg.side);
        l.amount.push(leg.amount);
      }
      continue;
    }
    c.op.push(command.op === 'resolve_pending' ? command.operation : 'reverse');
    c.asset.push(null);
    c.timeout.push(0);
    c.action.push(null);
    c.refs.push(null);
    c.target.push(command.op === 'resolve_pending' ? command.pending_transaction_id : command.transaction_id);
    c.amount.push(command.op === 'resolve_pending' ? command.amount : null);
    c.shadow.push(null);
    c.legs.push(0);
  }
  return [
    c.op,
    c.tenant,
    c.key,
    c.hash,
    c.asset,
    c.timeout,
    c.action,
    c.refs,
    c.meta,
    c.target,
    c.amount,
    c.shadow,
    c.legs,
    l.account,
    l.system,
    l.side,
    l.amount,
  ];
}

function newTransaction(command: PostingCommand, head: OutcomeRow): TransactionRow {
  return {
    transaction_id: head.transaction_id as string,
    tenant_id: command.tenant_id,
    kind: head.kind as TransactionRow['kind'],
    status: head.status as TransactionRow['status'],
    action: head.action ?? '',
    idempotency_key: command.idempotency_key,
    asset_code: head.asset_code ?? '',
    pending_transaction_id: head.pending_id,
    resolved_by_transaction_id: null,
    reverses_transaction_id: head.reverses_id,
    reversed_by_transaction_id: null,
    expires_at: head.expires_at,
    created_at: head.created_at as string,
    references: head.refs ?? {},
    metadata: head.metadata ?? {},
    entries: [],
  };
}

function entryOf(row: OutcomeRow): EntryRow {
  return {
    entry_id: row.entry_id as string,
    transaction_id: row.transaction_id as string,
    account_id: row.account_id as string,
    asset_code: row.entry_asset as string,
    side: row.side as EntryRow['side'],
    phase: row.phase as EntryRow['phase'],
    amount: row.amount as string,
    normal_side: row.normal_side as EntryRow['normal_side'],
    account_version: row.account_version as string,
    debits_posted: row.debits_posted as string,
    credits_posted: row.credits_posted as string,
    debits_pending: row.debits_pending as string,
    credits_pending: row.credits_pending as string,
    created_at: row.created_at as string,
  };
}

function toCode(code: string): LedgerErrorCode {
  return KNOWN_CODES.has(code) ? (code as LedgerErrorCode) : 'INTERNAL';
}

export interface BalanceAsOfRow extends TotalsRow {
  account_version: string;
  normal_side: 'debit' | 'credit';
  /** Shadow credits open at that moment: recorded by then and not yet settled. */
  shadow_credits: string;
}

/**
 * Every SQL the ledger runs, each scoped to one tenant. Writes are single calls to the ledger's
 * SQL functions (one round trip, one transaction); PostgreSQL errors become LedgerErrors here.
 */
export class LedgerRepository {
  constructor(private readonly db: DataSource) {}

  defineAsset(
    tenant: TenantId,
    code: string,
    scale: number,
  ): Promise<{ tenant_id: string; code: string; scale: number; created_at: string }> {
    return this.one('SELECT ledger.define_asset($1, $2, $3::smallint) AS r', [tenant, code, scale]);
  }

  openAccount(tenant: TenantId, command: OpenAccountCommand): Promise<AccountRow> {
    return this.one('SELECT ledger.open_account($1::jsonb) AS r', [
      JSON.stringify({ ...command, tenant_id: tenant }),
    ]);
  }

  /**
   * Runs posting commands as one database transaction (ledger.post_commands: a constant number of
   * statements per batch); returns each command's transaction or its error, in order. A batch that
   * met a concurrent batch claiming one of its keys (or a deadlock) is run again: it then sees the
   * key as stored. See PostingBatcher.
   */
  async postBatch(
    commands: readonly PostingCommand[],
  ): Promise<Array<{ ok: TransactionRow } | { error: unknown }>> {
    const params = postCommandsParams(commands);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const rows = (await this.db.query(POST_COMMANDS_SQL, params)) as OutcomeRow[];
        return await this.outcomes(commands, rows);
      } catch (error) {
        if (attempt >= MAX_BATCH_ATTEMPTS || !isRaceWithAnotherBatch(error)) throw toLedgerError(error);
      }
    }
  }

  private async outcomes(
    commands: readonly PostingCommand[],
    rows: readonly OutcomeRow[],
  ): Promise<Array<{ ok: TransactionRow } | { error: unknown }>> {
    const heads: OutcomeRow[] = [];
    const created = new Map<string, TransactionRow>();
    for (const row of rows) if (row.entry_id === null) heads[row.n - 1] = row;
    heads.forEach((head, index) => {
      if (head.code === null && !head.replayed) {
        created.set(head.transaction_id as string, newTransaction(commands[index]!, head));
      }
    });
    for (const row of rows) {
      if (row.entry_id !== null) created.get(row.transaction_id as string)?.entries.push(entryOf(row));
    }
    // Replays of keys stored before this batch: read back as they are now (rare).
    const stored = heads
      .filter((head) => head.replayed && !created.has(head.transaction_id as string))
      .map((head) => head.transaction_id as string);
    const replayedRows = stored.length
      ? await this.run<{ r: TransactionRow }>(
          'SELECT ledger.transaction_json(t.id) AS r FROM unnest($1::uuid[]) AS t(id)',
          [stored],
        )
      : [];
    const storedById = new Map(replayedRows.map(({ r }) => [r.transaction_id, r]));
    return commands.map((_, index) => {
      const head = heads[index];
      if (!head) return { error: new LedgerError('INTERNAL', 'the batch returned no result for a command') };
      if (head.code !== null) {
        return {
          error: new LedgerError(
            toCode(head.code),
            head.message ?? head.code,
            parseHint(head.hint ?? undefined),
          ),
        };
      }
      const id = head.transaction_id as string;
      const transaction = head.replayed ? (created.get(id) ?? storedById.get(id)) : created.get(id);
      if (!transaction)
        return { error: new LedgerError('INTERNAL', `transaction ${id} could not be read back`) };
      return { ok: head.replayed ? { ...transaction, replayed: true } : transaction };
    });
  }

  async findAccount(tenant: TenantId, accountId: string): Promise<AccountRow | undefined> {
    const rows = await this.run<{ r: AccountRow | null }>(
      `SELECT ledger.account_json(a.id) AS r FROM ledger.accounts a WHERE a.tenant_id = $1 AND a.id = $2`,
      [tenant, accountId],
    );
    return rows[0]?.r ?? undefined;
  }

  async listSystemAccounts(tenant: TenantId, assetCode: string): Promise<AccountRow[]> {
    const rows = await this.run<{ r: AccountRow }>(
      `SELECT ledger.account_json(a.id) AS r FROM ledger.accounts a
        WHERE a.tenant_id = $1 AND a.asset_code = $2 AND a.type NOT IN ('wallet', 'grant') ORDER BY a.type`,
      [tenant, assetCode],
    );
    return rows.map((row) => row.r);
  }

  async findTransaction(tenant: TenantId, transactionId: string): Promise<TransactionRow | undefined> {
    const rows = await this.run<{ r: TransactionRow }>(
      `SELECT ledger.transaction_json(t.id) AS r FROM ledger.transactions t WHERE t.tenant_id = $1 AND t.id = $2`,
      [tenant, transactionId],
    );
    return rows[0]?.r;
  }

  /** The account's totals right after its last entry at or before asOf (undefined: no entry yet). */
  async balanceAsOf(tenant: TenantId, accountId: string, asOf: Date): Promise<BalanceAsOfRow | undefined> {
    const rows = await this.run<BalanceAsOfRow>(
      `SELECT e.debits_posted::text, e.credits_posted::text, e.debits_pending::text, e.credits_pending::text,
              e.account_version::text, a.normal_side,
              (SELECT coalesce(sum(c.amount), 0)::text FROM ledger.shadow_credits c
                WHERE c.account_id = e.account_id AND c.created_at <= $3
                  AND (c.settled_at IS NULL OR c.settled_at > $3)) AS shadow_credits
         FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
        WHERE e.tenant_id = $1 AND e.account_id = $2 AND e.created_at <= $3
        ORDER BY e.created_at DESC, e.id DESC LIMIT 1`,
      [tenant, accountId, asOf],
    );
    return rows[0];
  }

  /** Entries of an account, newest first, strictly before the cursor entry id. */
  listEntries(
    tenant: TenantId,
    accountId: string,
    beforeEntryId: string | undefined,
    limit: number,
  ): Promise<EntryRow[]> {
    return this.run<EntryRow>(
      `SELECT e.id::text AS entry_id, e.transaction_id, e.account_id, e.asset_code, e.side, e.phase, e.amount::text,
              a.normal_side, e.account_version::text, e.debits_posted::text, e.credits_posted::text,
              e.debits_pending::text, e.credits_pending::text, e.created_at
         FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
        WHERE e.tenant_id = $1 AND e.account_id = $2 AND ($3::bigint IS NULL OR e.id < $3::bigint)
        ORDER BY e.id DESC LIMIT $4`,
      [tenant, accountId, beforeEntryId ?? null, limit],
    );
  }

  /**
   * Transactions touching an account, newest first. An account's entries of one transaction are
   * adjacent (the account is locked while they are written), so a transaction starts wherever the
   * transaction id changes; the cursor is the newest entry id of the next page's first transaction.
   */
  async listAccountTransactions(
    tenant: TenantId,
    accountId: string,
    fromEntryId: string | undefined,
    limit: number,
  ): Promise<{ transactions: TransactionRow[]; nextEntryId: string | undefined }> {
    const heads = await this.run<{ transaction_id: string; entry_id: string }>(
      `SELECT transaction_id, id::text AS entry_id FROM (
         SELECT e.transaction_id, e.id, lag(e.transaction_id) OVER (ORDER BY e.id DESC) AS newer
           FROM ledger.entries e
          WHERE e.tenant_id = $1 AND e.account_id = $2 AND ($3::bigint IS NULL OR e.id <= $3::bigint)
          ORDER BY e.id DESC) x
        WHERE newer IS DISTINCT FROM transaction_id
        LIMIT $4`,
      [tenant, accountId, fromEntryId ?? null, limit + 1],
    );
    const page = heads.slice(0, limit);
    const rows = await this.run<{ r: TransactionRow }>(
      `SELECT ledger.transaction_json(t.id) AS r FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, n) ORDER BY n`,
      [page.map((head) => head.transaction_id)],
    );
    return { transactions: rows.map((row) => row.r), nextEntryId: heads[limit]?.entry_id };
  }

  confirmShadowCredit(tenant: TenantId, transactionId: string, reason: string): Promise<ShadowCreditRow> {
    return this.one('SELECT ledger.confirm_shadow_credit($1, $2::uuid, $3) AS r', [
      tenant,
      transactionId,
      reason,
    ]);
  }

  /** Holds whose expiry has passed, oldest first. */
  async expiredHolds(limit: number): Promise<Array<{ tenant_id: TenantId; id: string }>> {
    return this.run(
      `SELECT tenant_id, id FROM ledger.transactions
        WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= clock_timestamp()
        ORDER BY expires_at LIMIT $1`,
      [limit],
    );
  }

  private async one<T>(sql: string, params: unknown[]): Promise<T> {
    const rows = await this.run<{ r: T }>(sql, params);
    const row = rows[0];
    if (!row) throw new LedgerError('INTERNAL', 'the ledger function returned no row');
    return row.r;
  }

  private async run<T>(sql: string, params: unknown[]): Promise<T[]> {
    try {
      return (await this.db.query(sql, params)) as T[];
    } catch (error) {
      throw toLedgerError(error);
    }
  }
}

const KNOWN_CODES = new Set<string>(LEDGER_ERROR_CODES);

/** The single translation of PostgreSQL failures into ledger errors. */
export function toLedgerError(error: unknown): unknown {
  const failure = classifyPgError(error);
  switch (failure.kind) {
    case 'domain': {
      if (!KNOWN_CODES.has(failure.code)) return error;
      const hint = parseHint(failure.hint);
      return new LedgerError(failure.code as LedgerErrorCode, failure.message, hint);
    }
    case 'retryable':
      return new LedgerError(
        'CONFLICT_RETRY',
        'the ledger is busy with a conflicting operation; retry shortly',
      );
    case 'unavailable':
      return new LedgerError('DEPENDENCY_UNAVAILABLE', 'the ledger database is unavailable; retry shortly');
    case 'constraint':
      if (failure.constraint === 'accounts_within_limit') {
        return new LedgerError('INSUFFICIENT_FUNDS', 'insufficient funds', { field: 'amount' });
      }
      // Two different postings of one document raced past record_shadow_credit's check.
      if (failure.constraint === 'shadow_credits_tenant_id_document_id_key') {
        return new LedgerError(
          'SHADOW_CREDIT_CONFLICT',
          'shadow_document_id: the document was already credited',
          {
            field: 'shadow_document_id',
          },
        );
      }
      return error;
    case 'overflow':
      return new LedgerError('BALANCE_OVERFLOW', 'the amount would overflow the account totals (bigint)', {
        field: 'amount',
      });
    case 'other':
      return error;
  }
}

function parseHint(hint: string | undefined): { field?: string; facts?: Record<string, string> } {
  if (!hint) return {};
  try {
    const parsed = JSON.parse(hint) as { field?: string; facts?: Record<string, unknown> };
    const facts = parsed.facts
      ? Object.fromEntries(Object.entries(parsed.facts).map(([k, v]) => [k, String(v)]))
      : undefined;
    return { ...(parsed.field ? { field: parsed.field } : {}), ...(facts ? { facts } : {}) };
  } catch {
    return {};
  }
}
