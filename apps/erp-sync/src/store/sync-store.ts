import type { DataSource, QueryRunner } from 'typeorm';
import type {
  AccountRole,
  BalanceSnapshot,
  EventMapping,
  TransactionAccounting,
} from '../mapping/accounting';

export type ConnectorName = 'netsuite' | 'zendesk' | 'activecampaign';
export type SyncState = 'pending' | 'in_flight' | 'synced' | 'failed' | 'dead';

/** Money to the ERP before CRM cosmetics: lower runs first. */
export const CONNECTOR_PRIORITY: Record<ConnectorName | 'mapping', number> = {
  netsuite: 0,
  zendesk: 5,
  activecampaign: 5,
  mapping: 9,
};

export interface IncomingEvent {
  eventId: string;
  tenantId: string;
  transactionId: string | null;
  mapping: EventMapping;
  /** CRM connectors the tenant's balances go to. */
  crmConnectors: readonly ConnectorName[];
  /** The event as received, kept with an unmappable event so an operator can replay it. */
  raw: unknown;
}

export interface SyncRecord {
  id: string;
  connector: ConnectorName | 'mapping';
  recordKey: string;
  tenantId: string;
  kind: 'journal_entry' | 'crm_balance' | 'ledger_event';
  state: SyncState;
  revision: bigint;
  syncedRevision: bigint;
  payload: Record<string, unknown>;
  externalId: string | null;
  attempts: number;
  throttled: number;
  nextAttemptAt: Date;
  lastError: string | null;
  deadReason: string | null;
  updatedAt: Date;
}

export interface JournalContent {
  externalId: string;
  tenantId: string;
  kind: 'usage_summary' | 'single';
  assetCode: string;
  assetScale: number;
  currencyId: string;
  subsidiary: string;
  department: string | null;
  tranDate: string;
  memo: string;
  productCode: string | null;
  lines: Array<{
    role: AccountRole;
    account: string;
    customer: string | null;
    item: string | null;
    debitMinor: bigint;
    creditMinor: bigint;
  }>;
}

export interface ExternalWrite {
  connector: string;
  syncRecordId: string | null;
  method: string;
  path: string;
  requestBody: unknown;
  responseCode: number | null;
  externalId: string | null;
  error: string | null;
  durationMs: number;
}

export interface IngestTiming {
  /** Delay before a changed summary journal is written (coalesces a burst of usage into one write). */
  journalDelayMs: number;
  /** Delay before a changed CRM balance is sent (only the latest balance is sent). */
  balanceDelayMs: number;
}

const MAX_BATCH = 1_000;

/** Every SQL statement of erp-sync's sync state, in one place. */
export class SyncStore {
  constructor(private readonly db: DataSource) {}

