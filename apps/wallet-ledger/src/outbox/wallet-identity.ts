import { eventsV1 } from '@saldo/proto';

/**
 * How a ledger account names the application's wallet and its owner. The transaction-aggregator
 * records these in the account's metadata when it opens the wallet (see docs/events.md):
 *
 *   wallet_id        the application's wallet id (default: the ledger account id)
 *   owner_type       personal | enterprise | reseller (any case; default: unspecified)
 *   owner_id         the owner's id, e.g. the Firebase Auth uid of a person (default: the account id,
 *                    which no app user has, so a wallet without an owner is readable by nobody)
 *   parent_owner_id  for an enterprise member's or a reseller client's wallet: the owner id of the
 *                    enterprise or reseller (default: none)
 */
export interface WalletIdentity {
  walletId: string;
  ownerType: OwnerType;
  ownerId: string;
  parentOwnerId: string;
}

export type OwnerType = 'personal' | 'enterprise' | 'reseller' | 'unspecified';

export const WALLET_METADATA_KEYS = {
  walletId: 'wallet_id',
  ownerType: 'owner_type',
  ownerId: 'owner_id',
  parentOwnerId: 'parent_owner_id',
} as const;

const ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

export function walletIdentityOf(
  accountId: string,
  metadata: Record<string, unknown> | null | undefined,
): WalletIdentity {
  const read = (key: string): string | undefined => {
    const value = metadata?.[key];
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };
  const walletId = read(WALLET_METADATA_KEYS.walletId);
  return {
    // A wallet id becomes a Firestore document id and a Pub/Sub ordering key: refuse anything that
    // could address another path (a slash) and fall back to the account id.
    walletId: walletId && ID_PATTERN.test(walletId) ? walletId : accountId,
    ownerType: ownerTypeOf(read(WALLET_METADATA_KEYS.ownerType)),
    ownerId: read(WALLET_METADATA_KEYS.ownerId) ?? accountId,
    parentOwnerId: read(WALLET_METADATA_KEYS.parentOwnerId) ?? '',
  };
}

function ownerTypeOf(value: string | undefined): OwnerType {
  const normalised = (value ?? '').toLowerCase().replace(/^wallet_owner_type_/, '');
  return normalised === 'personal' || normalised === 'enterprise' || normalised === 'reseller'
    ? normalised
    : 'unspecified';
}

const OWNER_TYPE_TO_WIRE: Record<OwnerType, eventsV1.WalletOwnerType> = {
  personal: eventsV1.WalletOwnerType.WALLET_OWNER_TYPE_PERSONAL,
  enterprise: eventsV1.WalletOwnerType.WALLET_OWNER_TYPE_ENTERPRISE,
  reseller: eventsV1.WalletOwnerType.WALLET_OWNER_TYPE_RESELLER,
  unspecified: eventsV1.WalletOwnerType.WALLET_OWNER_TYPE_UNSPECIFIED,
};

export function ownerTypeToWire(ownerType: OwnerType): eventsV1.WalletOwnerType {
  return OWNER_TYPE_TO_WIRE[ownerType];
}
