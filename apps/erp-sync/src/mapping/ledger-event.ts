import { z } from 'zod';

/**
 * The part of `saldo.events.v1.LedgerEvent` (proto3 JSON, docs/events.md) that erp-sync reads,
 * checked on arrival: a body that does not match is refused to the dead letters, never guessed at.
 * Proto3 JSON omits default values, hence the defaults.
 */
const int = z.string().regex(/^-?[0-9]{1,20}$/, 'expected an integer string');
const walletSchema = z.object({
  walletId: z.string().min(1),
  accountId: z.string().default(''),
  ownerType: z.string().default('WALLET_OWNER_TYPE_UNSPECIFIED'),
  ownerId: z.string().default(''),
  currency: z.string().min(1),
  assetScale: z.number().int().min(0).max(18).default(0),
  postedBalance: int.default('0'),
  availableBalance: int.default('0'),
  pendingDebits: int.default('0'),
  version: z
    .union([int, z.number().int()])
    .default('0')
    .transform((v) => BigInt(v)),
  parentOwnerId: z.string().default(''),
});
const entrySchema = z.object({
  accountId: z.string().min(1),
  accountType: z.string().min(1),
  walletId: z.string().default(''),
  side: z.enum(['ENTRY_SIDE_DEBIT', 'ENTRY_SIDE_CREDIT']),
  phase: z.enum(['ENTRY_PHASE_POSTED', 'ENTRY_PHASE_PENDING', 'ENTRY_PHASE_RELEASE']),
  amount: z.string().regex(/^[1-9][0-9]{0,18}$/),
});
export const ledgerEventSchema = z.object({
  eventId: z.string().min(1).max(64),
  tenantId: z.string().min(1).max(128),
  type: z.string().min(1),
  occurredAt: z.string().min(1),
  orderingKey: z.string().default(''),
  part: z.number().int().default(0),
  parts: z.number().int().default(0),
  wallet: walletSchema.optional(),
  wallets: z.array(walletSchema).default([]),
  transaction: z
    .object({
      transactionId: z.string().min(1),
      kind: z.string().min(1),
      action: z.string().default(''),
      assetCode: z.string().min(1),
      assetScale: z.number().int().min(0).max(18).default(0),
      entries: z.array(entrySchema).min(2),
      references: z.record(z.string(), z.string()).default({}),
      pendingTransactionId: z.string().default(''),
      reversesTransactionId: z.string().default(''),
      createdAt: z.string().min(1),
    })
    .optional(),
  businessAction: z
    .object({
      action: z.string().default(''),
      productCode: z.string().default(''),
      costAmount: z.string().default(''),
      revenueAmount: z.string().default(''),
      counterpartWalletIds: z.array(z.string()).default([]),
      reference: z.string().default(''),
    })
    .optional(),
});

export type LedgerEventBody = z.infer<typeof ledgerEventSchema>;
export type WalletStateBody = z.infer<typeof walletSchema>;

export class EventFormatError extends Error {}

export function parseLedgerEvent(data: Buffer | string): LedgerEventBody {
  let json: unknown;
  try {
    json = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch (error) {
    throw new EventFormatError(`body is not JSON: ${(error as Error).message}`);
  }
  const result = ledgerEventSchema.safeParse(json);
  if (!result.success) {
    throw new EventFormatError(
      result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    );
  }
  return result.data;
}
