import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The aggregator caches API keys and wallet rows in process (src/cache). Every change of either
 * table NOTIFYs every instance so they drop what they hold: a revoked key stops working at once on
 * all instances, without a lookup per call. Payloads: the key id; "<tenant>:<wallet id>"; "*" for
 * a TRUNCATE. NOTIFY is delivered at commit, so a rolled-back change invalidates nothing.
 */
export class CacheNotifications1767700000010 implements MigrationInterface {
  name = 'CacheNotifications1767700000010';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE FUNCTION aggregator.notify_api_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_LEVEL = 'STATEMENT' THEN
          PERFORM pg_notify('saldo_api_keys', '*');
        ELSIF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('saldo_api_keys', OLD.id::text);
        ELSE
          PERFORM pg_notify('saldo_api_keys', NEW.id::text);
        END IF;
        RETURN NULL;
      END $$`);
    await db.query(`
      CREATE TRIGGER api_keys_notify AFTER INSERT OR UPDATE OR DELETE ON aggregator.api_keys
        FOR EACH ROW EXECUTE FUNCTION aggregator.notify_api_key_change()`);
    await db.query(`
      CREATE TRIGGER api_keys_notify_truncate AFTER TRUNCATE ON aggregator.api_keys
        FOR EACH STATEMENT EXECUTE FUNCTION aggregator.notify_api_key_change()`);
    await db.query(`
      CREATE FUNCTION aggregator.notify_wallet_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_LEVEL = 'STATEMENT' THEN
          PERFORM pg_notify('saldo_wallets', '*');
        ELSE
          PERFORM pg_notify('saldo_wallets', OLD.tenant_id || ':' || OLD.id::text);
        END IF;
        RETURN NULL;
      END $$`);
    // Inserts need no notification: a wallet is cached only once it has been read.
    await db.query(`
      CREATE TRIGGER wallets_notify AFTER UPDATE OR DELETE ON aggregator.wallets
        FOR EACH ROW EXECUTE FUNCTION aggregator.notify_wallet_change()`);
    await db.query(`
      CREATE TRIGGER wallets_notify_truncate AFTER TRUNCATE ON aggregator.wallets
        FOR EACH STATEMENT EXECUTE FUNCTION aggregator.notify_wallet_change()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TRIGGER wallets_notify_truncate ON aggregator.wallets`);
    await db.query(`DROP TRIGGER wallets_notify ON aggregator.wallets`);
    await db.query(`DROP FUNCTION aggregator.notify_wallet_change()`);
    await db.query(`DROP TRIGGER api_keys_notify_truncate ON aggregator.api_keys`);
    await db.query(`DROP TRIGGER api_keys_notify ON aggregator.api_keys`);
    await db.query(`DROP FUNCTION aggregator.notify_api_key_change()`);
  }
}
