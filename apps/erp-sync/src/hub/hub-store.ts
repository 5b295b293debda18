import type { DataSource, QueryRunner } from 'typeorm';
import type { HubConnector, HubMapping, SchemaField } from './mapping';

/** Every SQL statement of the integration hub (schema `hub`), in one place. */
export interface MappingVersion {
  tenantId: string;
  version: number;
  mapping: HubMapping;
  author: string;
  comment: string | null;
  restoredFrom: number | null;
  createdAt: Date;
}

export interface FieldValue {
  value: string | null;
  source: string;
  modifiedAt: Date;
}

export interface LinkState {
  connector: HubConnector;
  externalId: string;
  customerId: string;
  key: string | null;
  seen: Record<string, string | null>;
  raw: Record<string, string | null> | null;
  modifiedAt: Date | null;
}

export interface TenantState {
  customers: Map<string, { state: 'active' | 'merged'; mergedInto: string | null }>;
  values: Map<string, Map<string, FieldValue>>;
  links: Map<string, LinkState>;
}

export interface QuarantineRow {
  id: string;
  tenantId: string;
  connector: string;
  externalId: string;
  record: Record<string, unknown>;
  reasons: string[];
  state: string;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ReviewRow {
  id: string;
  tenantId: string;
  customerA: string;
  customerB: string;
  score: number;
  reasons: string[];
  state: string;
  decidedBy: string | null;
  createdAt: Date;
}

/** What one page (or merge, or write-back) changes, written with one multi-row statement per table. */
export interface HubChanges {
  customers: Array<{ customerId: string; state: 'active' | 'merged'; mergedInto: string | null }>;
  values: Array<{ customerId: string; field: string } & FieldValue>;
  history: Array<{ customerId: string; field: string; decisionId: string | null } & FieldValue>;
  decisions: Array<{
    id: string;
    customerId: string;
    field: string;
    rule: string;
    candidates: unknown;
    winner: unknown;
    explanation: string;
  }>;
  links: LinkState[];
  quarantine: Array<{ connector: string; externalId: string; record: unknown; reasons: string[] }>;
  released: Array<{ connector: string; externalId: string }>;
  reviews: Array<{ customerA: string; customerB: string; score: number; reasons: string[] }>;
  merges: Array<{
    survivor: string;
    merged: string;
    score: number;
    automatic: boolean;
    reasons: string[];
    decidedBy: string;
  }>;
}

export function emptyChanges(): HubChanges {
  return {
    customers: [],
    values: [],
    history: [],
    decisions: [],
    links: [],
    quarantine: [],
    released: [],
    reviews: [],
    merges: [],
  };
}

export const linkKey = (connector: string, externalId: string) => `${connector}\u0000${externalId}`;

const MAX_ROWS = 20_000;

export class HubStore {
  constructor(readonly db: DataSource) {}

  // ---- mapping versions -------------------------------------------------------------------

  /** A new version (the next number; concurrent saves of one tenant are serialised by a lock). */
  async saveMapping(
    tenantId: string,
    mapping: HubMapping,
    author: string,
    comment: string | null,
    restoredFrom: number | null = null,
  ): Promise<number> {
    return this.inTransaction(async (q) => {
      await q.query(`SELECT pg_advisory_xact_lock(hashtext('saldo:hub:mapping:' || $1))`, [tenantId]);
      const [row]: Array<{ version: number }> = await q.query(
        `INSERT INTO hub.mapping_versions (tenant_id, version, mapping, author, comment, restored_from)
         SELECT $1, coalesce(max(version), 0) + 1, $2::jsonb, $3, $4, $5 FROM hub.mapping_versions WHERE tenant_id = $1
         RETURNING version`,
        [tenantId, JSON.stringify(mapping), author, comment, restoredFrom],
      );
      return row!.version;
    });
  }

