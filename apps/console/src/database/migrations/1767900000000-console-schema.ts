import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The Console's own schema: operator accounts, their roles per tenant, sessions, and the audit log
 * of every change made through the Console.
 */
export class ConsoleSchema1767900000000 implements MigrationInterface {
  name = 'ConsoleSchema1767900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE SCHEMA IF NOT EXISTS console`);
    // password_hash: argon2id in PHC string form ($argon2id$v=19$...), never the password.
    await db.query(`
      CREATE TABLE console.users (
        id            uuid PRIMARY KEY,
        email         text NOT NULL CHECK (email = lower(email) AND email ~ '^[^@\\s]+@[^@\\s]+$' AND length(email) <= 254),
        password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
        created_at    timestamptz NOT NULL DEFAULT now(),
        disabled_at   timestamptz
      )`);
    await db.query(`CREATE UNIQUE INDEX users_email ON console.users (email)`);
    // A user sees only the tenants listed here, each with one role.
    await db.query(`
      CREATE TABLE console.user_tenants (
        user_id   uuid NOT NULL REFERENCES console.users (id) ON DELETE CASCADE,
        tenant_id text NOT NULL CHECK (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
        role      text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        PRIMARY KEY (user_id, tenant_id)
      )`);
    // token_hash: SHA-256 of the cookie's random token (a leaked table opens no session).
    // csrf_token: the synchronizer token every state-changing request must echo in X-CSRF-Token.
    await db.query(`
      CREATE TABLE console.sessions (
        token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
        user_id    uuid NOT NULL REFERENCES console.users (id) ON DELETE CASCADE,
        csrf_token text NOT NULL CHECK (length(csrf_token) >= 32),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL CHECK (expires_at > created_at)
      )`);
    await db.query(`CREATE INDEX sessions_by_expiry ON console.sessions (expires_at)`);
    // Every change made through the Console (and every sign-in), append-only.
    await db.query(`
      CREATE TABLE console.audit_log (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at         timestamptz NOT NULL DEFAULT now(),
        user_id    uuid,
        user_email text NOT NULL,
        tenant_id  text,
        action     text NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
        target     text NOT NULL DEFAULT '',
        outcome    text NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
        detail     jsonb NOT NULL DEFAULT '{}'
      )`);
    await db.query(`CREATE INDEX audit_log_by_tenant ON console.audit_log (tenant_id, id DESC)`);
    await db.query(`
      CREATE FUNCTION console.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'console.audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`
      CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON console.audit_log
        FOR EACH ROW EXECUTE FUNCTION console.refuse_change()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP SCHEMA console CASCADE`);
  }
}
