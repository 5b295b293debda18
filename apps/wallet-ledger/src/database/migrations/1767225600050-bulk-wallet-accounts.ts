import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bulk opening of wallet accounts for a data migration (apps/migrator). Reviewed SQL; never edit
 * once committed. Opening moves no money, so it may be set-based: one statement inserts a page of
 * accounts with ids the caller derived from its own stable keys, and the outbox rows that announce
 * them. Money still moves only through the posting functions (the opening balances are postings).
 *
 * Guards:
 * - every named asset exists for the tenant (ASSET_NOT_FOUND otherwise);
 * - an id that already exists is not opened again (a repeated page after a crash is a no-op), but it
 *   must be this tenant's wallet account in the same asset, else the whole page is refused: a
 *   derived id can never point a migrated wallet at someone else's account;
 * - each newly opened account gets exactly one account.opened outbox row (same statement).
 */
export class BulkWalletAccounts1767225600050 implements MigrationInterface {
  name = 'BulkWalletAccounts1767225600050';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
CREATE FUNCTION ledger.open_wallet_accounts(p_tenant text, p_accounts jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_missing text;
  v_foreign uuid;
  v_opened integer;
BEGIN
  SELECT min(a->>'asset_code') INTO v_missing
    FROM jsonb_array_elements(p_accounts) a
   WHERE NOT EXISTS (SELECT 1 FROM ledger.assets s WHERE s.tenant_id = p_tenant AND s.code = a->>'asset_code');
  IF v_missing IS NOT NULL THEN
    PERFORM ledger.fail('ASSET_NOT_FOUND', format('asset_code: %s is not defined for this tenant', v_missing),
                        'asset_code');
  END IF;

  WITH opened AS (
    INSERT INTO ledger.accounts (id, tenant_id, asset_code, type, overdraft_limit, external_ref, metadata)
    SELECT (a->>'account_id')::uuid, p_tenant, a->>'asset_code', 'wallet',
           coalesce((a->>'overdraft_limit')::bigint, 0), nullif(a->>'external_ref', ''), coalesce(a->'metadata', '{}')
      FROM jsonb_array_elements(p_accounts) WITH ORDINALITY AS t(a, n)
     ORDER BY n
    ON CONFLICT (id) DO NOTHING
    RETURNING id)
  INSERT INTO ledger.outbox (tenant_id, event_type, account_id)
  SELECT p_tenant, 'account.opened', id FROM opened;
  GET DIAGNOSTICS v_opened = ROW_COUNT;

  SELECT x.id INTO v_foreign
    FROM jsonb_array_elements(p_accounts) a
    JOIN ledger.accounts x ON x.id = (a->>'account_id')::uuid
   WHERE x.tenant_id <> p_tenant OR x.asset_code <> a->>'asset_code' OR x.type <> 'wallet'
   LIMIT 1;
  IF v_foreign IS NOT NULL THEN
    PERFORM ledger.fail('INVALID_ARGUMENT',
      format('account_id: %s already exists as another tenant''s, asset''s or type''s account', v_foreign),
      'account_id');
  END IF;
  RETURN v_opened;
END $$`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP FUNCTION ledger.open_wallet_accounts(text, jsonb)`);
  }
}
