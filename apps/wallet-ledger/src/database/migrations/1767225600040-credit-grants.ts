import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Credit grants (docs/grants.md). Reviewed SQL; never edit once committed.
 *
 * A grant is an account of its own (type 'grant') inside a wallet account: credit-normal and
 * limit-enforced with no overdraft, so the database refuses to consume more than a grant holds,
 * per grant, exactly as it refuses to overdraw a wallet. Its movements are memo legs in the same
 * transaction as the wallet's own legs, against one grant contra account per tenant and asset
 * ('grant_contra', debit-normal), so every transaction stays balanced per asset. Expired credit
 * leaves the wallet for the 'breakage' account (credit-normal income).
 *
 * Guards added here:
 * - grant accounts never have an overdraft (a grant's remainder is never below zero);
 * - ledger.grants rows are immutable (a grant's terms never change after it is opened);
 * - one grant contra and one breakage account per tenant and asset, like every system account.
 * `ledger verify` proves the rest: a wallet with grants holds exactly the sum of its grants'
 * remainders, and nothing was consumed from a grant outside its validity or products.
 */
export class CreditGrants1767225600040 implements MigrationInterface {
  name = 'CreditGrants1767225600040';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE ledger.accounts DROP CONSTRAINT accounts_type_check`);
    await db.query(`ALTER TABLE ledger.accounts ADD CONSTRAINT accounts_type_check CHECK (type IN (
                      'wallet', 'cash_clearing', 'revenue', 'cost_of_revenue', 'payables', 'promotions',
                      'opening_balances', 'grant', 'grant_contra', 'breakage'))`);
    // The generated sides cannot be altered in place (PostgreSQL 15): drop and add them again.
    await db.query(`ALTER TABLE ledger.accounts DROP CONSTRAINT accounts_within_limit`);
    await db.query(`ALTER TABLE ledger.accounts DROP COLUMN limit_enforced, DROP COLUMN normal_side`);
    await db.query(`
      ALTER TABLE ledger.accounts
        ADD COLUMN normal_side text NOT NULL GENERATED ALWAYS AS (
          CASE WHEN type IN ('wallet', 'revenue', 'payables', 'grant', 'breakage') THEN 'credit' ELSE 'debit' END) STORED,
        ADD COLUMN limit_enforced boolean NOT NULL GENERATED ALWAYS AS (type IN ('wallet', 'grant')) STORED`);
    await db.query(`
      ALTER TABLE ledger.accounts ADD CONSTRAINT accounts_within_limit CHECK (
        NOT limit_enforced
        OR (normal_side = 'credit' AND credits_posted - debits_posted - debits_pending >= -overdraft_limit)
        OR (normal_side = 'debit' AND debits_posted - credits_posted - credits_pending >= -overdraft_limit))`);
    await db.query(`ALTER TABLE ledger.accounts ADD CONSTRAINT accounts_grant_without_overdraft
                      CHECK (type <> 'grant' OR overdraft_limit = 0)`);

    // Many grants per asset: the one-per-asset rule now covers system accounts only. System
    // account look-ups (type = X AND type <> 'wallet') probe the plain index instead.
    await db.query(
      `CREATE INDEX accounts_by_tenant_asset_type ON ledger.accounts (tenant_id, asset_code, type)`,
    );
    await db.query(`DROP INDEX ledger.accounts_one_system_account_per_asset`);
    await db.query(`CREATE UNIQUE INDEX accounts_one_system_account_per_asset
                      ON ledger.accounts (tenant_id, asset_code, type) WHERE type NOT IN ('wallet', 'grant')`);
    await db.query(DEFINE_ASSET);

    await db.query(`
      CREATE TABLE ledger.grants (
        account_id        uuid PRIMARY KEY,
        tenant_id         text NOT NULL,
        wallet_account_id uuid NOT NULL,
        asset_code        text NOT NULL,
        category          text NOT NULL CHECK (category IN ('paid', 'promotional')),
        priority          integer NOT NULL CHECK (priority BETWEEN 0 AND 1000),
        effective_at      timestamptz NOT NULL,
        expires_at        timestamptz CHECK (expires_at > effective_at),
        product_codes     text[] NOT NULL DEFAULT '{}' CHECK (cardinality(product_codes) <= 100),
        source            text NOT NULL CHECK (source IN ('top_up', 'transfer', 'promotion', 'subscription',
                                                          'erp_document', 'migration', 'opening')),
        source_ref        text NOT NULL DEFAULT '' CHECK (length(source_ref) <= 256),
        created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
        FOREIGN KEY (tenant_id, account_id) REFERENCES ledger.accounts (tenant_id, id),
        FOREIGN KEY (tenant_id, wallet_account_id) REFERENCES ledger.accounts (tenant_id, id)
      )`);
    await db.query(`CREATE INDEX grants_of_wallet ON ledger.grants (wallet_account_id)`);
    await db.query(`CREATE INDEX grants_expiring ON ledger.grants (expires_at) WHERE expires_at IS NOT NULL`);
    for (const trigger of [
      `CREATE TRIGGER grants_immutable BEFORE UPDATE OR DELETE ON ledger.grants
         FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change()`,
      `CREATE TRIGGER grants_no_truncate BEFORE TRUNCATE ON ledger.grants
         FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()`,
    ]) {
      await db.query(trigger);
    }
    await db.query(OPEN_GRANT);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP FUNCTION ledger.open_grant(jsonb)`);
    await db.query(`DROP TABLE ledger.grants`);
    throw new Error('CreditGrants1767225600040 cannot be reverted once grant accounts may exist');
  }
}

