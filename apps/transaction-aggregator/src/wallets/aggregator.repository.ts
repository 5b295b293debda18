import { LedgerError, type TenantId } from '@saldo/ledger-domain';
import { dependencyError } from '@saldo/faults';
import { classifyPgError } from '@saldo/postgres';
import type { DataSource, QueryRunner } from 'typeorm';

export type OwnerType = 'personal' | 'enterprise' | 'reseller';
export type WalletRole = 'standalone' | 'member' | 'client';
export type PeriodUnit = 'month' | 'day';

export interface WalletRow {
  tenant_id: string;
  id: string;
  owner_type: OwnerType;
  owner_id: string;
  currency: string;
  role: WalletRole;
  parent_wallet_id: string | null;
  ledger_account_id: string | null;
  spend_limit_minor: string | null;
  limit_period: PeriodUnit;
  metadata: Record<string, string>;
  /** Credits and debits move credit grants (docs/grants.md); fixed at opening, never for members. */
  credit_grants: boolean;
  created_at: Date;
  /** Wallet lifecycle (migration 1767700000030; lifecycle.repository.ts). */
  status: WalletStatus;
  external_reference: string | null;
}

export type WalletStatus = 'active' | 'frozen' | 'closed';

export type ShadowState =
  'pending_confirmation' | 'confirmed' | 'rejected' | 'rejected_unrecoverable' | 'written_off';

export interface ShadowTopUpRow {
  tenant_id: string;
  document_id: string;
  document_type: 'invoice' | 'sales_order';
  wallet_id: string;
  account_id: string;
  transaction_id: string;
  amount_minor: string;
  state: ShadowState;
  reason: string;
  reversal_id: string | null;
  created_at: Date;
  resolved_at: Date | null;
}

const SHADOW_COLUMNS = `s.tenant_id, s.document_id, s.document_type, s.wallet_id, s.account_id, s.transaction_id,
  s.amount_minor::text AS amount_minor, s.state, s.reason, s.reversal_id, s.created_at, s.resolved_at`;

export type OperationState = 'started' | 'completed' | 'failed';

export interface OperationRow {
  tenant_id: string;
  idempotency_key: string;
  action: string;
  request_hash: string;
  state: OperationState;
  result_id: string | null;
  wallet_id: string | null;
  spender_wallet_id: string | null;
  spend_minor: string;
  period_start: Date | null;
  hold_id: string | null;
  hold_expires_at: Date | null;
  hold_resolved: boolean;
  created_at: Date;
}

/** What an operation counts against a wallet's usage, and the limit it must stay within. */
export interface SpendClaim {
  spenderWalletId: string;
  /** Signed: usage and holds count positive, releases and reversals negative. */
  amountMinor: bigint;
  /** The current period of this unit, or the period of the operation being adjusted. */
  period: { unit: PeriodUnit } | { start: Date };
  /** Members with a limit: refuse when the period's usage would exceed it. */
  limitMinor?: bigint;
}

export interface OperationClaim {
  key: string;
  action: string;
  requestHash: string;
  /** Known up front for OpenWallet (the new wallet's id), otherwise set on completion. */
  resultId?: string;
  walletId?: string;
  spend?: SpendClaim;
  /** Reserve: seconds until the hold lapses (0: never). */
  holdExpiresInSeconds?: number;
  /** Capture and Void of a hold: the hold they resolve. */
  resolvesHoldId?: string;
}

/**
 * A completed operation of the lean path (posted without a claim), recorded after its ledger batch
 * so its usage counts in the wallet's period: usage and holds on wallets without a spend limit.
 */
export interface CompletedOperation {
  tenant: TenantId;
  key: string;
  action: 'BookUsage' | 'Reserve';
  requestHash: string;
  resultId: string;
  walletId: string;
  spenderWalletId: string;
  spendMinor: bigint;
  periodUnit: PeriodUnit;
  /** Reserve: seconds until the hold lapses (0: never). */
  holdExpiresInSeconds: number;
}

/** new: go ahead; resume: a started attempt of the same request, go ahead with its stored ids; replay: done before. */
export type ClaimOutcome = { kind: 'new' | 'resume' | 'replay'; operation: OperationRow };

