import type { DataSource } from 'typeorm';

export type DocumentType = 'invoice' | 'sales_order';
export type DocumentState = 'watching' | 'confirmed' | 'rejected' | 'rejected_unrecoverable' | 'written_off';

export interface WatchedDocument {
  tenantId: string;
  documentId: string;
  documentType: DocumentType;
  transactionId: string;
}

export interface DocumentRow {
  tenant_id: string;
  document_id: string;
  document_type: DocumentType;
  transaction_id: string;
  state: DocumentState;
  erp_status: string | null;
  polls: number;
  last_error: string | null;
}

/** erp_sync.erp_documents: which ERP documents erp-sync watches for a verdict, and what it learnt. */
export class DocumentStore {
  constructor(private readonly db: DataSource) {}

  /** Starts watching documents (a redelivered event changes nothing). */
  async watch(documents: readonly WatchedDocument[]): Promise<void> {
    for (const d of documents) {
      await this.db.query(
        `INSERT INTO erp_sync.erp_documents (tenant_id, document_id, document_type, transaction_id)
         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, document_id) DO NOTHING`,
        [d.tenantId, d.documentId, d.documentType, d.transactionId],
      );
    }
  }

  /** Watched documents whose next poll is due, oldest first, at most `limit`. */
  async due(limit: number): Promise<DocumentRow[]> {
    return this.db.query(
      `SELECT tenant_id, document_id, document_type, transaction_id, state, erp_status, polls, last_error
         FROM erp_sync.erp_documents WHERE state = 'watching' AND next_poll_at <= now()
        ORDER BY next_poll_at LIMIT $1`,
      [limit],
    );
  }

  async find(tenantId: string, documentId: string): Promise<DocumentRow | undefined> {
    const rows: DocumentRow[] = await this.db.query(
      `SELECT tenant_id, document_id, document_type, transaction_id, state, erp_status, polls, last_error
         FROM erp_sync.erp_documents WHERE tenant_id = $1 AND document_id = $2`,
      [tenantId, documentId],
    );
    return rows[0];
  }

  /** Documents, newest first, optionally of one state (the operator's list). */
  async list(
    state: DocumentState | undefined,
    limit: number,
  ): Promise<Array<DocumentRow & { resolved_at: Date | null }>> {
    return this.db.query(
      `SELECT tenant_id, document_id, document_type, transaction_id, state, erp_status, polls, last_error, resolved_at
         FROM erp_sync.erp_documents WHERE $1::text IS NULL OR state = $1
        ORDER BY created_at DESC LIMIT $2`,
      [state ?? null, limit],
    );
  }

  /** An operator settled a rejected, unreversible document (retried reversal or write-off). */
  async settledByOperator(
    tenantId: string,
    documentId: string,
    state: 'rejected' | 'rejected_unrecoverable' | 'written_off',
    note: string,
  ): Promise<void> {
    await this.db.query(
      `UPDATE erp_sync.erp_documents SET state = $3, last_error = left($4, 1000), resolved_at = now()
        WHERE tenant_id = $1 AND document_id = $2 AND state = 'rejected_unrecoverable'`,
      [tenantId, documentId, state, note],
    );
  }

  /** Watched documents by state (metrics, readiness). */
  async counts(): Promise<Record<DocumentState, number>> {
    const rows: Array<{ state: DocumentState; n: number }> = await this.db.query(
      `SELECT state, count(*)::int AS n FROM erp_sync.erp_documents GROUP BY state`,
    );
    const counts: Record<DocumentState, number> = {
      watching: 0,
      confirmed: 0,
      rejected: 0,
      rejected_unrecoverable: 0,
      written_off: 0,
    };
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  /** Still undecided (or the verdict could not be delivered): poll again after `delayMs`. */
  async polled(
    tenantId: string,
    documentId: string,
    erpStatus: string | null,
    error: string | null,
    delayMs: number,
  ): Promise<void> {
    await this.db.query(
      `UPDATE erp_sync.erp_documents SET polls = polls + 1, erp_status = coalesce($3, erp_status), last_error = left($4, 1000),
              next_poll_at = now() + make_interval(secs => $5::double precision / 1000)
        WHERE tenant_id = $1 AND document_id = $2 AND state = 'watching'`,
      [tenantId, documentId, erpStatus, error, delayMs],
    );
  }

  /** The aggregator took the verdict: stop watching. */
  async resolved(
    tenantId: string,
    documentId: string,
    state: Exclude<DocumentState, 'watching'>,
    erpStatus: string,
    note: string | null,
  ): Promise<void> {
    await this.db.query(
      `UPDATE erp_sync.erp_documents SET state = $3, erp_status = $4, last_error = left($5, 1000), polls = polls + 1, resolved_at = now()
        WHERE tenant_id = $1 AND document_id = $2 AND state = 'watching'`,
      [tenantId, documentId, state, erpStatus, note],
    );
  }
}
