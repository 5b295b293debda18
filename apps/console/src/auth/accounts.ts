import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { hashPassword, verifyPassword } from './passwords';
import { isRole, type Operator, type Role } from './roles';

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const EMAIL = /^[^@\s]+@[^@\s]+$/;
export const SESSION_COOKIE = 'saldo_console_session';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

export interface NewUser {
  email: string;
  password: string;
  tenants: ReadonlyArray<{ tenantId: string; role: Role }>;
}

/** Operator accounts, their tenant roles and their sessions (schema `console`). */
export class Accounts {
  constructor(
    private readonly db: DataSource,
    private readonly sessionTtlMin: number,
  ) {}

  /** Creates a user, or (same e-mail) sets a new password and adds/changes the listed tenant roles. */
  async upsertUser(user: NewUser): Promise<{ id: string; created: boolean }> {
    const email = user.email.trim().toLowerCase();
    if (!EMAIL.test(email)) throw new Error(`"${user.email}" is not an e-mail address`);
    if (user.tenants.length === 0) throw new Error('a user needs at least one tenant');
    for (const { tenantId, role } of user.tenants) {
      if (!TENANT_ID.test(tenantId)) throw new Error(`"${tenantId}" is not a tenant id`);
      if (!isRole(role)) throw new Error(`"${String(role)}" is not a role (viewer, operator, admin)`);
    }
    const hash = await hashPassword(user.password);
    return this.db.transaction(async (tx) => {
      const rows: Array<{ id: string; created: boolean }> = await tx.query(
        `INSERT INTO console.users (id, email, password_hash) VALUES ($1, $2, $3)
         ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, disabled_at = NULL
         RETURNING id, (xmax = 0) AS created`,
        [randomUUID(), email, hash],
      );
      const row = rows[0]!;
      for (const { tenantId, role } of user.tenants)
        await tx.query(
          `INSERT INTO console.user_tenants (user_id, tenant_id, role) VALUES ($1, $2, $3)
           ON CONFLICT (user_id, tenant_id) DO UPDATE SET role = EXCLUDED.role`,
          [row.id, tenantId, role],
        );
      return row;
    });
  }

  /** The user for these credentials, or null (unknown e-mail, wrong password, disabled). */
  async authenticate(email: string, password: string): Promise<{ id: string; email: string } | null> {
    const rows: Array<{ id: string; email: string; password_hash: string }> = await this.db.query(
      `SELECT id, email, password_hash FROM console.users WHERE email = $1 AND disabled_at IS NULL`,
      [email.trim().toLowerCase()],
    );
    const user = rows[0];
    const ok = await verifyPassword(user?.password_hash, password);
    return ok && user ? { id: user.id, email: user.email } : null;
  }

  /** A new session: the cookie's token (only its hash is stored) and its CSRF token. */
  async openSession(userId: string): Promise<{ token: string; csrfToken: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const rows: Array<{ expires_at: Date }> = await this.db.query(
      `INSERT INTO console.sessions (token_hash, user_id, csrf_token, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(mins => $4)) RETURNING expires_at`,
      [sha256(token), userId, csrfToken, this.sessionTtlMin],
    );
    // Expired sessions of anyone go now and then, bounded.
    await this.db.query(
      `DELETE FROM console.sessions WHERE token_hash IN
         (SELECT token_hash FROM console.sessions WHERE expires_at < now() LIMIT 100)`,
    );
    return { token, csrfToken, expiresAt: rows[0]!.expires_at };
  }

  /** The signed-in operator of a cookie token, or null when unknown, expired or disabled. */
  async operatorOf(token: string): Promise<Operator | null> {
    const rows: Array<{
      user_id: string;
      email: string;
      csrf_token: string;
      tenant_id: string | null;
      role: string | null;
    }> = await this.db.query(
      `SELECT s.user_id, u.email, s.csrf_token, t.tenant_id, t.role
           FROM console.sessions s
           JOIN console.users u ON u.id = s.user_id AND u.disabled_at IS NULL
           LEFT JOIN console.user_tenants t ON t.user_id = s.user_id
          WHERE s.token_hash = $1 AND s.expires_at > now()
          ORDER BY t.tenant_id`,
      [sha256(token)],
    );
    const first = rows[0];
    if (!first) return null;
    const tenants = new Map<string, Role>();
    for (const row of rows) if (row.tenant_id && isRole(row.role)) tenants.set(row.tenant_id, row.role);
    return { userId: first.user_id, email: first.email, csrfToken: first.csrf_token, tenants };
  }

  async closeSession(token: string): Promise<void> {
    await this.db.query(`DELETE FROM console.sessions WHERE token_hash = $1`, [sha256(token)]);
  }

  /** Sets an existing user's role on a tenant (null: removes the tenant); false when no such user. */
  async setRole(email: string, tenantId: string, role: Role | null): Promise<boolean> {
    const rows: Array<{ id: string }> = await this.db.query(`SELECT id FROM console.users WHERE email = $1`, [
      email.trim().toLowerCase(),
    ]);
    const user = rows[0];
    if (!user) return false;
    if (role === null)
      await this.db.query(`DELETE FROM console.user_tenants WHERE user_id = $1 AND tenant_id = $2`, [
        user.id,
        tenantId,
      ]);
    else
      await this.db.query(
        `INSERT INTO console.user_tenants (user_id, tenant_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, tenant_id) DO UPDATE SET role = EXCLUDED.role`,
        [user.id, tenantId, role],
      );
    return true;
  }

  async userExists(email: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query(`SELECT 1 FROM console.users WHERE email = $1`, [
      email.trim().toLowerCase(),
    ]);
    return rows.length > 0;
  }

  async listUsers(tenantId: string): Promise<Array<{ email: string; role: Role; createdAt: Date }>> {
    const rows: Array<{ email: string; role: Role; created_at: Date }> = await this.db.query(
      `SELECT u.email, t.role, u.created_at FROM console.user_tenants t JOIN console.users u ON u.id = t.user_id
        WHERE t.tenant_id = $1 AND u.disabled_at IS NULL ORDER BY u.email`,
      [tenantId],
    );
    return rows.map((r) => ({ email: r.email, role: r.role, createdAt: r.created_at }));
  }
}