const MAX_CLAIM_ATTEMPTS = 3;
const USAGE_COUNTS = `(o.state = 'completed' OR (o.state = 'started' AND o.spend_minor > 0))
  AND NOT (o.action = 'Reserve' AND NOT o.hold_resolved AND coalesce(o.hold_expires_at <= now(), false))`;

/** Every SQL of the aggregator; each query takes the tenant first and filters by it. */
export class AggregatorRepository {
  constructor(readonly db: DataSource) {}

  async findWallet(tenant: TenantId, walletId: string): Promise<WalletRow | undefined> {
    const rows: WalletRow[] = await this.db.query(
      `SELECT w.*, w.spend_limit_minor::text AS spend_limit_minor FROM aggregator.wallets w WHERE w.tenant_id = $1 AND w.id = $2`,
      [tenant, walletId],
    );
    return rows[0];
  }

  async findWalletByAccount(tenant: TenantId, accountId: string): Promise<WalletRow | undefined> {
    const rows: WalletRow[] = await this.db.query(
      `SELECT w.*, w.spend_limit_minor::text AS spend_limit_minor FROM aggregator.wallets w
        WHERE w.tenant_id = $1 AND w.ledger_account_id = $2`,
      [tenant, accountId],
    );
    return rows[0];
  }

  async listChildren(
    tenant: TenantId,
    parentId: string,
    afterId: string | undefined,
    limit: number,
  ): Promise<WalletRow[]> {
    return this.db.query(
      `SELECT w.*, w.spend_limit_minor::text AS spend_limit_minor FROM aggregator.wallets w
        WHERE w.tenant_id = $1 AND w.parent_wallet_id = $2 AND ($3::uuid IS NULL OR w.id > $3)
        ORDER BY w.id LIMIT $4`,
      [tenant, parentId, afterId ?? null, limit],
    );
  }

