import { randomUUID } from 'node:crypto';
import { LedgerError, requireTenant, type TenantId } from '@saldo/ledger-domain';
import type { DataSource } from 'typeorm';
import type { AggregatorCaches, CachedKey, CachedSigningKeys } from '../cache/aggregator-caches';
import type { BootstrapKey } from './bootstrap-keys';
import { DEFAULT_SCOPES, type ApiKeyScope } from './scopes';
import { generateApiKey, hashApiKey, keyHint, signatureMatches, type KeyCipher } from './key-crypto';

export interface ApiKeyInfo {
  id: string;
  tenant_id: string;
  key_hint: string;
  source: 'env' | 'cli';
  scopes: ApiKeyScope[];
  expires_at: string | null;
  created_at: string;
  revoked_at: string | null;
}

/** What a call may do with the key it presented. */
export interface KeyGrant {
  tenant: TenantId;
  scopes: readonly ApiKeyScope[];
  expiresAt: Date | null;
}

/** At most this many active keys per tenant are tried when verifying a Pub/Sub signature. */
const MAX_ACTIVE_KEYS_PER_TENANT = 20;

/** What authentication reads of an active key (and the cache holds). */
const KEY_COLUMNS = 'id, tenant_id, scopes, expires_at';

/**
 * API keys: stored as SHA-256 for lookup, plus an AES-GCM sealed copy used only to verify the
 * HMAC signatures of Pub/Sub messages (producers sign with the key itself, so the verifier needs it).
 */
export class ApiKeyStore {
  constructor(
    private readonly db: DataSource,
    private readonly cipher: KeyCipher,
    /** In-process caches kept coherent by NOTIFY (revocation is immediate on every instance); none: read every time. */
    private readonly caches?: AggregatorCaches,
  ) {}

  /** The tenant of an active, unexpired key, or UNAUTHENTICATED. */
  async authenticate(token: string | undefined): Promise<TenantId> {
    return (await this.grantOf(token)).tenant;
  }

  /**
   * The tenant of an active, unexpired key that holds `scope` (issue 11 #8): UNAUTHENTICATED for
   * no key, an unknown, revoked or expired one; PERMISSION_DENIED for a key without the scope.
   */
  async authorize(token: string | undefined, scope: ApiKeyScope): Promise<TenantId> {
    const grant = await this.grantOf(token);
    if (!grant.scopes.includes(scope))
      throw new LedgerError(
        'PERMISSION_DENIED',
        `this API key does not have the scope ${scope} (it has ${grant.scopes.join(', ')}); create one with api-keys create --scope ${scope}`,
        { facts: { required_scope: scope } },
      );
    return grant.tenant;
  }

  /** The key's grant (cached; revocation is pushed by NOTIFY), expiry checked at use time. */
  private async grantOf(token: string | undefined): Promise<KeyGrant> {
    if (token) {
      const row = await this.activeKey(token);
      if (row && row.expires_at && row.expires_at.getTime() <= Date.now())
        throw new LedgerError(
          'UNAUTHENTICATED',
          `this API key expired at ${row.expires_at.toISOString()}; create a new one`,
        );
      if (row)
        return {
          tenant: row.tenant_id as TenantId,
          scopes: row.scopes as ApiKeyScope[],
          expiresAt: row.expires_at,
        };
    }
    throw new LedgerError('UNAUTHENTICATED', 'a valid API key is required (authorization: Bearer <api key>)');
  }

