import type { ClientBase } from 'pg';
import type { OutboxRecord } from './ledger-event';

/**
 * Claims the oldest unpublished outbox rows and loads what their events need, in one statement.
 * FOR UPDATE SKIP LOCKED: a row being relayed by another session is skipped, never waited for or
 * taken twice; the lock lasts until the caller's transaction ends, so a crash before the commit
 * leaves the row unpublished. Always the oldest rows, never "after the last id": identity values
 * can commit out of order, and a high-water mark would skip a row that commits late.
 */
const CLAIM_BATCH = `
WITH claimed AS (
  SELECT o.id, o.tenant_id, o.event_type, o.transaction_id, o.account_id, o.created_at
    FROM ledger.outbox o
   WHERE o.published_at IS NULL
   ORDER BY o.id
   LIMIT $1
     FOR UPDATE SKIP LOCKED
)
SELECT c.id::text AS id, c.tenant_id, c.event_type, c.account_id, to_json(c.created_at) #>> '{}' AS created_at,
       CASE WHEN c.transaction_id IS NOT NULL THEN ledger.transaction_json(c.transaction_id) END AS transaction,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                 'account_id', a.id, 'type', a.type, 'asset_code', a.asset_code, 'asset_scale', s.scale,
                 'overdraft_limit', a.overdraft_limit::text, 'metadata', a.metadata)), '[]'::jsonb)
          FROM ledger.accounts a JOIN ledger.assets s ON s.tenant_id = a.tenant_id AND s.code = a.asset_code
         WHERE a.id IN (SELECT c.account_id
                         UNION SELECT e.account_id FROM ledger.entries e WHERE e.transaction_id = c.transaction_id)) AS accounts
  FROM claimed c
 ORDER BY c.id`;

export async function claimBatch(client: ClientBase, limit: number): Promise<OutboxRecord[]> {
  const { rows } = await client.query<OutboxRecord>(CLAIM_BATCH, [limit]);
  return rows;
}

/** Marks rows published; returns each row's publish lag in seconds (commit of the change → now). */
export async function markPublished(client: ClientBase, ids: readonly string[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const { rows } = await client.query<{ lag_s: number }>(
    `UPDATE ledger.outbox SET published_at = clock_timestamp(), last_error = NULL
      WHERE id = ANY ($1::bigint[]) AND published_at IS NULL
      RETURNING extract(epoch FROM published_at - created_at)::float8 AS lag_s`,
    [ids],
  );
  return rows.map((row) => row.lag_s);
}

export async function markFailed(client: ClientBase, ids: readonly string[], error: string): Promise<void> {
  if (ids.length === 0) return;
  await client.query(
    `UPDATE ledger.outbox SET attempts = attempts + 1, last_error = left($2, 1000)
      WHERE id = ANY ($1::bigint[]) AND published_at IS NULL`,
    [ids, error],
  );
}

export interface OutboxBacklog {
  rows: number;
  oldestAgeSeconds: number;
}

export async function readBacklog(client: ClientBase): Promise<OutboxBacklog> {
  const { rows } = await client.query<{ rows: string; oldest_age_s: number | null }>(
    `SELECT count(*)::text AS rows, extract(epoch FROM clock_timestamp() - min(created_at))::float8 AS oldest_age_s
       FROM ledger.outbox WHERE published_at IS NULL`,
  );
  return { rows: Number(rows[0]?.rows ?? 0), oldestAgeSeconds: Math.max(0, rows[0]?.oldest_age_s ?? 0) };
}

/** Deletes published rows older than the retention, at most `limit` per call. */
export async function purgePublished(
  client: ClientBase,
  retentionHours: number,
  limit: number,
): Promise<number> {
  const { rowCount } = await client.query(
    `DELETE FROM ledger.outbox WHERE id IN (
       SELECT id FROM ledger.outbox
        WHERE published_at IS NOT NULL AND published_at < clock_timestamp() - make_interval(hours => $1)
        ORDER BY published_at LIMIT $2)`,
    [retentionHours, limit],
  );
  return rowCount ?? 0;
}
