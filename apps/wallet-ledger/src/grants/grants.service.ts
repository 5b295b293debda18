import { fromTimestamp, toTimestamp } from '@saldo/grpc-kit';
import {
  DEFAULT_GRANT_PRIORITY,
  GRANT_CATEGORIES,
  LedgerError,
  requestFingerprint,
  requireId,
  requireIdempotencyKey,
  requireTenant,
  type TenantId,
} from '@saldo/ledger-domain';
import { ledgerV1 } from '@saldo/proto';
import type { DataSource } from 'typeorm';
import { toLedgerError } from '../ledger/ledger.repository';
import type { LedgerService } from '../ledger/ledger.service';

export const GRANT_SOURCES = [
  'top_up',
  'transfer',
  'promotion',
  'subscription',
  'erp_document',
  'migration',
  'opening',
] as const;

/** The action of an expiry posting: the one debit allowed on a grant after it expired. */
export const GRANT_EXPIRY_ACTION = 'GRANT_EXPIRY';
const MAX_PRODUCT_CODES = 100;
const A = ledgerV1.AccountType;
const S = ledgerV1.EntrySide;

interface GrantRow {
  account_id: string;
  tenant_id: string;
  wallet_account_id: string;
  asset_code: string;
  category: string;
  priority: number;
  effective_at: Date;
  expires_at: Date | null;
  product_codes: string[];
  source: string;
  source_ref: string;
  created_at: Date;
  version: string;
  granted: string;
  returned: string;
  expired: string;
  debits_posted: string;
  credits_posted: string;
  debits_pending: string;
}

/**
 * One grant's figures from its account and its entries: what was granted (credits other than
 * reversals), given back by reversals, expired (debits of expiry postings) and held.
 */
const GRANT_SELECT = `
  SELECT g.account_id, g.tenant_id, g.wallet_account_id, g.asset_code, g.category, g.priority, g.effective_at,
         g.expires_at, g.product_codes, g.source, g.source_ref, g.created_at, a.version::text AS version,
         a.debits_posted::text AS debits_posted, a.credits_posted::text AS credits_posted,
         a.debits_pending::text AS debits_pending, f.granted::text AS granted, f.returned::text AS returned,
         f.expired::text AS expired
    FROM ledger.grants g JOIN ledger.accounts a ON a.id = g.account_id
    CROSS JOIN LATERAL (
      SELECT coalesce(sum(e.amount) FILTER (WHERE e.side = 'credit' AND t.kind <> 'reversal'), 0) AS granted,
             coalesce(sum(e.amount) FILTER (WHERE e.side = 'credit' AND t.kind = 'reversal'), 0) AS returned,
             coalesce(sum(e.amount) FILTER (WHERE e.side = 'debit' AND t.action = '${GRANT_EXPIRY_ACTION}'), 0) AS expired
        FROM ledger.entries e JOIN ledger.transactions t ON t.id = e.transaction_id
       WHERE e.account_id = g.account_id AND e.phase = 'posted') f`;

function grantToWire(row: GrantRow): ledgerV1.Grant {
  const debitsPosted = BigInt(row.debits_posted);
  const expired = BigInt(row.expired);
  const returned = BigInt(row.returned);
  const held = BigInt(row.debits_pending);
  return {
    grantId: row.account_id,
    tenantId: row.tenant_id,
    walletAccountId: row.wallet_account_id,
    assetCode: row.asset_code,
    category: row.category,
    priority: row.priority,
    effectiveAt: toTimestamp(row.effective_at),
    expiresAt: toTimestamp(row.expires_at),
    productCodes: row.product_codes,
    source: row.source,
    sourceRef: row.source_ref,
    grantedAmount: row.granted,
    remainingAmount: (BigInt(row.credits_posted) - debitsPosted - held).toString(),
    heldAmount: held.toString(),
    consumedAmount: (debitsPosted - expired - returned).toString(),
    expiredAmount: expired.toString(),
    createdAt: toTimestamp(row.created_at),
    version: row.version,
  };
}

/**
 * Credit grants in the ledger (docs/grants.md): opening a grant account inside a wallet account,
 * reading grants with their figures, and expiring what is left of a grant past its expiry.
 * Consumption itself is ordinary legs on grant accounts, posted by LedgerService like any other.
 */
export class GrantsService {
  constructor(
    private readonly db: DataSource,
    private readonly ledger: LedgerService,
  ) {}

  async openGrant(request: ledgerV1.OpenGrantRequest): Promise<ledgerV1.Grant> {
    const tenant = requireTenant(request.tenantId);
    const key = requireIdempotencyKey(request.idempotencyKey);
    const command = {
      wallet_account_id: requireId(request.walletAccountId, 'wallet_account_id'),
      category: oneOf(request.category || 'paid', GRANT_CATEGORIES, 'category'),
      priority: priorityOf(request.priority),
      effective_at: fromTimestamp(request.effectiveAt)?.toISOString() ?? null,
      expires_at: fromTimestamp(request.expiresAt)?.toISOString() ?? null,
      product_codes: productCodesOf(request.productCodes),
      source: oneOf(request.source || 'top_up', GRANT_SOURCES, 'source'),
      source_ref: textOf(request.sourceRef, 'source_ref', 256),
    };
    if (command.expires_at && command.expires_at <= (command.effective_at ?? new Date().toISOString()))
      throw LedgerError.invalid('expires_at', 'must be after effective_at (or now)');
    const [{ id }] = await this.query<{ id: string }>(`SELECT ledger.open_grant($1::jsonb) AS id`, [
      JSON.stringify({
        ...command,
        tenant_id: tenant,
        idempotency_key: key,
        request_hash: requestFingerprint('open_grant', command),
      }),
    ]);
    const [row] = await this.query<GrantRow>(`${GRANT_SELECT} WHERE g.account_id = $1`, [id]);
    return grantToWire(row as GrantRow);
  }