  /**
   * Stores a batch of consumed events in one PostgreSQL transaction; returns how many were new.
   * Idempotent on event id (processed_events) and on ledger transaction (accounted_transactions):
   * a redelivered event, or the second part of a transfer, adds nothing.
   */
  async ingest(
    events: readonly IncomingEvent[],
    timing: IngestTiming,
  ): Promise<{ fresh: number; duplicates: number }> {
    if (events.length > MAX_BATCH) throw new Error(`ingest: at most ${MAX_BATCH} events per batch`);
    return this.inTransaction(async (q) => {
      const inserted: Array<{ event_id: string }> = await q.query(
        `INSERT INTO erp_sync.processed_events (event_id, tenant_id, transaction_id, outcome)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
         ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
        [
          events.map((e) => e.eventId),
          events.map((e) => e.tenantId),
          events.map((e) => e.transactionId),
          events.map(outcomeOf),
        ],
      );
      const fresh = new Set(inserted.map((r) => r.event_id));
      // In arrival order, each fresh event once (a duplicate inside the batch is dropped too).
      const batch = events.filter((e) => fresh.delete(e.eventId));
      await this.recordUnmappable(q, batch);
      await this.recordAccountingBatch(q, batch, timing.journalDelayMs);
      await this.recordBalances(q, batch, timing.balanceDelayMs);
      return { fresh: inserted.length, duplicates: events.length - inserted.length };
    });
  }

  /**
   * The rest of a batch in a constant number of multi-row statements (whatever its size): dead
   * records of unmappable events, then the accounting (claims, sync records, journals, lines), then
   * the newest CRM balances.
   */
  private async recordUnmappable(q: QueryRunner, events: readonly IncomingEvent[]): Promise<void> {
    const dead = events.flatMap((e) =>
      e.mapping.outcome === 'unmappable' ? [{ event: e, reason: `unmappable: ${e.mapping.reason}` }] : [],
    );
    if (dead.length === 0) return;
    await q.query(
      `INSERT INTO erp_sync.sync_records (connector, record_key, tenant_id, kind, priority, state, payload, dead_reason, last_error)
       SELECT 'mapping', k, t, 'ledger_event', $4, 'dead', p::jsonb, r, r
         FROM unnest($1::text[], $2::text[], $3::text[], $5::text[]) AS u(k, t, p, r)
       ON CONFLICT (connector, record_key) DO NOTHING`,
      [
        dead.map((d) => d.event.transactionId ?? d.event.eventId),
        dead.map((d) => d.event.tenantId),
        dead.map((d) => JSON.stringify(d.event.raw)),
        CONNECTOR_PRIORITY.mapping,
        dead.map((d) => d.reason),
      ],
    );
  }

  private async recordAccountingBatch(
    q: QueryRunner,
    events: readonly IncomingEvent[],
    summaryDelayMs: number,
  ): Promise<void> {
    const all = events.flatMap((e) =>
      e.mapping.outcome === 'mapped' && e.mapping.accounting
        ? [{ accounting: e.mapping.accounting, eventId: e.eventId }]
        : [],
    );
    if (all.length === 0) return;
    // Claim every transaction at once: the other part of a transfer, or a replay, claims nothing.
    const claimed: Array<{ tenant_id: string; transaction_id: string }> = await q.query(
      `INSERT INTO erp_sync.accounted_transactions (tenant_id, transaction_id, external_id, event_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
       ON CONFLICT DO NOTHING RETURNING tenant_id, transaction_id`,
      [
        all.map((a) => a.accounting.journal.tenantId),
        all.map((a) => a.accounting.transactionId),
        all.map((a) => a.accounting.journal.externalId),
        all.map((a) => a.eventId),
      ],
    );
    const won = new Set(claimed.map((c) => `${c.tenant_id}\u0000${c.transaction_id}`));
    const accounted = all.filter((a) =>
      won.delete(`${a.accounting.journal.tenantId}\u0000${a.accounting.transactionId}`),
    );
    if (accounted.length === 0) return;
    // One sync record and one header per journal (a summary collects many transactions of the batch).
    const journals = new Map<string, TransactionAccounting['journal']>();
    for (const { accounting } of accounted) journals.set(accounting.journal.externalId, accounting.journal);
    const headers = [...journals.values()];
    const records: Array<{ id: string; record_key: string }> = await q.query(
      `INSERT INTO erp_sync.sync_records (connector, record_key, tenant_id, kind, priority, state, next_attempt_at)
       SELECT 'netsuite', k, t, 'journal_entry', $3, 'pending', now() + d * interval '1 millisecond'
         FROM unnest($1::text[], $2::text[], $4::int[]) AS u(k, t, d)
       ON CONFLICT (connector, record_key) DO UPDATE SET
         revision = erp_sync.sync_records.revision + 1,
         state = CASE WHEN erp_sync.sync_records.state = 'synced' THEN 'pending' ELSE erp_sync.sync_records.state END,
         next_attempt_at = CASE WHEN erp_sync.sync_records.state = 'synced' THEN EXCLUDED.next_attempt_at
                                ELSE erp_sync.sync_records.next_attempt_at END,
         updated_at = now()
       RETURNING id, record_key`,
      [
        headers.map((j) => j.externalId),
        headers.map((j) => j.tenantId),
        CONNECTOR_PRIORITY.netsuite,
        // A single journal is written at once; a summary waits a little so a burst becomes one write.
        headers.map((j) => (j.kind === 'usage_summary' ? summaryDelayMs : 0)),
      ],
    );
    const recordId = new Map(records.map((r) => [r.record_key, String(r.id)]));
    await q.query(
      `INSERT INTO erp_sync.journals (external_id, tenant_id, kind, asset_code, asset_scale, currency_id, subsidiary, department,
                                      tran_date, memo, product_code, period_start, sync_record_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[],
                            $9::date[], $10::text[], $11::text[], $12::timestamptz[], $13::bigint[])
       ON CONFLICT (external_id) DO NOTHING`,
      [
        headers.map((j) => j.externalId),
        headers.map((j) => j.tenantId),
        headers.map((j) => j.kind),
        headers.map((j) => j.assetCode),
        headers.map((j) => j.assetScale),
        headers.map((j) => j.currencyId),
        headers.map((j) => j.subsidiary),
        headers.map((j) => j.department),
        headers.map((j) => j.tranDate),
        headers.map((j) => j.memo),
        headers.map((j) => j.productCode),
        headers.map((j) => j.periodStart),
        headers.map((j) => recordId.get(j.externalId)!),
      ],
    );
    const lines = accounted.flatMap(({ accounting }) =>
      accounting.lines.map((line) => ({ accounting, line })),
    );
    await q.query(
      `INSERT INTO erp_sync.journal_lines (external_id, tenant_id, transaction_id, role, account, customer, item, debit_minor, credit_minor)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[])`,
      [
        lines.map((l) => l.accounting.journal.externalId),
        lines.map((l) => l.accounting.journal.tenantId),
        lines.map((l) => l.accounting.transactionId),
        lines.map((l) => l.line.role),
        lines.map((l) => l.line.account),
        lines.map((l) => l.line.customer),
        lines.map((l) => l.line.item),
        lines.map((l) => l.line.debitMinor.toString()),
        lines.map((l) => l.line.creditMinor.toString()),
      ],
    );
  }

  /**
   * The newest balance per (connector, wallet) of the batch, in one upsert: an older version never
   * overwrites a newer one (here or already stored), and the last usage time only moves forward.
   */
  private async recordBalances(
    q: QueryRunner,
    events: readonly IncomingEvent[],
    delayMs: number,
  ): Promise<void> {
    const newest = new Map<
      string,
      { connector: ConnectorName; balance: BalanceSnapshot; usageAt: string | null }
    >();
    for (const event of events) {
      const balance = event.mapping.balance;
      if (!balance) continue;
      for (const connector of event.crmConnectors) {
        const key = `${connector}\u0000${balance.tenantId}:${balance.walletId}`;
        const seen = newest.get(key);
        const usageAt = maxText(seen?.usageAt ?? null, balance.usageAt);
        if (!seen || balance.version > seen.balance.version) newest.set(key, { connector, balance, usageAt });
        else seen.usageAt = usageAt;
      }
    }
    if (newest.size === 0) return;
    const rows = [...newest.values()];
    await q.query(
      `INSERT INTO erp_sync.sync_records (connector, record_key, tenant_id, kind, priority, state, payload, source_version, next_attempt_at)
       SELECT c, k, t, 'crm_balance', p, 'pending', b::jsonb, v, now() + $7 * interval '1 millisecond'
         FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::text[], $6::bigint[]) AS u(c, k, t, p, b, v)
       ON CONFLICT (connector, record_key) DO UPDATE SET
         payload = (CASE WHEN EXCLUDED.source_version > erp_sync.sync_records.source_version THEN EXCLUDED.payload
                         ELSE erp_sync.sync_records.payload END)
                   || jsonb_build_object('usageAt', GREATEST(EXCLUDED.payload->>'usageAt', erp_sync.sync_records.payload->>'usageAt')),
         revision = erp_sync.sync_records.revision + 1,
         source_version = GREATEST(EXCLUDED.source_version, erp_sync.sync_records.source_version),
         state = CASE WHEN erp_sync.sync_records.state = 'synced' THEN 'pending' ELSE erp_sync.sync_records.state END,
         next_attempt_at = CASE WHEN erp_sync.sync_records.state = 'synced' THEN EXCLUDED.next_attempt_at
                                ELSE erp_sync.sync_records.next_attempt_at END,
         updated_at = now()`,
      [
        rows.map((r) => r.connector),
        rows.map((r) => `${r.balance.tenantId}:${r.balance.walletId}`),
        rows.map((r) => r.balance.tenantId),
        rows.map((r) => CONNECTOR_PRIORITY[r.connector]),
        rows.map((r) => JSON.stringify(balancePayload(r.balance, r.usageAt))),
        rows.map((r) => r.balance.version.toString()),
        delayMs,
      ],
    );
  }

  /** Exposed for the operator's replay of an event that could not be mapped before. */
  async recordAccounting(
    q: QueryRunner,
    accounting: TransactionAccounting,
    eventId: string,
    delayMs: number,
  ): Promise<boolean> {
    const { journal } = accounting;
    // Claim the transaction first (the journal it points to follows in this transaction: the foreign
    // key is deferred), so two instances receiving both parts of a transfer cannot both record it.
    const claimed: unknown[] = await q.query(
      `INSERT INTO erp_sync.accounted_transactions (tenant_id, transaction_id, external_id, event_id)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING transaction_id`,
      [journal.tenantId, accounting.transactionId, journal.externalId, eventId],
    );
    if (claimed.length === 0) return false; // the other part of a transfer, or a replay
    // A single journal is written at once; a summary waits a little so a burst becomes one write.
    const delay = journal.kind === 'usage_summary' ? delayMs : 0;
    const [record]: Array<{ id: string }> = await q.query(
      `INSERT INTO erp_sync.sync_records (connector, record_key, tenant_id, kind, priority, state, next_attempt_at)
       VALUES ('netsuite', $1, $2, 'journal_entry', $3, 'pending', now() + $4 * interval '1 millisecond')
       ON CONFLICT (connector, record_key) DO UPDATE SET
         revision = erp_sync.sync_records.revision + 1,
         state = CASE WHEN erp_sync.sync_records.state = 'synced' THEN 'pending' ELSE erp_sync.sync_records.state END,
         next_attempt_at = CASE WHEN erp_sync.sync_records.state = 'synced' THEN EXCLUDED.next_attempt_at
                                ELSE erp_sync.sync_records.next_attempt_at END,
         updated_at = now()
       RETURNING id`,
      [journal.externalId, journal.tenantId, CONNECTOR_PRIORITY.netsuite, delay],
    );
    await q.query(
      `INSERT INTO erp_sync.journals (external_id, tenant_id, kind, asset_code, asset_scale, currency_id, subsidiary, department,
                                      tran_date, memo, product_code, period_start, sync_record_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::date, $10, $11, $12::timestamptz, $13)
       ON CONFLICT (external_id) DO NOTHING`,
      [
        journal.externalId,
        journal.tenantId,
        journal.kind,
        journal.assetCode,
        journal.assetScale,
        journal.currencyId,
        journal.subsidiary,
        journal.department,
        journal.tranDate,
        journal.memo,
        journal.productCode,
        journal.periodStart,
        record!.id,
      ],
    );
    const lines = accounting.lines;
    await q.query(
      `INSERT INTO erp_sync.journal_lines (external_id, tenant_id, transaction_id, role, account, customer, item, debit_minor, credit_minor)
       SELECT $1, $2, $3, * FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[])`,
      [
        journal.externalId,
        journal.tenantId,
        accounting.transactionId,
        lines.map((l) => l.role),
        lines.map((l) => l.account),
        lines.map((l) => l.customer),
        lines.map((l) => l.item),
        lines.map((l) => l.debitMinor.toString()),
        lines.map((l) => l.creditMinor.toString()),
      ],
    );
    return true;
  }

  /** Claims due records of a connector (pending, failed and due, or in flight with a lapsed lease). */
  async claim(connector: ConnectorName, limit: number, leaseMs: number): Promise<SyncRecord[]> {
    const rows: RecordRow[] = returned(
      await this.db.query(
        `UPDATE erp_sync.sync_records r
          SET state = 'in_flight', lease_expires_at = now() + $3 * interval '1 millisecond', updated_at = now()
         FROM (SELECT id FROM erp_sync.sync_records
                WHERE connector = $1
                  AND ((state IN ('pending', 'failed') AND next_attempt_at <= now())
                       OR (state = 'in_flight' AND lease_expires_at < now()))
                ORDER BY priority, next_attempt_at, id
                LIMIT $2
                FOR UPDATE SKIP LOCKED) due
        WHERE r.id = due.id
        RETURNING r.*`,
        [connector, limit, leaseMs],
      ),
    );
    return rows.map(toRecord).sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
  }

  async journalContent(externalId: string): Promise<JournalContent> {
    const [header]: Array<Record<string, string | number | null>> = await this.db.query(
      `SELECT external_id, tenant_id, kind, asset_code, asset_scale, currency_id, subsidiary, department,
              to_char(tran_date, 'YYYY-MM-DD') AS tran_date, memo, product_code
         FROM erp_sync.journals WHERE external_id = $1`,
      [externalId],
    );
    if (!header) throw new Error(`journal ${externalId} not found`);
    const lines: Array<{
      role: AccountRole;
      account: string;
      customer: string | null;
      item: string | null;
      net: string;
    }> = await this.db.query(
      `SELECT role, account, customer, item, sum(debit_minor - credit_minor)::text AS net
         FROM erp_sync.journal_lines WHERE external_id = $1
        GROUP BY role, account, customer, item
       HAVING sum(debit_minor - credit_minor) <> 0
        ORDER BY role, account, customer NULLS FIRST, item NULLS FIRST`,
      [externalId],
    );
    return {
      externalId: String(header['external_id']),
      tenantId: String(header['tenant_id']),
      kind: header['kind'] as JournalContent['kind'],
      assetCode: String(header['asset_code']),
      assetScale: Number(header['asset_scale']),
      currencyId: String(header['currency_id']),
      subsidiary: String(header['subsidiary']),
      department: header['department'] === null ? null : String(header['department']),
      tranDate: String(header['tran_date']),
      memo: String(header['memo']),
      productCode: header['product_code'] === null ? null : String(header['product_code']),
      lines: lines.map((l) => {
        const net = BigInt(l.net);
        return {
          role: l.role,
          account: l.account,
          customer: l.customer,
          item: l.item,
          debitMinor: net > 0n ? net : 0n,
          creditMinor: net < 0n ? -net : 0n,
        };
      }),
    };
  }

  /** The vendor holds `revision`: synced, unless the content changed meanwhile (then pending again). */
  async markSynced(id: string, revision: bigint, externalId: string, requeueDelayMs: number): Promise<void> {
    await this.db.query(
      `UPDATE erp_sync.sync_records
          SET external_id = $2, synced_revision = GREATEST(synced_revision, $3), synced_at = now(), updated_at = now(),
              attempts = 0, last_error = NULL, lease_expires_at = NULL,
              state = CASE WHEN revision > $3 THEN 'pending' ELSE 'synced' END,
              next_attempt_at = CASE WHEN revision > $3 THEN now() + $4 * interval '1 millisecond' ELSE next_attempt_at END
        WHERE id = $1 AND state = 'in_flight'`,
      [id, externalId, revision.toString(), requeueDelayMs],
    );
  }

  /**
   * A failed attempt. `countsAsAttempt` is false for throttling (429): the vendor said "later", not
   * "no", so it never exhausts the attempts. Dead after `maxAttempts` real failures.
   */
  async markFailed(
    id: string,
    error: string,
    retryInMs: number,
    options: { countsAsAttempt: boolean; maxAttempts: number },
  ): Promise<SyncState> {
    const [row]: Array<{ state: SyncState }> = returned(
      await this.db.query(
        `UPDATE erp_sync.sync_records
          SET attempts = attempts + $4::int, throttled = throttled + (1 - $4::int),
              last_error = $2, lease_expires_at = NULL, updated_at = now(),
              next_attempt_at = now() + $3 * interval '1 millisecond',
              state = CASE WHEN attempts + $4::int >= $5 THEN 'dead' ELSE 'failed' END,
              dead_reason = CASE WHEN attempts + $4::int >= $5 THEN 'gave up after ' || (attempts + $4::int) || ' attempts: ' || $2 END
        WHERE id = $1 AND state = 'in_flight'
        RETURNING state`,
        [
          id,
          error.slice(0, 4_000),
          Math.max(0, Math.round(retryInMs)),
          options.countsAsAttempt ? 1 : 0,
          options.maxAttempts,
        ],
      ),
    );
    return row?.state ?? 'in_flight';
  }

  async markDead(id: string, reason: string): Promise<void> {
    await this.db.query(
      `UPDATE erp_sync.sync_records
          SET state = 'dead', dead_reason = $2, last_error = $2, attempts = attempts + 1, lease_expires_at = NULL, updated_at = now()
        WHERE id = $1 AND state = 'in_flight'`,
      [id, reason.slice(0, 4_000)],
    );
  }

  async audit(write: ExternalWrite): Promise<void> {
    await this.db.query(
      `INSERT INTO erp_sync.external_writes (connector, sync_record_id, method, path, request_body, response_code, external_id, error, duration_ms)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)`,
      [
        write.connector,
        write.syncRecordId,
        write.method,
        write.path,
        write.requestBody === undefined ? null : JSON.stringify(write.requestBody),
        write.responseCode,
        write.externalId,
        write.error?.slice(0, 4_000) ?? null,
        Math.max(0, Math.round(write.durationMs)),
      ],
    );
  }

  async listDead(limit: number): Promise<SyncRecord[]> {
    const rows: RecordRow[] = await this.db.query(
      `SELECT * FROM erp_sync.sync_records WHERE state = 'dead' ORDER BY updated_at, id LIMIT $1`,
      [limit],
    );
    return rows.map(toRecord);
  }

  async get(id: string): Promise<SyncRecord | null> {
    const rows: RecordRow[] = await this.db.query(`SELECT * FROM erp_sync.sync_records WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Operator replay of a dead record: back to pending with fresh attempts; the worker sends it. */
  async requeueDead(id: string): Promise<boolean> {
    const rows: unknown[] = returned(
      await this.db.query(
        `UPDATE erp_sync.sync_records
          SET state = 'pending', attempts = 0, dead_reason = NULL, next_attempt_at = now(), updated_at = now()
        WHERE id = $1 AND state = 'dead' AND connector <> 'mapping'
        RETURNING id`,
        [id],
      ),
    );
    return rows.length > 0;
  }

  /** Replay of an event that could not be mapped: records its accounting now, in one transaction. */
  async replayUnmappable(
    id: string,
    accounting: TransactionAccounting | null,
    eventId: string,
    journalDelayMs: number,
  ): Promise<string> {
    return this.inTransaction(async (q) => {
      const rows: Array<{ state: string }> = await q.query(
        `SELECT state FROM erp_sync.sync_records WHERE id = $1 AND connector = 'mapping' FOR UPDATE`,
        [id],
      );
      if (rows[0]?.state !== 'dead') throw new Error(`record ${id} is not a dead unmappable event`);
      if (accounting) await this.recordAccounting(q, accounting, eventId, journalDelayMs);
      const externalId = accounting?.journal.externalId ?? 'no-accounting';
      await q.query(
        `UPDATE erp_sync.sync_records
            SET state = 'synced', external_id = $2, dead_reason = NULL, last_error = NULL, synced_revision = revision,
                synced_at = now(), updated_at = now()
          WHERE id = $1`,
        [id, externalId],
      );
      return externalId;
    });
  }

  async counts(): Promise<Record<string, number>> {
    const rows: Array<{ key: string; n: string }> = await this.db.query(
      `SELECT connector || ':' || state AS key, count(*)::text AS n FROM erp_sync.sync_records GROUP BY 1`,
    );
    return Object.fromEntries(rows.map((r) => [r.key, Number(r.n)]));
  }

  private async inTransaction<T>(work: (q: QueryRunner) => Promise<T>): Promise<T> {
    const q = this.db.createQueryRunner();
    await q.connect();
    try {
      await q.startTransaction('READ COMMITTED');
      await q.query(`SET LOCAL lock_timeout = '10s'`);
      const result = await work(q);
      await q.commitTransaction();
      return result;
    } catch (error) {
      if (q.isTransactionActive) await q.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await q.release();
    }
  }
}

/** TypeORM answers an UPDATE … RETURNING with [rows, affected count], an INSERT … RETURNING with the rows. */
function returned<T>(result: unknown): T[] {
  return (
    Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number'
      ? result[0]
      : result
  ) as T[];
}

function balancePayload(balance: BalanceSnapshot, usageAt: string | null): Record<string, unknown> {
  return {
    walletId: balance.walletId,
    ownerId: balance.ownerId,
    ownerType: balance.ownerType,
    currency: balance.currency,
    assetScale: balance.assetScale,
    postedBalanceMinor: balance.postedBalanceMinor,
    availableBalanceMinor: balance.availableBalanceMinor,
    version: balance.version.toString(),
    usageAt,
  };
}

/** The later of two ISO timestamps (null when both are). */
function maxText(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}

function outcomeOf(event: IncomingEvent): string {
  if (event.mapping.outcome === 'unmappable') return 'unmappable';
  return event.mapping.accounting ? 'recorded' : 'no_accounting';
}

interface RecordRow {
  id: string;
  connector: SyncRecord['connector'];
  record_key: string;
  tenant_id: string;
  kind: SyncRecord['kind'];
  state: SyncState;
  revision: string;
  synced_revision: string;
  payload: Record<string, unknown>;
  external_id: string | null;
  attempts: number;
  throttled: number;
  next_attempt_at: Date;
  last_error: string | null;
  dead_reason: string | null;
  updated_at: Date;
}

function toRecord(row: RecordRow): SyncRecord {
  return {
    id: String(row.id),
    connector: row.connector,
    recordKey: row.record_key,
    tenantId: row.tenant_id,
    kind: row.kind,
    state: row.state,
    revision: BigInt(row.revision),
    syncedRevision: BigInt(row.synced_revision),
    payload: row.payload,
    externalId: row.external_id,
    attempts: row.attempts,
    throttled: row.throttled,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    deadReason: row.dead_reason,
    updatedAt: row.updated_at,
  };
}
