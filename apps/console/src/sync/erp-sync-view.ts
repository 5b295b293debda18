// What the Console shows of erp-sync: its records per connector, dead letters and ERP documents,
// read from erp-sync's schema (read-only) within one tenant, and the operator's replay of dead
// records. Replay is erp-sync's own statement (SyncStore.requeueDead): back to pending with fresh
// attempts, the worker sends it. A dead 'mapping' record needs the tenant's accounting mapping to
// be mapped again, which only erp-sync has: that one is left to `saldo erp replay <id>`.
import type { DataSource } from 'typeorm';

export interface ConnectorHealth {
  connector: string;
  backlog: number;
  inFlight: number;
  failed: number;
  dead: number;
  lastSuccessAt: Date | null;
  writesLastHour: number;
  errorsLastHour: number;
  throttledLastHour: number;
}

export interface DeadLetter {
  id: string;
  connector: string;
  kind: string;
  recordKey: string;
  attempts: number;
  reason: string;
  lastError: string | null;
  updatedAt: Date;
}

export interface ErpDocument {
  documentId: string;
  documentType: string;
  transactionId: string;
  state: string;
  erpStatus: string | null;
  polls: number;
  lastError: string | null;
  createdAt: Date;
}

export const CONNECTORS = ['netsuite', 'zendesk', 'activecampaign', 'mapping'] as const;
export const MAX_REPLAY_BATCH = 200;

export class ErpSyncView {
  constructor(private readonly db: DataSource) {}

  async connectors(tenantId: string): Promise<ConnectorHealth[]> {
    const records: Array<Record<string, unknown>> = await this.db.query(
      `SELECT connector,
              count(*) FILTER (WHERE state IN ('pending', 'failed', 'in_flight'))::int AS backlog,
              count(*) FILTER (WHERE state = 'in_flight')::int AS in_flight,
              count(*) FILTER (WHERE state = 'failed')::int AS failed,
              count(*) FILTER (WHERE state = 'dead')::int AS dead,
              max(synced_at) AS last_success_at
         FROM erp_sync.sync_records WHERE tenant_id = $1 GROUP BY connector`,
      [tenantId],
    );
    // Vendor writes of the last hour for this tenant's records: the error rate and 429s.
    const writes: Array<Record<string, unknown>> = await this.db.query(
      `SELECT w.connector,
              count(*)::int AS writes,
              count(*) FILTER (WHERE w.error IS NOT NULL OR w.response_code >= 400)::int AS errors,
              count(*) FILTER (WHERE w.response_code = 429)::int AS throttled
         FROM erp_sync.external_writes w
         JOIN erp_sync.sync_records r ON r.id = w.sync_record_id AND r.tenant_id = $1
        WHERE w.at > now() - interval '1 hour'
        GROUP BY w.connector`,
      [tenantId],
    );
    return CONNECTORS.map((connector) => {
      const r = records.find((row) => row['connector'] === connector) ?? {};
      const w = writes.find((row) => row['connector'] === connector) ?? {};
      return {
        connector,
        backlog: Number(r['backlog'] ?? 0),
        inFlight: Number(r['in_flight'] ?? 0),
        failed: Number(r['failed'] ?? 0),
        dead: Number(r['dead'] ?? 0),
        lastSuccessAt: (r['last_success_at'] as Date | null) ?? null,
        writesLastHour: Number(w['writes'] ?? 0),
        errorsLastHour: Number(w['errors'] ?? 0),
        throttledLastHour: Number(w['throttled'] ?? 0),
      };
    });
  }

  async deadLetters(
    tenantId: string,
    filter: { connector?: string; reason?: string },
  ): Promise<DeadLetter[]> {
    const rows: Array<Record<string, unknown>> = await this.db.query(
      `SELECT id::text, connector, kind, record_key, attempts, dead_reason, last_error, updated_at
         FROM erp_sync.sync_records
        WHERE state = 'dead' AND tenant_id = $1
          AND ($2::text IS NULL OR connector = $2) AND ($3::text IS NULL OR dead_reason = $3)
        ORDER BY updated_at DESC, id DESC LIMIT 1000`,
      [tenantId, filter.connector ?? null, filter.reason ?? null],
    );
    return rows.map((r) => ({
      id: r['id'] as string,
      connector: r['connector'] as string,
      kind: r['kind'] as string,
      recordKey: r['record_key'] as string,
      attempts: Number(r['attempts']),
      reason: r['dead_reason'] as string,
      lastError: (r['last_error'] as string | null) ?? null,
      updatedAt: r['updated_at'] as Date,
    }));
  }