  /** The active key of a token: from the cache, else one indexed lookup (unknown tokens are not cached). */
  private activeKey(token: string): Promise<CachedKey | undefined> {
    const hash = hashApiKey(token);
    const load = async () => {
      const rows: CachedKey[] = await this.db.query(
        `SELECT ${KEY_COLUMNS} FROM aggregator.api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
        [hash],
      );
      return rows[0];
    };
    return this.caches ? this.caches.keys.get(hash.toString('base64'), load) : load();
  }

  /** Registers the keys from SALDO_API_KEYS (idempotent; a revoked key stays revoked). */
  async bootstrap(keys: readonly BootstrapKey[]): Promise<{ added: number; revokedSkipped: number }> {
    let added = 0;
    let revokedSkipped = 0;
    for (const { tenant, key, scopes } of keys) {
      const existing: Array<{ tenant_id: string; revoked_at: string | null }> = await this.db.query(
        `SELECT tenant_id, revoked_at FROM aggregator.api_keys WHERE key_hash = $1`,
        [hashApiKey(key)],
      );
      if (existing[0]) {
        if (existing[0].tenant_id !== tenant) {
          throw new LedgerError(
            'INVALID_ARGUMENT',
            `SALDO_API_KEYS: the key given to ${tenant} already belongs to another tenant`,
          );
        }
        if (existing[0].revoked_at) revokedSkipped += 1;
        // Scopes given with the key are its scopes (npm start grants erp-sync's key erp:resolve);
        // without, an operator's grants stay as they are.
        else if (scopes)
          await this.db.query(`UPDATE aggregator.api_keys SET scopes = $2 WHERE key_hash = $1`, [
            hashApiKey(key),
            scopes,
          ]);
        continue;
      }
      await this.insert(tenant, key, 'env', scopes ?? DEFAULT_SCOPES);
      added += 1;
    }
    return { added, revokedSkipped };
  }

  /** A new key for a tenant (created on first use). The key is returned once and never stored in clear. */
  async create(
    tenantRaw: string,
    options: { scopes?: readonly ApiKeyScope[]; expiresAt?: Date } = {},
  ): Promise<{
    id: string;
    tenant: TenantId;
    key: string;
    scopes: readonly ApiKeyScope[];
    expiresAt?: Date;
  }> {
    const tenant = requireTenant(tenantRaw, 'tenant');
    const key = generateApiKey();
    const scopes = options.scopes ?? DEFAULT_SCOPES;
    const id = await this.insert(tenant, key, 'cli', scopes, options.expiresAt);
    return { id, tenant, key, scopes, expiresAt: options.expiresAt };
  }

  async revoke(id: string): Promise<boolean> {
    const [, affected] = (await this.db.query(
      `UPDATE aggregator.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`,
      [id],
    )) as [unknown, number];
    return affected === 1;
  }

  list(tenant?: string): Promise<ApiKeyInfo[]> {
    return this.db.query(
      `SELECT id, tenant_id, key_hint, source, scopes, expires_at, created_at, revoked_at FROM aggregator.api_keys
        WHERE ($1::text IS NULL OR tenant_id = $1) ORDER BY tenant_id, created_at`,
      [tenant ?? null],
    );
  }

  /** True when the hex signature is the HMAC-SHA256 of body under one of the tenant's active keys. */
  async verifySignature(
    tenant: string,
    body: Buffer,
    signatureHex: string,
    timestamp?: string,
  ): Promise<boolean> {
    const signing = await this.signingKeys(tenant);
    let matched = false;
    const now = Date.now();
    for (const { key, expiresAt } of signing?.keys ?? []) {
      if (expiresAt && expiresAt.getTime() <= now) continue;
      // Every candidate is checked, so timing does not tell which key matched.
      if (signatureMatches(body, signatureHex, key, timestamp)) matched = true;
    }
    return matched;
  }

  /** A tenant's active keys, decrypted once and cached like the keys themselves. */
  private signingKeys(tenant: string): Promise<CachedSigningKeys | undefined> {
    const load = async () => {
      const rows: Array<{ id: string; key_ciphertext: Buffer; expires_at: Date | null }> =
        await this.db.query(
          // Pub/Sub actions are writes: only keys with wallets:write sign them (expiry: at use time).
          `SELECT id, key_ciphertext, expires_at FROM aggregator.api_keys WHERE tenant_id = $1 AND revoked_at IS NULL
            AND 'wallets:write' = ANY (scopes)
          ORDER BY created_at DESC LIMIT ${MAX_ACTIVE_KEYS_PER_TENANT}`,
          [tenant],
        );
      return {
        keys: rows.map((row) => ({
          id: row.id,
          key: this.cipher.decrypt(row.key_ciphertext, `${tenant}:${row.id}`),
          expiresAt: row.expires_at,
        })),
      };
    };
    return this.caches ? this.caches.signingKeys.get(tenant, load) : load();
  }

  /** Concurrent bootstraps of the same key: the first row wins, the others insert nothing. */
  private async insert(
    tenant: TenantId,
    key: string,
    source: 'env' | 'cli',
    scopes: readonly ApiKeyScope[],
    expiresAt?: Date,
  ): Promise<string> {
    const id = randomUUID();
    await this.db.query(`INSERT INTO aggregator.tenants (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [
      tenant,
    ]);
    await this.db.query(
      `INSERT INTO aggregator.api_keys (id, tenant_id, key_hash, key_ciphertext, key_hint, source, scopes, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key_hash) DO NOTHING`,
      [
        id,
        tenant,
        hashApiKey(key),
        this.cipher.encrypt(key, `${tenant}:${id}`),
        keyHint(key),
        source,
        [...scopes],
        expiresAt ?? null,
      ],
    );
    return id;
  }
}