/**
 * define_asset of migration 0001 with the new one-per-asset predicate (ON CONFLICT must name it).
 * The grant contra and breakage accounts are created by the asset's first grant (open_grant).
 */
const DEFINE_ASSET = `
CREATE OR REPLACE FUNCTION ledger.define_asset(p_tenant text, p_code text, p_scale smallint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE s ledger.assets;
BEGIN
  INSERT INTO ledger.assets (tenant_id, code, scale) VALUES (p_tenant, p_code, p_scale)
  ON CONFLICT (tenant_id, code) DO NOTHING;
  SELECT * INTO s FROM ledger.assets WHERE tenant_id = p_tenant AND code = p_code;
  IF s.scale <> p_scale THEN
    PERFORM ledger.fail('ASSET_CONFLICT',
      format('asset %s already exists with scale %s; its scale cannot change', p_code, s.scale), 'scale');
  END IF;
  INSERT INTO ledger.accounts (id, tenant_id, asset_code, type)
  SELECT gen_random_uuid(), p_tenant, p_code, t
  FROM unnest(ARRAY['cash_clearing', 'revenue', 'cost_of_revenue', 'payables', 'promotions', 'opening_balances']) t
  ON CONFLICT (tenant_id, asset_code, type) WHERE type NOT IN ('wallet', 'grant') DO NOTHING;
  RETURN jsonb_build_object('tenant_id', s.tenant_id, 'code', s.code, 'scale', s.scale, 'created_at', s.created_at);
END $$`;

/**
 * Opens a grant account inside a wallet account, idempotent on (tenant, key). Also creates the
 * asset's grant contra and breakage accounts when the asset predates grants. Returns the grant's
 * account id; the caller reads it back with its balances.
 */
const OPEN_GRANT = `
CREATE FUNCTION ledger.open_grant(p jsonb) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  v_tenant text := p->>'tenant_id';
  v_id uuid := gen_random_uuid();
  v_wallet ledger.accounts;
BEGIN
  IF NOT ledger.claim_key(v_tenant, p->>'idempotency_key', 'open_grant', p->>'request_hash', v_id) THEN
    RETURN ledger.replayed_result(v_tenant, p->>'idempotency_key', 'open_grant', p->>'request_hash');
  END IF;
  SELECT * INTO v_wallet FROM ledger.accounts
   WHERE tenant_id = v_tenant AND id = (p->>'wallet_account_id')::uuid;
  IF NOT FOUND OR v_wallet.type <> 'wallet' THEN
    PERFORM ledger.fail('ACCOUNT_NOT_FOUND',
      format('wallet_account_id: wallet account %s does not exist', p->>'wallet_account_id'), 'wallet_account_id');
  END IF;
  INSERT INTO ledger.accounts (id, tenant_id, asset_code, type)
  SELECT gen_random_uuid(), v_tenant, v_wallet.asset_code, t FROM unnest(ARRAY['grant_contra', 'breakage']) t
  ON CONFLICT (tenant_id, asset_code, type) WHERE type NOT IN ('wallet', 'grant') DO NOTHING;
  INSERT INTO ledger.accounts (id, tenant_id, asset_code, type, external_ref)
  VALUES (v_id, v_tenant, v_wallet.asset_code, 'grant', v_wallet.id::text);
  INSERT INTO ledger.grants (account_id, tenant_id, wallet_account_id, asset_code, category, priority, effective_at,
                             expires_at, product_codes, source, source_ref)
  VALUES (v_id, v_tenant, v_wallet.id, v_wallet.asset_code, p->>'category', (p->>'priority')::int,
          coalesce((p->>'effective_at')::timestamptz, clock_timestamp()), (p->>'expires_at')::timestamptz,
          ARRAY(SELECT jsonb_array_elements_text(coalesce(p->'product_codes', '[]'))), p->>'source',
          coalesce(p->>'source_ref', ''));
  RETURN v_id;
END $$`;
