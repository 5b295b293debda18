import { createHash } from 'node:crypto';
import { CURRENCY_SCALES } from '@saldo/ledger-domain';
import { z } from 'zod';
import {
  LEGACY_MODELS,
  type LegacyModel,
  type LegacyWalletRecord,
  type WalletBalanceAt,
} from './legacy-source';

/** A table or column name of the legacy schema: plain identifiers only (they go into SQL quoted). */
const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*)');
const tableName = z
  .string()
  .regex(
    /^([A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$/,
    'must be a table name, optionally schema-qualified',
  );

/**
 * How a legacy schema reads as Saldo wallets (`wallets` and `changes` name the PostgreSQL source's
 * tables; a CSV export has fixed columns and needs only the rest): which table and columns hold what, how its model
 * values translate, and the unit of its amounts. Validated before anything connects; an error names
 * the field.
 */
export const mappingSchema = z.object({
  wallets: z
    .object({
      table: tableName,
      id: identifier,
      owner: identifier,
      currency: identifier,
      model: identifier,
      parent: identifier.optional(),
      overdraft: identifier.optional(),
    })
    .optional(),
  changes: z
    .object({
      table: tableName,
      id: identifier,
      wallet: identifier,
      kind: identifier,
      amount: identifier,
      balanceAfter: identifier,
      at: identifier,
      counterparty: identifier.optional(),
      /** The kind of the change that opens a wallet (a wallet whose opening is after a cursor did not exist then). */
      openKind: z.string().min(1).max(32).default('OPEN'),
    })
    .optional(),
  /** Legacy model value → Saldo model. */
  models: z.record(z.string().min(1).max(64), z.enum(LEGACY_MODELS as [LegacyModel, ...LegacyModel[]])),
  /** Legacy currency code → Saldo's, where they differ (e.g. "RP" → "IDR"). */
  currencies: z.record(z.string().min(1).max(16), z.string().min(1).max(16)).default({}),
  /** The SQL type of the legacy wallet id (both tables), so lookups use the legacy indexes. */
  idType: z.enum(['bigint', 'integer', 'text', 'uuid']).default('text'),
  /** Legacy amounts are integers of 10^-amountScale major units (4: 1.0000 USD is 10000). */
  amountScale: z.number().int().min(0).max(18),
  /** Optional: the legacy write-freeze flag (a boolean column of a one-row table). */
  freeze: z.object({ table: tableName, column: identifier }).optional(),
});

export type Mapping = z.infer<typeof mappingSchema>;

export class MappingError extends Error {}

export function parseMapping(raw: unknown, where: string): Mapping {
  const parsed = mappingSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MappingError(`${where}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export type OwnerType = 'personal' | 'enterprise' | 'reseller';
export type WalletRole = 'standalone' | 'member' | 'client';

/** A legacy wallet as Saldo will hold it. Ids are derived from (tenant, legacy id): a rerun finds the same. */
export interface MappedWallet {
  readonly legacyId: string;
  readonly model: LegacyModel;
  readonly walletId: string;
  /** Null for an enterprise member: it spends its organisation's account. */
  readonly accountId: string | null;
  readonly ownerType: OwnerType;
  readonly ownerId: string;
  readonly currency: string;
  readonly scale: number;
  readonly role: WalletRole;
  readonly parentLegacyId: string | null;
  readonly parentWalletId: string | null;
  readonly overdraftMinor: bigint;
  /** Balance at the import cursor, in Saldo minor units (may be negative within the overdraft). */
  readonly balanceMinor: bigint;
}

export interface UnmappableWallet {
  readonly legacyId: string;
  /** A short code to count by (e.g. unknown_model), and the full reason. */
  readonly kind: string;
  readonly reason: string;
}

const SHAPE: Readonly<Record<LegacyModel, { ownerType: OwnerType; role: WalletRole }>> = {
  personal: { ownerType: 'personal', role: 'standalone' },
  enterprise: { ownerType: 'enterprise', role: 'standalone' },
  enterprise_member: { ownerType: 'personal', role: 'member' },
  reseller: { ownerType: 'reseller', role: 'standalone' },
  reseller_client: { ownerType: 'personal', role: 'client' },
};

/** The parent model each child model needs. */
const PARENT_OF: Partial<Record<LegacyModel, LegacyModel>> = {
  enterprise_member: 'enterprise',
  reseller_client: 'reseller',
};

export const isChildModel = (model: LegacyModel): boolean => PARENT_OF[model] !== undefined;

/** A stable UUID (version-5 layout over SHA-256) for one legacy object of a tenant. */
export function derivedUuid(kind: 'wallet' | 'account', tenant: string, legacyId: string): string {
  const bytes = createHash('sha256').update(`saldo-migrator:${kind}:${tenant}:${legacyId}`).digest();
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Legacy units (10^-amountScale of a major unit, as a decimal string) to Saldo minor units of a
 * currency of `scale`. Exact or refused: a value finer than the currency's minor unit is reported,
 * never rounded.
 */
export function toMinor(raw: string, amountScale: number, scale: number): bigint | string {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(raw.trim());
  if (!match) return `amount "${raw}" is not a decimal number`;
  const [, sign, whole, fraction = ''] = match;
  if (/[^0]/.test(fraction)) return `amount "${raw}" is not a whole number of legacy units`;
  let units = BigInt(whole as string);
  if (sign === '-') units = -units;
  if (amountScale <= scale) return units * 10n ** BigInt(scale - amountScale);
  const divisor = 10n ** BigInt(amountScale - scale);
  if (units % divisor !== 0n)
    return `amount ${raw} (10^-${amountScale} units) is finer than the currency's ${scale} decimal(s)`;
  return units / divisor;
}

/**
 * Maps one legacy wallet, or says why it cannot be. `parentMapped` tells whether the parent was
 * mapped (as the model the child needs); children of an unmapped parent are unmappable too.
 */
export function mapWallet(
  tenant: string,
  mapping: Mapping,
  record: LegacyWalletRecord,
  balance: WalletBalanceAt,
  parentModel: (legacyId: string) => LegacyModel | undefined,
): MappedWallet | UnmappableWallet {
  const fail = (kind: string, reason: string): UnmappableWallet => ({ legacyId: record.id, kind, reason });
  const model = Object.hasOwn(mapping.models, record.model) ? mapping.models[record.model] : undefined;
  if (!model) return fail('unknown_model', `model "${record.model}" is not in the mapping`);
  const currency = mapping.currencies[record.currency] ?? record.currency;
  const scale = Object.hasOwn(CURRENCY_SCALES, currency) ? CURRENCY_SCALES[currency] : undefined;
  if (scale === undefined)
    return fail('unsupported_currency', `currency "${record.currency}" is not supported by Saldo`);
  const owner = record.owner.trim();
  if (owner.length < 1 || owner.length > 128)
    return fail('bad_owner', 'owner is empty or longer than 128 characters');
  const balanceMinor = toMinor(balance.balance, mapping.amountScale, scale);
  if (typeof balanceMinor === 'string') return fail('bad_balance', `balance: ${balanceMinor}`);
  const overdraftMinor = toMinor(record.overdraft || '0', mapping.amountScale, scale);
  if (typeof overdraftMinor === 'string') return fail('bad_overdraft', `overdraft: ${overdraftMinor}`);
  if (overdraftMinor < 0n) return fail('bad_overdraft', 'overdraft is negative');
  const shape = SHAPE[model];
  const needsParent = PARENT_OF[model];
  let parentWalletId: string | null = null;
  if (needsParent) {
    if (!record.parentId) return fail('missing_parent', `a ${model} needs a parent ${needsParent} wallet`);
    const parent = parentModel(record.parentId);
    if (parent !== needsParent)
      return fail(
        'bad_parent',
        parent
          ? `parent ${record.parentId} is a ${parent}, not a ${needsParent}`
          : `parent ${record.parentId} is missing or unmappable`,
      );
    parentWalletId = derivedUuid('wallet', tenant, record.parentId);
  } else if (record.parentId) {
    return fail('unexpected_parent', `a ${model} wallet has no parent in Saldo (parent ${record.parentId})`);
  }
  if (shape.role === 'member' && (balanceMinor !== 0n || overdraftMinor !== 0n))
    return fail(
      'member_with_balance',
      "an enterprise member holds a balance or overdraft; Saldo's members spend the organisation's",
    );
  if (balanceMinor < -overdraftMinor) return fail('below_overdraft', 'balance is below the overdraft limit');
  return {
    legacyId: record.id,
    model,
    walletId: derivedUuid('wallet', tenant, record.id),
    accountId: shape.role === 'member' ? null : derivedUuid('account', tenant, record.id),
    ownerType: shape.ownerType,
    ownerId: owner,
    currency,
    scale,
    role: shape.role,
    parentLegacyId: needsParent ? record.parentId : null,
    parentWalletId,
    overdraftMinor,
    balanceMinor,
  };
}

export const isMapped = (w: MappedWallet | UnmappableWallet): w is MappedWallet => 'walletId' in w;
