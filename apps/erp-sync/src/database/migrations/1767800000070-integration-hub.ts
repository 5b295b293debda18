import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The integration hub (docs/integration-hub.md): one customer record per tenant and wallet owner
 * across NetSuite, Zendesk and ActiveCampaign. Reviewed SQL; never edit once committed.
 *
 * - customers: the hub record (state active | merged, merged_into for a merged duplicate).
 * - field_values: the current value of each hub field with its source system and the source's
 *   modification time; field_history: every value a field ever took (append-only).
 * - links: a customer's id in each system, and what the hub last knew that system holds for each
 *   mapped field (`seen`): a change equal to it is an echo or no change, never a new candidate;
 *   `raw` is the record as last read (what a mapping preview runs on).
 * - mapping_versions: the tenant's declarative field mapping, one row per version (never updated);
 *   the highest version is active; a restore is a new version copying an old one.
 * - cursors: per tenant and connector the durable read position (and whether the initial full
 *   sync finished).
 * - decisions: the conflict audit (candidates, rule, winner), append-only.
 * - quarantine: vendor records that failed validation, with the reasons; they wrote nothing.
 * - review_queue / merges: duplicate candidates below the auto-merge threshold, and every merge.
 * - schema_snapshots / paused_fields: versioned describeSchema per connector, and the mapped
 *   fields whose sync is paused by schema drift until a new mapping version fixes them.
 */
export class IntegrationHub1767800000070 implements MigrationInterface {
  name = 'IntegrationHub1767800000070';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE SCHEMA IF NOT EXISTS hub`);
    await db.query(`
      CREATE TABLE hub.customers (
        tenant_id   text NOT NULL,
        customer_id text NOT NULL,
        state       text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'merged')),
        merged_into text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, customer_id),
        CHECK ((state = 'merged') = (merged_into IS NOT NULL))
      )`);
    await db.query(`
      CREATE TABLE hub.field_values (
        tenant_id          text NOT NULL,
        customer_id        text NOT NULL,
        field              text NOT NULL,
        value              text,
        source             text NOT NULL,
        source_modified_at timestamptz NOT NULL,
        updated_at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, customer_id, field),
        FOREIGN KEY (tenant_id, customer_id) REFERENCES hub.customers (tenant_id, customer_id)
      )`);
    // Duplicate detection probes exact values (e-mail) across a tenant's customers.
    await db.query(`CREATE INDEX field_values_by_value ON hub.field_values (tenant_id, field, lower(value))`);
    await db.query(`
      CREATE TABLE hub.field_history (
        id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id          text NOT NULL,
        customer_id        text NOT NULL,
        field              text NOT NULL,
        value              text,
        source             text NOT NULL,
        source_modified_at timestamptz NOT NULL,
        decision_id        bigint,
        recorded_at        timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(
      `CREATE INDEX field_history_by_customer ON hub.field_history (tenant_id, customer_id, id)`,
    );
    await db.query(`
      CREATE TABLE hub.links (
        tenant_id        text NOT NULL,
        connector        text NOT NULL CHECK (connector IN ('netsuite', 'zendesk', 'activecampaign')),
        external_id      text NOT NULL,
        customer_id      text NOT NULL,
        external_key     text,
        seen             jsonb NOT NULL DEFAULT '{}',
        raw              jsonb,
        last_modified_at timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, connector, external_id),
        FOREIGN KEY (tenant_id, customer_id) REFERENCES hub.customers (tenant_id, customer_id)
      )`);
    await db.query(`CREATE INDEX links_by_customer ON hub.links (tenant_id, customer_id)`);
    await db.query(`
      CREATE TABLE hub.mapping_versions (
        tenant_id     text NOT NULL,
        version       integer NOT NULL CHECK (version >= 1),
        mapping       jsonb NOT NULL,
        author        text NOT NULL,
        comment       text,
        restored_from integer,
        created_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, version)
      )`);
    await db.query(`
      CREATE TABLE hub.cursors (
        tenant_id        text NOT NULL,
        connector        text NOT NULL,
        cursor           text,
        initial_done     boolean NOT NULL DEFAULT false,
        records_read     bigint NOT NULL DEFAULT 0,
        last_run_at      timestamptz,
        last_error       text,
        PRIMARY KEY (tenant_id, connector)
      )`);
    await db.query(`
      CREATE TABLE hub.decisions (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id   text NOT NULL,
        customer_id text NOT NULL,
        field       text NOT NULL,
        rule        text NOT NULL,
        candidates  jsonb NOT NULL,
        winner      jsonb NOT NULL,
        explanation text NOT NULL,
        decided_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX decisions_by_customer ON hub.decisions (tenant_id, customer_id, id)`);
    await db.query(`
      CREATE TABLE hub.quarantine (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id   text NOT NULL,
        connector   text NOT NULL,
        external_id text NOT NULL,
        record      jsonb NOT NULL,
        reasons     jsonb NOT NULL,
        state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'released', 'resolved')),
        attempts    integer NOT NULL DEFAULT 1,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE UNIQUE INDEX quarantine_open ON hub.quarantine (tenant_id, connector, external_id) WHERE state = 'open'`);
    await db.query(`
      CREATE TABLE hub.review_queue (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id   text NOT NULL,
        customer_a  text NOT NULL,
        customer_b  text NOT NULL,
        score       numeric(5, 4) NOT NULL CHECK (score BETWEEN 0 AND 1),
        reasons     jsonb NOT NULL,
        state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'merged', 'split')),
        decided_by  text,
        decided_at  timestamptz,
        created_at  timestamptz NOT NULL DEFAULT now(),
        CHECK (customer_a < customer_b)
      )`);
    await db.query(`
      CREATE UNIQUE INDEX review_queue_pair ON hub.review_queue (tenant_id, customer_a, customer_b)`);
    await db.query(`
      CREATE TABLE hub.merges (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id  text NOT NULL,
        survivor   text NOT NULL,
        merged     text NOT NULL,
        score      numeric(5, 4) NOT NULL,
        automatic  boolean NOT NULL,
        reasons    jsonb NOT NULL,
        decided_by text NOT NULL,
        at         timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE hub.schema_snapshots (
        connector text NOT NULL,
        version   integer NOT NULL CHECK (version >= 1),
        fields    jsonb NOT NULL,
        digest    text NOT NULL,
        taken_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (connector, version)
      )`);
    await db.query(`
      CREATE TABLE hub.paused_fields (
        tenant_id    text NOT NULL,
        connector    text NOT NULL,
        source_field text NOT NULL,
        hub_field    text NOT NULL,
        reason       text NOT NULL,
        since        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, connector, source_field)
      )`);
    // History, decisions and merges are facts: never updated or deleted (the erp_sync function says so).
    for (const table of ['field_history', 'decisions', 'merges', 'mapping_versions']) {
      await db.query(`CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON hub.${table}
                        FOR EACH ROW EXECUTE FUNCTION erp_sync.refuse_change()`);
    }
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP SCHEMA hub CASCADE`);
  }
}