  async mappingVersions(tenantId: string): Promise<MappingVersion[]> {
    const rows: MappingRow[] = await this.db.query(
      `SELECT * FROM hub.mapping_versions WHERE tenant_id = $1 ORDER BY version`,
      [tenantId],
    );
    return rows.map(toMapping);
  }

  async mappingVersion(tenantId: string, version?: number): Promise<MappingVersion | null> {
    const rows: MappingRow[] = await this.db.query(
      version === undefined
        ? `SELECT * FROM hub.mapping_versions WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1`
        : `SELECT * FROM hub.mapping_versions WHERE tenant_id = $1 AND version = $2`,
      version === undefined ? [tenantId] : [tenantId, version],
    );
    return rows[0] ? toMapping(rows[0]) : null;
  }

  async tenants(): Promise<string[]> {
    const rows: Array<{ tenant_id: string }> = await this.db.query(
      `SELECT DISTINCT tenant_id FROM hub.mapping_versions ORDER BY 1`,
    );
    return rows.map((r) => r.tenant_id);
  }

  // ---- cursors, schemas, paused fields ------------------------------------------------------

  async cursor(
    tenantId: string,
    connector: HubConnector,
  ): Promise<{ cursor: string | null; initialDone: boolean }> {
    const [row]: Array<{ cursor: string | null; initial_done: boolean }> = await this.db.query(
      `SELECT cursor, initial_done FROM hub.cursors WHERE tenant_id = $1 AND connector = $2`,
      [tenantId, connector],
    );
    return { cursor: row?.cursor ?? null, initialDone: row?.initial_done ?? false };
  }

  async noteRunError(tenantId: string, connector: HubConnector, error: string | null): Promise<void> {
    await this.db.query(
      `INSERT INTO hub.cursors (tenant_id, connector, last_run_at, last_error) VALUES ($1, $2, now(), $3)
       ON CONFLICT (tenant_id, connector) DO UPDATE SET last_run_at = now(), last_error = EXCLUDED.last_error`,
      [tenantId, connector, error?.slice(0, 2_000) ?? null],
    );
  }

  /**
   * Stores describeSchema's answer as a new snapshot version when it differs from the last one;
   * returns the previous fields (null the first time).
   */
  async snapshotSchema(
    connector: HubConnector,
    fields: readonly SchemaField[],
  ): Promise<{ version: number; previous: SchemaField[] | null; changedAt: Date }> {
    const digest = JSON.stringify([...fields].sort((a, b) => a.name.localeCompare(b.name)));
    return this.inTransaction(async (q) => {
      await q.query(`SELECT pg_advisory_xact_lock(hashtext('saldo:hub:schema:' || $1))`, [connector]);
      const [last]: Array<{ version: number; fields: SchemaField[]; digest: string; taken_at: Date }> =
        await q.query(
          `SELECT version, fields, digest, taken_at FROM hub.schema_snapshots WHERE connector = $1 ORDER BY version DESC LIMIT 1`,
          [connector],
        );
      if (last && last.digest === digest)
        return { version: last.version, previous: null, changedAt: last.taken_at };
      const [row]: Array<{ version: number; taken_at: Date }> = await q.query(
        `INSERT INTO hub.schema_snapshots (connector, version, fields, digest) VALUES ($1, $2, $3::jsonb, $4)
         RETURNING version, taken_at`,
        [connector, (last?.version ?? 0) + 1, JSON.stringify(fields), digest],
      );
      return { version: row!.version, previous: last?.fields ?? null, changedAt: row!.taken_at };
    });
  }

  async schemaSnapshots(
    connector?: string,
  ): Promise<Array<{ connector: string; version: number; fields: SchemaField[]; takenAt: Date }>> {
    const rows: Array<{ connector: string; version: number; fields: SchemaField[]; taken_at: Date }> =
      await this.db.query(
        `SELECT connector, version, fields, taken_at FROM hub.schema_snapshots WHERE $1::text IS NULL OR connector = $1
        ORDER BY connector, version`,
        [connector ?? null],
      );
    return rows.map((r) => ({
      connector: r.connector,
      version: r.version,
      fields: r.fields,
      takenAt: r.taken_at,
    }));
  }