  async listGrants(request: ledgerV1.ListGrantsRequest): Promise<ledgerV1.ListGrantsResponse> {
    const tenant = requireTenant(request.tenantId);
    const wallet = requireId(request.walletAccountId, 'wallet_account_id');
    const rows = await this.query<GrantRow>(
      `${GRANT_SELECT} WHERE g.tenant_id = $1 AND g.wallet_account_id = $2
         AND ($3 OR a.credits_posted - a.debits_posted > 0 OR a.debits_pending > 0)
       ORDER BY g.created_at, g.account_id`,
      [tenant, wallet, request.includeClosed],
    );
    // A grant whose funding posting was refused holds nothing and never did: not a grant.
    return { grants: rows.filter((row) => row.credits_posted !== '0').map(grantToWire) };
  }

  /**
   * Moves what is left of each expired grant to breakage, once per remainder: the key names the
   * grant's version, so concurrent sweepers replay one posting, and a reversal that later gives
   * back to an expired grant changes the version and is expired in turn.
   */
  async expireGrants(limit: number): Promise<{ expired: number; skipped: number }> {
    const due = await this.query<{
      tenant_id: TenantId;
      account_id: string;
      wallet_account_id: string;
      asset_code: string;
      version: string;
      remaining: string;
    }>(
      `SELECT g.tenant_id, g.account_id, g.wallet_account_id, g.asset_code, a.version::text AS version,
              (a.credits_posted - a.debits_posted - a.debits_pending)::text AS remaining
         FROM ledger.grants g JOIN ledger.accounts a ON a.id = g.account_id
        WHERE g.expires_at <= clock_timestamp() AND a.credits_posted - a.debits_posted - a.debits_pending > 0
        ORDER BY g.expires_at LIMIT $1`,
      [limit],
    );
    let expired = 0;
    let skipped = 0;
    for (const grant of due) {
      try {
        const tx = await this.ledger.postTransaction({
          tenantId: grant.tenant_id,
          idempotencyKey: `saldo:grant-expiry:${grant.account_id}:${grant.version}`,
          assetCode: grant.asset_code,
          legs: [
            {
              accountId: grant.account_id,
              systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
              side: S.ENTRY_SIDE_DEBIT,
              amount: grant.remaining,
            },
            {
              accountId: '',
              systemAccount: A.ACCOUNT_TYPE_GRANT_CONTRA,
              side: S.ENTRY_SIDE_CREDIT,
              amount: grant.remaining,
            },
            {
              accountId: grant.wallet_account_id,
              systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
              side: S.ENTRY_SIDE_DEBIT,
              amount: grant.remaining,
            },
            {
              accountId: '',
              systemAccount: A.ACCOUNT_TYPE_BREAKAGE,
              side: S.ENTRY_SIDE_CREDIT,
              amount: grant.remaining,
            },
          ],
          pending: false,
          timeoutSeconds: 0,
          action: GRANT_EXPIRY_ACTION,
          references: { grant_id: grant.account_id, wallet_account_id: grant.wallet_account_id },
          metadata: {},
          shadowDocumentId: '',
        });
        if (tx.replayed) skipped += 1;
        else expired += 1;
      } catch (error) {
        // Spent or held in the meantime (the remainder changed): the next pass sees the new one.
        if (error instanceof LedgerError && error.code === 'INSUFFICIENT_FUNDS') skipped += 1;
        else throw error;
      }
    }
    return { expired, skipped };
  }

  private async query<T>(sql: string, params: unknown[]): Promise<T[]> {
    try {
      return (await this.db.query(sql, params)) as T[];
    } catch (error) {
      throw toLedgerError(error);
    }
  }
}

function oneOf<T extends string>(value: string, allowed: readonly T[], field: string): T {
  if (!(allowed as readonly string[]).includes(value))
    throw LedgerError.invalid(field, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

function priorityOf(value: number): number {
  if (value === 0) return DEFAULT_GRANT_PRIORITY;
  if (!Number.isInteger(value) || value < 0 || value > 1000)
    throw LedgerError.invalid('priority', 'must be an integer from 1 to 1000 (0: the default, 50)');
  return value;
}

function textOf(value: string, field: string, max: number): string {
  if (value.length > max) throw LedgerError.invalid(field, `must be at most ${max} characters`);
  if ([...value].some((char) => char.charCodeAt(0) < 0x20))
    throw LedgerError.invalid(field, 'must not contain control characters');
  return value;
}

function productCodesOf(codes: string[]): string[] {
  if (codes.length > MAX_PRODUCT_CODES)
    throw LedgerError.invalid('product_codes', `at most ${MAX_PRODUCT_CODES} codes`);
  codes.forEach((code, i) => {
    if (!/^[A-Za-z0-9._:-]{1,64}$/.test(code))
      throw LedgerError.invalid(`product_codes[${i}]`, 'must be 1 to 64 letters, digits or . _ : -');
  });
  return [...new Set(codes)].sort();
}
