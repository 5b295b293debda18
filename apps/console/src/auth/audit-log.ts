import type { DataSource } from 'typeorm';
import type { Operator } from './roles';

export interface AuditEntry {
  id: string;
  at: Date;
  userEmail: string;
  tenantId: string | null;
  action: string;
  target: string;
  outcome: 'ok' | 'refused' | 'failed';
  detail: Record<string, unknown>;
}

/** console.audit_log: every change made through the Console, with its user (append-only in SQL). */
export class AuditLog {
  constructor(private readonly db: DataSource) {}

  async record(
    who: Pick<Operator, 'userId' | 'email'> | { userId: null; email: string },
    entry: Pick<AuditEntry, 'tenantId' | 'action' | 'target' | 'outcome'> & {
      detail?: Record<string, unknown>;
    },
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO console.audit_log (user_id, user_email, tenant_id, action, target, outcome, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [who.userId, who.email, entry.tenantId, entry.action, entry.target, entry.outcome, entry.detail ?? {}],
    );
  }

  async list(tenantId: string, limit: number, beforeId?: string): Promise<AuditEntry[]> {
    const rows: Array<Record<string, unknown>> = await this.db.query(
      `SELECT id::text, at, user_email, tenant_id, action, target, outcome, detail FROM console.audit_log
        WHERE tenant_id = $1 AND ($3::bigint IS NULL OR id < $3::bigint) ORDER BY id DESC LIMIT $2`,
      [tenantId, Math.min(Math.max(limit, 1), 200), beforeId ?? null],
    );
    return rows.map((r) => ({
      id: r['id'] as string,
      at: r['at'] as Date,
      userEmail: r['user_email'] as string,
      tenantId: r['tenant_id'] as string | null,
      action: r['action'] as string,
      target: r['target'] as string,
      outcome: r['outcome'] as AuditEntry['outcome'],
      detail: r['detail'] as Record<string, unknown>,
    }));
  }
}