  /** Replaces the paused fields of a tenant and connector with `paused` (schema drift). */
  async setPaused(
    tenantId: string,
    connector: HubConnector,
    paused: ReadonlyArray<{ sourceField: string; hubField: string; reason: string }>,
  ): Promise<void> {
    await this.inTransaction(async (q) => {
      await q.query(
        `DELETE FROM hub.paused_fields WHERE tenant_id = $1 AND connector = $2 AND NOT (source_field = ANY($3::text[]))`,
        [tenantId, connector, paused.map((p) => p.sourceField)],
      );
      if (paused.length === 0) return;
      await q.query(
        `INSERT INTO hub.paused_fields (tenant_id, connector, source_field, hub_field, reason)
         SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[])
         ON CONFLICT (tenant_id, connector, source_field) DO UPDATE SET hub_field = EXCLUDED.hub_field, reason = EXCLUDED.reason`,
        [
          tenantId,
          connector,
          paused.map((p) => p.sourceField),
          paused.map((p) => p.hubField),
          paused.map((p) => p.reason),
        ],
      );
    });
  }

  async paused(tenantId?: string): Promise<
    Array<{
      tenantId: string;
      connector: string;
      sourceField: string;
      hubField: string;
      reason: string;
      since: Date;
    }>
  > {
    const rows: Array<{
      tenant_id: string;
      connector: string;
      source_field: string;
      hub_field: string;
      reason: string;
      since: Date;
    }> = await this.db.query(
      `SELECT * FROM hub.paused_fields WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY tenant_id, connector, source_field`,
      [tenantId ?? null],
    );
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      connector: r.connector,
      sourceField: r.source_field,
      hubField: r.hub_field,
      reason: r.reason,
      since: r.since,
    }));
  }

  // ---- tenant state and changes -------------------------------------------------------------

  /** Everything the engine keeps in memory for one tenant's run (read under the tenant's run lock). */
  async loadTenant(tenantId: string): Promise<TenantState> {
    const customers: Array<{ customer_id: string; state: 'active' | 'merged'; merged_into: string | null }> =
      await this.db.query(`SELECT customer_id, state, merged_into FROM hub.customers WHERE tenant_id = $1`, [
        tenantId,
      ]);
    const values: Array<{
      customer_id: string;
      field: string;
      value: string | null;
      source: string;
      source_modified_at: Date;
    }> = await this.db.query(
      `SELECT customer_id, field, value, source, source_modified_at FROM hub.field_values WHERE tenant_id = $1`,
      [tenantId],
    );
    const links: Array<{
      connector: HubConnector;
      external_id: string;
      customer_id: string;
      external_key: string | null;
      seen: Record<string, string | null>;
      raw: Record<string, string | null> | null;
      last_modified_at: Date | null;
    }> = await this.db.query(
      `SELECT connector, external_id, customer_id, external_key, seen, raw, last_modified_at FROM hub.links WHERE tenant_id = $1`,
      [tenantId],
    );
    const state: TenantState = { customers: new Map(), values: new Map(), links: new Map() };
    for (const c of customers)
      state.customers.set(c.customer_id, { state: c.state, mergedInto: c.merged_into });
    for (const v of values) {
      const of = state.values.get(v.customer_id) ?? new Map<string, FieldValue>();
      of.set(v.field, { value: v.value, source: v.source, modifiedAt: v.source_modified_at });
      state.values.set(v.customer_id, of);
    }
    for (const l of links)
      state.links.set(linkKey(l.connector, l.external_id), {
        connector: l.connector,
        externalId: l.external_id,
        customerId: l.customer_id,
        key: l.external_key,
        seen: l.seen,
        raw: l.raw,
        modifiedAt: l.last_modified_at,
      });
    return state;
  }

  /** Decision ids taken up front, so history rows can point at them in the same multi-row insert. */
  async decisionIds(n: number): Promise<string[]> {
    if (n === 0) return [];
    const rows: Array<{ id: string }> = await this.db.query(
      `SELECT nextval(pg_get_serial_sequence('hub.decisions', 'id'))::text AS id FROM generate_series(1, $1)`,
      [n],
    );
    return rows.map((r) => r.id);
  }

  /** Writes a page's changes (and optionally the cursor after it) in one transaction. */
  async apply(
    tenantId: string,
    changes: HubChanges,
    cursor?: { connector: HubConnector; cursor: string | null; done: boolean; read: number },
  ): Promise<void> {
    const sizes = Object.values(changes).map((rows: unknown[]) => rows.length);
    if (sizes.some((n) => n > MAX_ROWS)) throw new Error(`hub: at most ${MAX_ROWS} rows per table and page`);
    await this.inTransaction(async (q) => {
      await this.writeChanges(q, tenantId, changes);
      if (cursor)
        await q.query(
          `INSERT INTO hub.cursors (tenant_id, connector, cursor, initial_done, records_read, last_run_at, last_error)
           VALUES ($1, $2, $3, $4, $5, now(), NULL)
           ON CONFLICT (tenant_id, connector) DO UPDATE SET cursor = EXCLUDED.cursor,
             initial_done = hub.cursors.initial_done OR EXCLUDED.initial_done,
             records_read = hub.cursors.records_read + EXCLUDED.records_read, last_run_at = now(), last_error = NULL`,
          [tenantId, cursor.connector, cursor.cursor, cursor.done, cursor.read],
        );
    });
  }

  private async writeChanges(q: QueryRunner, t: string, c: HubChanges): Promise<void> {
    if (c.customers.length)
      await q.query(
        `INSERT INTO hub.customers (tenant_id, customer_id, state, merged_into)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])
         ON CONFLICT (tenant_id, customer_id) DO UPDATE SET state = EXCLUDED.state, merged_into = EXCLUDED.merged_into, updated_at = now()`,
        [
          t,
          c.customers.map((x) => x.customerId),
          c.customers.map((x) => x.state),
          c.customers.map((x) => x.mergedInto),
        ],
      );
    if (c.decisions.length)
      await q.query(
        `INSERT INTO hub.decisions (id, tenant_id, customer_id, field, rule, candidates, winner, explanation)
         OVERRIDING SYSTEM VALUE
         SELECT i, $1, cu, f, r, ca::jsonb, w::jsonb, e
           FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS u(i, cu, f, r, ca, w, e)`,
        [
          t,
          c.decisions.map((d) => d.id),
          c.decisions.map((d) => d.customerId),
          c.decisions.map((d) => d.field),
          c.decisions.map((d) => d.rule),
          c.decisions.map((d) => JSON.stringify(d.candidates)),
          c.decisions.map((d) => JSON.stringify(d.winner)),
          c.decisions.map((d) => d.explanation),
        ],
      );
    if (c.values.length) {
      // One row per (customer, field): the last change of the page wins (it was decided last).
      const last = new Map(c.values.map((v) => [`${v.customerId}\u0000${v.field}`, v]));
      const rows = [...last.values()];
      await q.query(
        `INSERT INTO hub.field_values (tenant_id, customer_id, field, value, source, source_modified_at)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
         ON CONFLICT (tenant_id, customer_id, field) DO UPDATE SET value = EXCLUDED.value, source = EXCLUDED.source,
           source_modified_at = EXCLUDED.source_modified_at, updated_at = now()`,
        [
          t,
          rows.map((v) => v.customerId),
          rows.map((v) => v.field),
          rows.map((v) => v.value),
          rows.map((v) => v.source),
          rows.map((v) => v.modifiedAt.toISOString()),
        ],
      );
    }
    if (c.history.length)
      await q.query(
        `INSERT INTO hub.field_history (tenant_id, customer_id, field, value, source, source_modified_at, decision_id)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::bigint[])`,
        [
          t,
          c.history.map((h) => h.customerId),
          c.history.map((h) => h.field),
          c.history.map((h) => h.value),
          c.history.map((h) => h.source),
          c.history.map((h) => h.modifiedAt.toISOString()),
          c.history.map((h) => h.decisionId),
        ],
      );
    if (c.links.length) {
      const last = new Map(c.links.map((l) => [linkKey(l.connector, l.externalId), l]));
      const rows = [...last.values()];
      await q.query(
        `INSERT INTO hub.links (tenant_id, connector, external_id, customer_id, external_key, seen, raw, last_modified_at)
         SELECT $1, c, e, cu, k, s::jsonb, r::jsonb, m
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[]) AS u(c, e, cu, k, s, r, m)
         ON CONFLICT (tenant_id, connector, external_id) DO UPDATE SET customer_id = EXCLUDED.customer_id,
           external_key = EXCLUDED.external_key, seen = EXCLUDED.seen, raw = coalesce(EXCLUDED.raw, hub.links.raw),
           last_modified_at = coalesce(EXCLUDED.last_modified_at, hub.links.last_modified_at), updated_at = now()`,
        [
          t,
          rows.map((l) => l.connector),
          rows.map((l) => l.externalId),
          rows.map((l) => l.customerId),
          rows.map((l) => l.key),
          rows.map((l) => JSON.stringify(l.seen)),
          rows.map((l) => (l.raw ? JSON.stringify(l.raw) : null)),
          rows.map((l) => l.modifiedAt?.toISOString() ?? null),
        ],
      );
    }
    if (c.released.length)
      await q.query(
        `UPDATE hub.quarantine SET state = 'resolved', updated_at = now()
          WHERE tenant_id = $1 AND state = 'open' AND (connector, external_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
        [t, c.released.map((r) => r.connector), c.released.map((r) => r.externalId)],
      );
    if (c.quarantine.length)
      await q.query(
        `INSERT INTO hub.quarantine (tenant_id, connector, external_id, record, reasons)
         SELECT $1, c, e, r::jsonb, why::jsonb FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS u(c, e, r, why)
         ON CONFLICT (tenant_id, connector, external_id) WHERE state = 'open'
         DO UPDATE SET record = EXCLUDED.record, reasons = EXCLUDED.reasons, attempts = hub.quarantine.attempts + 1, updated_at = now()`,
        [
          t,
          c.quarantine.map((x) => x.connector),
          c.quarantine.map((x) => x.externalId),
          c.quarantine.map((x) => JSON.stringify(x.record)),
          c.quarantine.map((x) => JSON.stringify(x.reasons)),
        ],
      );
    if (c.reviews.length)
      await q.query(
        `INSERT INTO hub.review_queue (tenant_id, customer_a, customer_b, score, reasons)
         SELECT $1, least(a, b), greatest(a, b), s, r::jsonb FROM unnest($2::text[], $3::text[], $4::numeric[], $5::text[]) AS u(a, b, s, r)
         ON CONFLICT (tenant_id, customer_a, customer_b) DO NOTHING`,
        [
          t,
          c.reviews.map((r) => r.customerA),
          c.reviews.map((r) => r.customerB),
          c.reviews.map((r) => r.score),
          c.reviews.map((r) => JSON.stringify(r.reasons)),
        ],
      );
    if (c.merges.length)
      await q.query(
        `INSERT INTO hub.merges (tenant_id, survivor, merged, score, automatic, reasons, decided_by)
         SELECT $1, s, m, sc, a, r::jsonb, d FROM unnest($2::text[], $3::text[], $4::numeric[], $5::boolean[], $6::text[], $7::text[])
           AS u(s, m, sc, a, r, d)`,
        [
          t,
          c.merges.map((m) => m.survivor),
          c.merges.map((m) => m.merged),
          c.merges.map((m) => m.score),
          c.merges.map((m) => m.automatic),
          c.merges.map((m) => JSON.stringify(m.reasons)),
          c.merges.map((m) => m.decidedBy),
        ],
      );
  }

  // ---- operator reads -----------------------------------------------------------------------

  async customer(
    tenantId: string,
    customerId: string,
  ): Promise<{
    customerId: string;
    state: string;
    mergedInto: string | null;
    fields: Record<string, FieldValue>;
    links: Array<{ connector: string; externalId: string; key: string | null }>;
  } | null> {
    const [c]: Array<{ customer_id: string; state: string; merged_into: string | null }> =
      await this.db.query(
        `SELECT customer_id, state, merged_into FROM hub.customers WHERE tenant_id = $1 AND customer_id = $2`,
        [tenantId, customerId],
      );
    if (!c) return null;
    const values: Array<{ field: string; value: string | null; source: string; source_modified_at: Date }> =
      await this.db.query(
        `SELECT field, value, source, source_modified_at FROM hub.field_values WHERE tenant_id = $1 AND customer_id = $2 ORDER BY field`,
        [tenantId, customerId],
      );
    const links: Array<{ connector: string; external_id: string; external_key: string | null }> =
      await this.db.query(
        `SELECT connector, external_id, external_key FROM hub.links WHERE tenant_id = $1 AND customer_id = $2 ORDER BY connector, external_id`,
        [tenantId, customerId],
      );
    return {
      customerId: c.customer_id,
      state: c.state,
      mergedInto: c.merged_into,
      fields: Object.fromEntries(
        values.map((v) => [v.field, { value: v.value, source: v.source, modifiedAt: v.source_modified_at }]),
      ),
      links: links.map((l) => ({ connector: l.connector, externalId: l.external_id, key: l.external_key })),
    };
  }

  async decisions(
    tenantId: string,
    customerId?: string,
    limit = 200,
  ): Promise<
    Array<{
      id: string;
      customerId: string;
      field: string;
      rule: string;
      candidates: unknown;
      winner: unknown;
      explanation: string;
      decidedAt: Date;
    }>
  > {
    const rows: Array<{
      id: string;
      customer_id: string;
      field: string;
      rule: string;
      candidates: unknown;
      winner: unknown;
      explanation: string;
      decided_at: Date;
    }> = await this.db.query(
      `SELECT id::text, customer_id, field, rule, candidates, winner, explanation, decided_at FROM hub.decisions
          WHERE tenant_id = $1 AND ($2::text IS NULL OR customer_id = $2) ORDER BY id DESC LIMIT $3`,
      [tenantId, customerId ?? null, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      customerId: r.customer_id,
      field: r.field,
      rule: r.rule,
      candidates: r.candidates,
      winner: r.winner,
      explanation: r.explanation,
      decidedAt: r.decided_at,
    }));
  }

  async quarantine(tenantId: string | null, state = 'open'): Promise<QuarantineRow[]> {
    const rows: Array<{
      id: string;
      tenant_id: string;
      connector: string;
      external_id: string;
      record: Record<string, unknown>;
      reasons: string[];
      state: string;
      attempts: number;
      created_at: Date;
      updated_at: Date;
    }> = await this.db.query(
      `SELECT id::text, tenant_id, connector, external_id, record, reasons, state, attempts, created_at, updated_at FROM hub.quarantine
          WHERE ($1::text IS NULL OR tenant_id = $1) AND state = $2 ORDER BY id`,
      [tenantId, state],
    );
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      connector: r.connector,
      externalId: r.external_id,
      record: r.record,
      reasons: r.reasons,
      state: r.state,
      attempts: r.attempts,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }

  /** Marks a quarantined record for another try: its link forgets what it saw, so the next read re-evaluates it. */
  async releaseQuarantine(id: string): Promise<QuarantineRow | null> {
    return this.inTransaction(async (q) => {
      const rows: Array<{ tenant_id: string; connector: string; external_id: string }> = returned(
        await q.query(
          `UPDATE hub.quarantine SET state = 'released', updated_at = now() WHERE id = $1 AND state = 'open'
           RETURNING tenant_id, connector, external_id`,
          [id],
        ),
      );
      const row = rows[0];
      if (!row) return null;
      const [full]: Array<{
        id: string;
        record: Record<string, unknown>;
        reasons: string[];
        attempts: number;
        created_at: Date;
        updated_at: Date;
      }> = await q.query(
        `SELECT id::text, record, reasons, attempts, created_at, updated_at FROM hub.quarantine WHERE id = $1`,
        [id],
      );
      return {
        id: full!.id,
        tenantId: row.tenant_id,
        connector: row.connector,
        externalId: row.external_id,
        record: full!.record,
        reasons: full!.reasons,
        state: 'released',
        attempts: full!.attempts,
        createdAt: full!.created_at,
        updatedAt: full!.updated_at,
      };
    });
  }

  async reviews(tenantId: string | null, state = 'open'): Promise<ReviewRow[]> {
    const rows: Array<{
      id: string;
      tenant_id: string;
      customer_a: string;
      customer_b: string;
      score: string;
      reasons: string[];
      state: string;
      decided_by: string | null;
      created_at: Date;
    }> = await this.db.query(
      `SELECT id::text, tenant_id, customer_a, customer_b, score::text, reasons, state, decided_by, created_at FROM hub.review_queue
          WHERE ($1::text IS NULL OR tenant_id = $1) AND state = $2 ORDER BY score DESC, id`,
      [tenantId, state],
    );
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      customerA: r.customer_a,
      customerB: r.customer_b,
      score: Number(r.score),
      reasons: r.reasons,
      state: r.state,
      decidedBy: r.decided_by,
      createdAt: r.created_at,
    }));
  }

  async decideReview(id: string, state: 'merged' | 'split', by: string): Promise<ReviewRow | null> {
    const rows: Array<{ id: string }> = returned(
      await this.db.query(
        `UPDATE hub.review_queue SET state = $2, decided_by = $3, decided_at = now() WHERE id = $1 AND state = 'open' RETURNING id::text`,
        [id, state, by],
      ),
    );
    if (!rows[0]) return null;
    const [row] = (await this.db.query(
      `SELECT id::text, tenant_id, customer_a, customer_b, score::text, reasons, state, decided_by, created_at FROM hub.review_queue WHERE id = $1`,
      [id],
    )) as Array<{
      id: string;
      tenant_id: string;
      customer_a: string;
      customer_b: string;
      score: string;
      reasons: string[];
      state: string;
      decided_by: string | null;
      created_at: Date;
    }>;
    return {
      id: row!.id,
      tenantId: row!.tenant_id,
      customerA: row!.customer_a,
      customerB: row!.customer_b,
      score: Number(row!.score),
      reasons: row!.reasons,
      state: row!.state,
      decidedBy: row!.decided_by,
      createdAt: row!.created_at,
    };
  }

  async review(id: string): Promise<ReviewRow | null> {
    const all = (await this.db.query(
      `SELECT id::text, tenant_id, customer_a, customer_b, score::text, reasons, state, decided_by, created_at FROM hub.review_queue WHERE id = $1`,
      [id],
    )) as Array<{
      id: string;
      tenant_id: string;
      customer_a: string;
      customer_b: string;
      score: string;
      reasons: string[];
      state: string;
      decided_by: string | null;
      created_at: Date;
    }>;
    const r = all[0];
    return r
      ? {
          id: r.id,
          tenantId: r.tenant_id,
          customerA: r.customer_a,
          customerB: r.customer_b,
          score: Number(r.score),
          reasons: r.reasons,
          state: r.state,
          decidedBy: r.decided_by,
          createdAt: r.created_at,
        }
      : null;
  }

  async status(tenantId?: string): Promise<{
    customers: Record<string, number>;
    cursors: Array<{
      tenantId: string;
      connector: string;
      initialDone: boolean;
      recordsRead: number;
      lastRunAt: Date | null;
      lastError: string | null;
    }>;
    quarantined: number;
    inReview: number;
    paused: number;
    decisions: number;
    mappingVersions: Array<{ tenantId: string; version: number }>;
  }> {
    const t = tenantId ?? null;
    const customers: Array<{ state: string; n: string }> = await this.db.query(
      `SELECT state, count(*)::text AS n FROM hub.customers WHERE $1::text IS NULL OR tenant_id = $1 GROUP BY state`,
      [t],
    );
    const cursors: Array<{
      tenant_id: string;
      connector: string;
      initial_done: boolean;
      records_read: string;
      last_run_at: Date | null;
      last_error: string | null;
    }> = await this.db.query(
      `SELECT * FROM hub.cursors WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY tenant_id, connector`,
      [t],
    );
    const [counts]: Array<{ q: string; r: string; p: string; d: string }> = await this.db.query(
      `SELECT (SELECT count(*) FROM hub.quarantine WHERE state = 'open' AND ($1::text IS NULL OR tenant_id = $1))::text AS q,
              (SELECT count(*) FROM hub.review_queue WHERE state = 'open' AND ($1::text IS NULL OR tenant_id = $1))::text AS r,
              (SELECT count(*) FROM hub.paused_fields WHERE $1::text IS NULL OR tenant_id = $1)::text AS p,
              (SELECT count(*) FROM hub.decisions WHERE $1::text IS NULL OR tenant_id = $1)::text AS d`,
      [t],
    );
    const versions: Array<{ tenant_id: string; version: number }> = await this.db.query(
      `SELECT tenant_id, max(version) AS version FROM hub.mapping_versions WHERE $1::text IS NULL OR tenant_id = $1 GROUP BY tenant_id ORDER BY 1`,
      [t],
    );
    return {
      customers: Object.fromEntries(customers.map((c) => [c.state, Number(c.n)])),
      cursors: cursors.map((c) => ({
        tenantId: c.tenant_id,
        connector: c.connector,
        initialDone: c.initial_done,
        recordsRead: Number(c.records_read),
        lastRunAt: c.last_run_at,
        lastError: c.last_error,
      })),
      quarantined: Number(counts!.q),
      inReview: Number(counts!.r),
      paused: Number(counts!.p),
      decisions: Number(counts!.d),
      mappingVersions: versions.map((v) => ({ tenantId: v.tenant_id, version: v.version })),
    };
  }

  /** Runs `work` holding the tenant's hub run lock (one run per tenant across every worker); null if busy. */
  async withTenantLock<T>(
    tenantId: string,
    work: () => Promise<T>,
  ): Promise<{ ran: true; result: T } | { ran: false }> {
    const q = this.db.createQueryRunner();
    await q.connect();
    try {
      const [row]: Array<{ locked: boolean }> = await q.query(
        `SELECT pg_try_advisory_lock(hashtext('saldo:hub:run:' || $1)) AS locked`,
        [tenantId],
      );
      if (!row?.locked) return { ran: false };
      try {
        return { ran: true, result: await work() };
      } finally {
        await q.query(`SELECT pg_advisory_unlock(hashtext('saldo:hub:run:' || $1))`, [tenantId]);
      }
    } finally {
      await q.release();
    }
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

interface MappingRow {
  tenant_id: string;
  version: number;
  mapping: HubMapping;
  author: string;
  comment: string | null;
  restored_from: number | null;
  created_at: Date;
}

function toMapping(r: MappingRow): MappingVersion {
  return {
    tenantId: r.tenant_id,
    version: r.version,
    mapping: r.mapping,
    author: r.author,
    comment: r.comment,
    restoredFrom: r.restored_from,
    createdAt: r.created_at,
  };
}

function returned<T>(result: unknown): T[] {
  return (
    Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number'
      ? result[0]
      : result
  ) as T[];
}
