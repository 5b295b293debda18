import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the outbox relay and the Firestore mirror need. Reviewed SQL; never edit once committed.
 *
 * Outbox: a row is published once its events are accepted by Pub/Sub (`published_at`), never
 * before; the relay claims unpublished rows with FOR UPDATE SKIP LOCKED and marks them in the same
 * transaction, so a crash at any point leaves them unpublished (redelivered, never lost). Identity
 * ids can commit out of order, so nothing here tracks a "last id": the relay always takes the oldest
 * unpublished rows. Published rows are kept for a retention period (audit, lag), then deleted.
 *
 * Mirror: `mirror_state` holds one row per wallet with the newest version the ledger has and the
 * newest version Firestore has. A trigger on ledger.accounts raises `pending_version` in the same
 * transaction as the balance change (the account row is already locked there, so the upsert adds no
 * contention), which coalesces any number of changes of a hot wallet into one pending row.
 * Independent of the Pub/Sub relay: a Pub/Sub outage does not stop the read views, nor the reverse.
 */
export class OutboxRelay1767225600002 implements MigrationInterface {
  name = 'OutboxRelay1767225600002';

  async up(db: QueryRunner): Promise<void> {
    // Adding nullable columns and defaults is metadata-only on PostgreSQL 11+: no table rewrite.
    await db.query(`
      ALTER TABLE ledger.outbox
        ADD COLUMN published_at timestamptz,
        ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        ADD COLUMN last_error text,
        ADD CONSTRAINT outbox_published_after_created CHECK (published_at IS NULL OR published_at >= created_at)`);
    await db.query(`CREATE INDEX outbox_unpublished ON ledger.outbox (id) WHERE published_at IS NULL`);
    await db.query(
      `CREATE INDEX outbox_published ON ledger.outbox (published_at) WHERE published_at IS NOT NULL`,
    );

    // A row's content never changes, it is published at most once, and only a published row may be
    // deleted (retention): an unpublished event can never vanish.
    await db.query(`
      CREATE FUNCTION ledger.guard_outbox_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          IF OLD.published_at IS NULL THEN
            RAISE EXCEPTION 'outbox row % is not published yet and cannot be deleted', OLD.id USING ERRCODE = 'SL002';
          END IF;
          RETURN OLD;
        END IF;
        IF (NEW.id, NEW.tenant_id, NEW.event_type, NEW.transaction_id, NEW.account_id, NEW.created_at)
             IS DISTINCT FROM (OLD.id, OLD.tenant_id, OLD.event_type, OLD.transaction_id, OLD.account_id, OLD.created_at)
           OR (OLD.published_at IS NOT NULL AND NEW.published_at IS DISTINCT FROM OLD.published_at) THEN
          RAISE EXCEPTION 'outbox row % keeps its content and is published once', OLD.id USING ERRCODE = 'SL002';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER outbox_guard BEFORE UPDATE OR DELETE ON ledger.outbox
                      FOR EACH ROW EXECUTE FUNCTION ledger.guard_outbox_change()`);
    await db.query(`CREATE TRIGGER outbox_no_truncate BEFORE TRUNCATE ON ledger.outbox
                      FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()`);

    await db.query(`
      CREATE TABLE ledger.mirror_state (
        account_id       uuid PRIMARY KEY REFERENCES ledger.accounts (id),
        tenant_id        text NOT NULL,
        -- The newest version the ledger has committed (raised by the trigger below).
        pending_version  bigint NOT NULL CHECK (pending_version >= 0),
        -- The newest version written to Firestore; -1 before the first write (a new wallet is version 0).
        mirrored_version bigint NOT NULL DEFAULT -1 CHECK (mirrored_version >= -1),
        -- When the oldest change not yet in Firestore was made (NULL when up to date): the lag clock.
        pending_since    timestamptz,
        -- Not before: spaces writes to one document (hot wallets) and backs off after failures.
        next_attempt_at  timestamptz NOT NULL DEFAULT '-infinity',
        lease_owner      text,
        lease_until      timestamptz,
        attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        last_error       text,
        mirrored_at      timestamptz
      )`);
    await db.query(`CREATE INDEX mirror_state_due ON ledger.mirror_state (next_attempt_at)
                      WHERE pending_version > mirrored_version`);

    await db.query(`
      CREATE FUNCTION ledger.mark_wallet_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO ledger.mirror_state AS m (account_id, tenant_id, pending_version, pending_since)
        VALUES (NEW.id, NEW.tenant_id, NEW.version, clock_timestamp())
        ON CONFLICT (account_id) DO UPDATE
          SET pending_version = greatest(m.pending_version, EXCLUDED.pending_version),
              pending_since = coalesce(m.pending_since, EXCLUDED.pending_since);
        RETURN NULL;
      END $$`);
    await db.query(`CREATE TRIGGER accounts_mark_wallet_opened AFTER INSERT ON ledger.accounts
                      FOR EACH ROW WHEN (NEW.type = 'wallet') EXECUTE FUNCTION ledger.mark_wallet_changed()`);
    await db.query(`CREATE TRIGGER accounts_mark_wallet_changed AFTER UPDATE OF version ON ledger.accounts
                      FOR EACH ROW WHEN (NEW.type = 'wallet' AND NEW.version IS DISTINCT FROM OLD.version)
                      EXECUTE FUNCTION ledger.mark_wallet_changed()`);
    // Back-fill: wallets that existed before this migration are mirrored once.
    await db.query(`
      INSERT INTO ledger.mirror_state (account_id, tenant_id, pending_version, pending_since)
      SELECT id, tenant_id, version, clock_timestamp() FROM ledger.accounts WHERE type = 'wallet'
      ON CONFLICT (account_id) DO NOTHING`);

    // Checkpoints of `cli mirror-rebuild`: resumable after a crash, one row per named run.
    await db.query(`
      CREATE TABLE ledger.mirror_rebuilds (
        name            text PRIMARY KEY,
        after_account   uuid,
        wallets_written bigint NOT NULL DEFAULT 0,
        wallets_skipped bigint NOT NULL DEFAULT 0,
        started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at     timestamptz
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE ledger.mirror_rebuilds`);
    await db.query(`DROP TRIGGER accounts_mark_wallet_changed ON ledger.accounts`);
    await db.query(`DROP TRIGGER accounts_mark_wallet_opened ON ledger.accounts`);
    await db.query(`DROP FUNCTION ledger.mark_wallet_changed()`);
    await db.query(`DROP TABLE ledger.mirror_state`);
    await db.query(`DROP TRIGGER outbox_no_truncate ON ledger.outbox`);
    await db.query(`DROP TRIGGER outbox_guard ON ledger.outbox`);
    await db.query(`DROP FUNCTION ledger.guard_outbox_change()`);
    await db.query(`DROP INDEX ledger.outbox_published`);
    await db.query(`DROP INDEX ledger.outbox_unpublished`);
    await db.query(`ALTER TABLE ledger.outbox DROP CONSTRAINT outbox_published_after_created,
                      DROP COLUMN last_error, DROP COLUMN attempts, DROP COLUMN published_at`);
  }
}
