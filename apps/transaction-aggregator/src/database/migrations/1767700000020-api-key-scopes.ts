import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scoped API keys (issue 11 #8): each key carries scopes and an optional expiry. Existing keys keep
 * today's rights (wallets:read, wallets:write) except erp:resolve, which is granted explicitly
 * (erp-sync's key: `npm start`, or `api-keys create --scope erp:resolve`).
 */
export class ApiKeyScopes1767700000020 implements MigrationInterface {
  name = 'ApiKeyScopes1767700000020';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE aggregator.api_keys
        ADD COLUMN scopes text[] NOT NULL DEFAULT ARRAY['wallets:read', 'wallets:write']::text[],
        ADD COLUMN expires_at timestamptz,
        ADD CONSTRAINT api_keys_scopes_known
          CHECK (cardinality(scopes) >= 1 AND scopes <@ ARRAY['wallets:read', 'wallets:write', 'erp:resolve']::text[])`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE aggregator.api_keys DROP CONSTRAINT api_keys_scopes_known,
        DROP COLUMN expires_at, DROP COLUMN scopes`);
  }
}