  /** Dead records of the tenant back to pending; returns the ids replayed (others were not dead, or mapping). */
  async replay(tenantId: string, ids: readonly string[]): Promise<{ replayed: string[]; skipped: string[] }> {
    if (ids.length > MAX_REPLAY_BATCH) throw new Error(`at most ${MAX_REPLAY_BATCH} records at once`);
    const wanted = ids.filter((id) => /^\d{1,18}$/.test(id));
    // TypeORM answers an UPDATE … RETURNING on PostgreSQL with [rows, affected count].
    const [rows] = (await this.db.query(
      `UPDATE erp_sync.sync_records
          SET state = 'pending', attempts = 0, dead_reason = NULL, next_attempt_at = now(), updated_at = now()
        WHERE id = ANY($2::bigint[]) AND tenant_id = $1 AND state = 'dead' AND connector <> 'mapping'
        RETURNING id::text`,
      [tenantId, wanted],
    )) as [Array<{ id: string }>, number];
    const replayed = rows.map((r) => r.id);
    return { replayed, skipped: ids.filter((id) => !replayed.includes(id)) };
  }

  /** ERP documents behind shadow top-ups still waiting for the ERP, and those an operator must settle. */
  async documents(tenantId: string): Promise<ErpDocument[]> {
    const rows: Array<Record<string, unknown>> = await this.db.query(
      `SELECT document_id, document_type, transaction_id::text, state, erp_status, polls, last_error, created_at
         FROM erp_sync.erp_documents
        WHERE tenant_id = $1 AND state IN ('watching', 'rejected_unrecoverable')
        ORDER BY created_at DESC LIMIT 500`,
      [tenantId],
    );
    return rows.map((r) => ({
      documentId: r['document_id'] as string,
      documentType: r['document_type'] as string,
      transactionId: r['transaction_id'] as string,
      state: r['state'] as string,
      erpStatus: (r['erp_status'] as string | null) ?? null,
      polls: Number(r['polls']),
      lastError: (r['last_error'] as string | null) ?? null,
      createdAt: r['created_at'] as Date,
    }));
  }
}

export interface LimiterState {
  inFlight: number | null;
  limit: number | null;
  queued: number | null;
  /** Seconds left of a vendor's Retry-After pause (0: not paused). */
  pausedSeconds: number | null;
}

const LIMITER_METRICS: Record<string, keyof LimiterState> = {
  saldo_erp_sync_limiter_in_flight: 'inFlight',
  saldo_erp_sync_limiter_limit: 'limit',
  saldo_erp_sync_limiter_queued: 'queued',
  saldo_erp_sync_limiter_paused_seconds: 'pausedSeconds',
};

/** Per connector, erp-sync's limiter (from its /metrics), or null when erp-sync does not answer. */
export async function limiterState(
  metricsUrl: string,
  timeoutMs = 1_500,
): Promise<Record<string, LimiterState> | null> {
  let text: string;
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return null;
    text = await response.text();
  } catch {
    return null;
  }
  return parseLimiterMetrics(text);
}

export function parseLimiterMetrics(text: string): Record<string, LimiterState> {
  const state: Record<string, LimiterState> = {};
  for (const line of text.split('\n')) {
    const match = /^(saldo_erp_sync_limiter_\w+)\{([^}]*)\} (\S+)$/.exec(line);
    const field = match ? LIMITER_METRICS[match[1]!] : undefined;
    const connector = match ? /(?:^|,)connector="([^"]+)"/.exec(match[2]!)?.[1] : undefined;
    if (!field || !connector) continue;
    state[connector] ??= { inFlight: null, limit: null, queued: null, pausedSeconds: null };
    state[connector][field] = Number(match![3]);
  }
  return state;
}
