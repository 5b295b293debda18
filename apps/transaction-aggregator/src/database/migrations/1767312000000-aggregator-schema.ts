import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The aggregator's own schema. Money truth stays in the ledger: these tables hold who may call
 * (tenants, hashed API keys), which ledger account a wallet spends from and under which model,
 * and a journal of public operations (idempotency, and what each one counts against a spend limit).
 */
export class AggregatorSchema1767312000000 implements MigrationInterface {
  name = 'AggregatorSchema1767312000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE SCHEMA IF NOT EXISTS aggregator`);
    await db.query(`
      CREATE TABLE aggregator.tenants (
        id         text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // key_hash: SHA-256 of the key (keys are 256-bit random or operator-chosen secrets of 16+
    // characters), for lookup on every gRPC call. key_ciphertext: AES-256-GCM of the key under
    // SALDO_KEY_ENCRYPTION_KEY, only to verify the HMAC signatures of Pub/Sub messages.
    await db.query(`
      CREATE TABLE aggregator.api_keys (
        id             uuid PRIMARY KEY,
        tenant_id      text NOT NULL REFERENCES aggregator.tenants (id),
        key_hash       bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
        key_ciphertext bytea NOT NULL CHECK (octet_length(key_ciphertext) > 28),
        key_hint       text NOT NULL CHECK (length(key_hint) <= 16),
        source         text NOT NULL CHECK (source IN ('env', 'cli')),
        created_at     timestamptz NOT NULL DEFAULT now(),
        revoked_at     timestamptz
      )`);
    await db.query(
      `CREATE INDEX api_keys_active_by_tenant ON aggregator.api_keys (tenant_id) WHERE revoked_at IS NULL`,
    );

    await db.query(`
      CREATE TABLE aggregator.wallets (
        tenant_id         text NOT NULL REFERENCES aggregator.tenants (id),
        id                uuid NOT NULL,
        owner_type        text NOT NULL CHECK (owner_type IN ('personal', 'enterprise', 'reseller')),
        owner_id          text NOT NULL CHECK (length(owner_id) BETWEEN 1 AND 128),
        currency          text NOT NULL,
        role              text NOT NULL CHECK (role IN ('standalone', 'member', 'client')),
        parent_wallet_id  uuid,
        ledger_account_id uuid UNIQUE,
        spend_limit_minor bigint CHECK (spend_limit_minor > 0),
        limit_period      text NOT NULL DEFAULT 'month' CHECK (limit_period IN ('month', 'day')),
        metadata          jsonb NOT NULL DEFAULT '{}',
        created_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, parent_wallet_id) REFERENCES aggregator.wallets (tenant_id, id),
        -- A member spends its organisation's ledger account; every other wallet has its own.
        CHECK ((role = 'member') = (ledger_account_id IS NULL)),
        CHECK ((role = 'standalone') = (parent_wallet_id IS NULL)),
        CHECK (spend_limit_minor IS NULL OR role = 'member')
      )`);
    await db.query(
      `CREATE INDEX wallets_children ON aggregator.wallets (tenant_id, parent_wallet_id, id) WHERE parent_wallet_id IS NOT NULL`,
    );

    // One row per public write, keyed by the caller's idempotency key. spend_minor is what the
    // operation counts against spender_wallet_id's usage in period_start (negative for releases
    // and reversals); a row counts while it is completed, or started with a positive spend (a
    // crash between claim and ledger answer never lets a member overspend).
    await db.query(`
      CREATE TABLE aggregator.operations (
        tenant_id         text NOT NULL REFERENCES aggregator.tenants (id),
        idempotency_key   text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 128),
        action            text NOT NULL,
        request_hash      text NOT NULL,
        state             text NOT NULL CHECK (state IN ('started', 'completed', 'failed')),
        result_id         uuid,
        wallet_id         uuid,
        spender_wallet_id uuid,
        spend_minor       bigint NOT NULL DEFAULT 0,
        period_start      timestamptz,
        hold_id           uuid,
        hold_expires_at   timestamptz,
        hold_resolved     boolean NOT NULL DEFAULT false,
        error_code        text,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, idempotency_key),
        CHECK (state <> 'completed' OR result_id IS NOT NULL),
        CHECK ((spender_wallet_id IS NULL) = (period_start IS NULL))
      )`);
    await db.query(`
      CREATE INDEX operations_spend ON aggregator.operations (tenant_id, spender_wallet_id, period_start)
        WHERE spender_wallet_id IS NOT NULL`);
    await db.query(`CREATE INDEX operations_result ON aggregator.operations (tenant_id, result_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE aggregator.operations`);
    await db.query(`DROP TABLE aggregator.wallets`);
    await db.query(`DROP TABLE aggregator.api_keys`);
    await db.query(`DROP TABLE aggregator.tenants`);
    await db.query(`DROP SCHEMA aggregator`);
  }
}