  /** Inserts the wallet row of a completed OpenWallet (a resumed attempt finds it there already). */
  async insertWallet(
    tenant: TenantId,
    wallet: Omit<WalletRow, 'tenant_id' | 'created_at' | 'status' | 'external_reference'>,
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO aggregator.wallets (tenant_id, id, owner_type, owner_id, currency, role, parent_wallet_id,
                                       ledger_account_id, spend_limit_minor, limit_period, metadata, credit_grants)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (tenant_id, id) DO NOTHING`,
      [
        tenant,
        wallet.id,
        wallet.owner_type,
        wallet.owner_id,
        wallet.currency,
        wallet.role,
        wallet.parent_wallet_id,
        wallet.ledger_account_id,
        wallet.spend_limit_minor,
        wallet.limit_period,
        JSON.stringify(wallet.metadata),
        wallet.credit_grants,
      ],
    );
  }

  /** Usage attributed to a wallet in the current period of the unit. */
  async periodSpent(
    tenant: TenantId,
    walletId: string,
    unit: PeriodUnit,
  ): Promise<{ spent: bigint; periodStart: Date }> {
    const rows: Array<{ spent: string; period_start: Date }> = await this.db.query(
      `WITH p AS (SELECT ${periodStartSql('$3')} AS start)
       SELECT p.start AS period_start,
              (SELECT coalesce(sum(o.spend_minor), 0)::text FROM aggregator.operations o
                WHERE o.tenant_id = $1 AND o.spender_wallet_id = $2 AND o.period_start = p.start AND ${USAGE_COUNTS}) AS spent
         FROM p`,
      [tenant, walletId, unit],
    );
    const row = rows[0] as { spent: string; period_start: Date };
    return { spent: BigInt(row.spent), periodStart: row.period_start };
  }

  async findOperationByResult(tenant: TenantId, resultId: string): Promise<OperationRow | undefined> {
    const rows: OperationRow[] = await this.db.query(
      `SELECT o.*, o.spend_minor::text AS spend_minor FROM aggregator.operations o
        WHERE o.tenant_id = $1 AND o.result_id = $2 AND o.state = 'completed' AND o.action <> 'OpenWallet'`,
      [tenant, resultId],
    );
    return rows[0];
  }

  /** The ledger transactions of a member's operations, newest first, after the cursor. */
  async spenderOperations(
    tenant: TenantId,
    spenderId: string,
    before: { createdAt: string; key: string } | undefined,
    limit: number,
  ): Promise<Array<{ result_id: string; created_at: string; idempotency_key: string }>> {
    return this.db.query(
      `SELECT o.result_id, to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS created_at, o.idempotency_key
         FROM aggregator.operations o
        WHERE o.tenant_id = $1 AND o.spender_wallet_id = $2 AND o.state = 'completed'
          AND ($3::timestamp IS NULL OR (o.created_at AT TIME ZONE 'UTC', o.idempotency_key) < ($3::timestamp, $4::text))
        ORDER BY o.created_at DESC, o.idempotency_key DESC LIMIT $5`,
      [tenant, spenderId, before?.createdAt ?? null, before?.key ?? '', limit],
    );
  }

  /**
   * Claims an idempotency key in one transaction. A member's spend is checked against its limit
   * under a lock on the member's wallet row, so concurrent spends of one member are serialised
   * here and the limit holds across instances.
   */
  async claim(tenant: TenantId, claim: OperationClaim): Promise<ClaimOutcome> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.inTransaction((runner) => this.claimOnce(runner, tenant, claim));
      } catch (error) {
        const kind = classifyPgError(error);
        const retry =
          (kind.kind === 'constraint' && kind.constraint === 'operations_pkey') || kind.kind === 'retryable';
        if (!retry || attempt >= MAX_CLAIM_ATTEMPTS) throw toLedgerError(error);
      }
    }
  }

  /**
   * Records a ledger batch's completed lean operations in ONE statement (replays included: a row
   * lost to a crash after the posting is written by the retry). A row of the same key that is not
   * completed (a refused or unfinished claim of the same request) becomes this completed one.
   */
  async recordCompleted(operations: readonly CompletedOperation[]): Promise<void> {
    const unique = new Map<string, CompletedOperation>();
    for (const op of operations) {
      // One statement may not touch a row twice: the same key twice in a batch is one posting.
      const id = `${op.tenant}\u0000${op.key}`;
      if (!unique.has(id)) unique.set(id, op);
    }
    const rows = [...unique.values()];
    if (rows.length === 0) return;
    await this.db
      .query(
        `INSERT INTO aggregator.operations (tenant_id, idempotency_key, action, request_hash, state, result_id, wallet_id,
                                            spender_wallet_id, spend_minor, period_start, hold_expires_at)
         SELECT v.t, v.k, v.a, v.h, 'completed', v.r, v.w, v.s, v.m, ${periodStartSql('v.u')},
                CASE WHEN v.x > 0 THEN now() + make_interval(secs => v.x) END
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::uuid[], $7::uuid[],
                       $8::bigint[], $9::text[], $10::int[]) AS v(t, k, a, h, r, w, s, m, u, x)
         ON CONFLICT (tenant_id, idempotency_key) DO UPDATE
           SET state = 'completed', result_id = EXCLUDED.result_id, wallet_id = EXCLUDED.wallet_id,
               spender_wallet_id = EXCLUDED.spender_wallet_id, spend_minor = EXCLUDED.spend_minor,
               period_start = EXCLUDED.period_start, hold_expires_at = EXCLUDED.hold_expires_at,
               error_code = NULL, updated_at = now()
           WHERE aggregator.operations.state <> 'completed'`,
        [
          rows.map((op) => op.tenant),
          rows.map((op) => op.key),
          rows.map((op) => op.action),
          rows.map((op) => op.requestHash),
          rows.map((op) => op.resultId),
          rows.map((op) => op.walletId),
          rows.map((op) => op.spenderWalletId),
          rows.map((op) => op.spendMinor.toString()),
          rows.map((op) => op.periodUnit),
          rows.map((op) => op.holdExpiresInSeconds),
        ],
      )
      .catch((error: unknown) => {
        throw toLedgerError(error);
      });
  }

  /** Marks a claimed operation done; a capture or void also marks the hold it resolved. */
  async complete(tenant: TenantId, key: string, resultId: string, resolvesHoldId?: string): Promise<void> {
    await this.inTransaction(async (runner) => {
      await runner.query(
        `UPDATE aggregator.operations SET state = 'completed', result_id = $3, error_code = NULL, updated_at = now()
          WHERE tenant_id = $1 AND idempotency_key = $2`,
        [tenant, key, resultId],
      );
      if (resolvesHoldId) {
        await runner.query(
          `UPDATE aggregator.operations SET hold_resolved = true, updated_at = now()
            WHERE tenant_id = $1 AND action = 'Reserve' AND result_id = $2`,
          [tenant, resolvesHoldId],
        );
      }
    });
  }

  /** A definitive refusal: the key is free for the same request again (as in the ledger). */
  async fail(tenant: TenantId, key: string, errorCode: string): Promise<void> {
    await this.db.query(
      `UPDATE aggregator.operations SET state = 'failed', error_code = $3, updated_at = now()
        WHERE tenant_id = $1 AND idempotency_key = $2 AND state = 'started'`,
      [tenant, key, errorCode],
    );
  }

  private async claimOnce(
    runner: QueryRunner,
    tenant: TenantId,
    claim: OperationClaim,
  ): Promise<ClaimOutcome> {
    if (claim.spend?.limitMinor !== undefined) {
      await runner.query(`SELECT 1 FROM aggregator.wallets WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [
        tenant,
        claim.spend.spenderWalletId,
      ]);
    }
    const existing: OperationRow[] = await runner.query(
      `SELECT o.*, o.spend_minor::text AS spend_minor FROM aggregator.operations o
        WHERE o.tenant_id = $1 AND o.idempotency_key = $2 FOR UPDATE`,
      [tenant, claim.key],
    );
    const found = existing[0];
    if (found && (found.action !== claim.action || found.request_hash !== claim.requestHash)) {
      throw new LedgerError(
        'IDEMPOTENCY_CONFLICT',
        `idempotency_key: "${claim.key}" was already used for a different request (${found.action}); use a new key for a new request`,
        { field: 'idempotency_key' },
      );
    }
    if (found?.state === 'completed') return { kind: 'replay', operation: found };
    if (found?.state === 'started') return { kind: 'resume', operation: found };

    const periodStart = claim.spend ? await this.periodStartOf(runner, claim.spend) : null;
    if (claim.spend?.limitMinor !== undefined && claim.spend.amountMinor > 0n && periodStart) {
      await this.checkLimit(runner, tenant, claim.spend, periodStart);
    }
    const values = [
      tenant,
      claim.key,
      claim.action,
      claim.requestHash,
      found?.result_id ?? claim.resultId ?? null,
      claim.walletId ?? null,
      claim.spend?.spenderWalletId ?? null,
      (claim.spend?.amountMinor ?? 0n).toString(),
      periodStart,
      claim.resolvesHoldId ?? null,
      claim.holdExpiresInSeconds ?? 0,
    ];
    const rows: OperationRow[] = await runner.query(
      `INSERT INTO aggregator.operations (tenant_id, idempotency_key, action, request_hash, state, result_id, wallet_id,
                                          spender_wallet_id, spend_minor, period_start, hold_id, hold_expires_at)
       VALUES ($1, $2, $3, $4, 'started', $5, $6, $7, $8::bigint, $9, $10,
               CASE WHEN $11::int > 0 THEN now() + make_interval(secs => $11::int) END)
       ON CONFLICT (tenant_id, idempotency_key) DO UPDATE
         SET state = 'started', result_id = EXCLUDED.result_id, wallet_id = EXCLUDED.wallet_id,
             spender_wallet_id = EXCLUDED.spender_wallet_id, spend_minor = EXCLUDED.spend_minor,
             period_start = EXCLUDED.period_start, hold_id = EXCLUDED.hold_id, hold_expires_at = EXCLUDED.hold_expires_at,
             error_code = NULL, updated_at = now()
         WHERE aggregator.operations.state = 'failed'
       RETURNING *, spend_minor::text AS spend_minor`,
      values,
    );
    if (!rows[0]) {
      // Claimed concurrently by an attempt that committed first: let the caller retry the claim.
      throw Object.assign(new Error('idempotency key claimed concurrently'), {
        code: '23505',
        constraint: 'operations_pkey',
      });
    }
    return { kind: 'new', operation: rows[0] };
  }

  private async periodStartOf(runner: QueryRunner, spend: SpendClaim): Promise<Date> {
    if ('start' in spend.period) return spend.period.start;
    const rows: Array<{ start: Date }> = await runner.query(`SELECT ${periodStartSql('$1')} AS start`, [
      spend.period.unit,
    ]);
    return (rows[0] as { start: Date }).start;
  }

  private async checkLimit(
    runner: QueryRunner,
    tenant: TenantId,
    spend: SpendClaim,
    periodStart: Date,
  ): Promise<void> {
    const rows: Array<{ spent: string }> = await runner.query(
      `SELECT coalesce(sum(o.spend_minor), 0)::text AS spent FROM aggregator.operations o
        WHERE o.tenant_id = $1 AND o.spender_wallet_id = $2 AND o.period_start = $3 AND ${USAGE_COUNTS}`,
      [tenant, spend.spenderWalletId, periodStart],
    );
    const spent = BigInt((rows[0] as { spent: string }).spent);
    const limit = spend.limitMinor as bigint;
    if (spent + spend.amountMinor > limit) {
      throw new LedgerError(
        'SPEND_LIMIT_EXCEEDED',
        `amount: the member's spend limit for this period is ${limit}; ${spent} is spent, so ${spend.amountMinor} more would exceed it`,
        {
          field: 'amount',
          facts: {
            limit: limit.toString(),
            spent: spent.toString(),
            requested: spend.amountMinor.toString(),
          },
        },
      );
    }
  }

  /** One explicit transaction: lock_timeout bounds every wait, rollback is guarded, release always. */
  private async inTransaction<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.query(`SET LOCAL lock_timeout = '5s'`);
      const result = await work(runner);
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }

  /** The shadow top-up of an ERP document, if any. */
  async findShadowTopUp(tenant: TenantId, documentId: string): Promise<ShadowTopUpRow | undefined> {
    const rows: ShadowTopUpRow[] = await this.db.query(
      `SELECT ${SHADOW_COLUMNS} FROM aggregator.shadow_topups s WHERE s.tenant_id = $1 AND s.document_id = $2`,
      [tenant, documentId],
    );
    return rows[0];
  }

  /**
   * Records a posted document top-up (pending confirmation). A retry of the same top-up finds it
   * there already; the row that exists is returned either way.
   */
  async recordShadowTopUp(
    tenant: TenantId,
    row: Pick<
      ShadowTopUpRow,
      'document_id' | 'document_type' | 'wallet_id' | 'account_id' | 'transaction_id' | 'amount_minor'
    >,
  ): Promise<ShadowTopUpRow> {
    await this.db
      .query(
        `INSERT INTO aggregator.shadow_topups (tenant_id, document_id, document_type, wallet_id, account_id, transaction_id, amount_minor)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, document_id) DO NOTHING`,
        [
          tenant,
          row.document_id,
          row.document_type,
          row.wallet_id,
          row.account_id,
          row.transaction_id,
          row.amount_minor,
        ],
      )
      .catch((error: unknown) => {
        throw toLedgerError(error);
      });
    return (await this.findShadowTopUp(tenant, row.document_id)) as ShadowTopUpRow;
  }

  /** Moves a document to its verdict, only from the states given (a repeated verdict changes nothing). */
  async resolveShadowTopUp(
    tenant: TenantId,
    documentId: string,
    from: readonly ShadowState[],
    to: { state: Exclude<ShadowState, 'pending_confirmation'>; reason: string; reversalId?: string },
  ): Promise<ShadowTopUpRow | undefined> {
    const rows: ShadowTopUpRow[] = await this.db.query(
      // A CTE so the driver answers rows (a bare UPDATE answers [rows, count]).
      `WITH s AS (
         UPDATE aggregator.shadow_topups SET state = $4, reason = left($5, 512), reversal_id = $6, resolved_at = now()
          WHERE tenant_id = $1 AND document_id = $2 AND state = ANY($3::text[])
          RETURNING *)
       SELECT ${SHADOW_COLUMNS} FROM s`,
      [tenant, documentId, from, to.state, to.reason, to.reversalId ?? null],
    );
    return rows[0];
  }
}

/** The start (UTC) of the current calendar month or day, computed by the database clock. */
function periodStartSql(unitParam: string): string {
  return `(date_trunc(${unitParam}::text, now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')`;
}

function toLedgerError(error: unknown): unknown {
  return dependencyError(error, 'the database') ?? error;
}
