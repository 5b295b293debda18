/**
 * A legacy wallet system as the migrator reads it. Every read names a cursor: the id of a change in
 * the legacy change log. "The state at cursor C" is the state after every change up to and
 * including C, so import, catch-up and verify all speak of the same points in the legacy history.
 */
export type LegacyModel = 'personal' | 'enterprise' | 'enterprise_member' | 'reseller' | 'reseller_client';

export const LEGACY_MODELS: readonly LegacyModel[] = [
  'personal',
  'enterprise',
  'enterprise_member',
  'reseller',
  'reseller_client',
];

/** A wallet as the legacy system holds it, before mapping (raw values, as text). */
export interface LegacyWalletRecord {
  /** The legacy key, unique in the source (text, whatever its type there). */
  readonly id: string;
  readonly owner: string;
  readonly currency: string;
  /** The legacy model value, before the mapping translates it. */
  readonly model: string;
  readonly parentId: string | null;
  /** Legacy units (see the mapping's amountScale), as a decimal string. */
  readonly overdraft: string;
}

/** One entry of the legacy change log: a signed change of one wallet's balance. */
export interface LegacyChange {
  /** Increasing id: the cursor. */
  readonly id: bigint;
  readonly walletId: string;
  /** What the legacy system called it (TOPUP, USAGE, XFER_OUT, OPEN, …), kept as a reference. */
  readonly kind: string;
  /** Signed, legacy units. */
  readonly amount: string;
  /** The wallet's balance right after it, legacy units. */
  readonly balanceAfter: string;
  readonly at: Date;
  /** The other wallet of a transfer, or the member of an organisation's usage (references only). */
  readonly counterpartyId: string | null;
}

export interface WalletBalanceAt {
  /** False when the wallet did not exist yet at the cursor (it is opened by a later change). */
  readonly exists: boolean;
  /** Legacy units. */
  readonly balance: string;
}

export interface LegacySource {
  /** For reports, without secrets. */
  readonly description: string;
  connect(): Promise<void>;
  close(): Promise<void>;
  /** The newest change now: a consistent point to import at. */
  currentCursor(): Promise<bigint>;
  /** How many wallets the source holds now (for progress and estimates). */
  countWallets(): Promise<number>;
  /** Wallets ordered by id, after `after` (null: from the start), at most `limit`. */
  listWallets(after: string | null, limit: number): Promise<LegacyWalletRecord[]>;
  /** These wallets, by id (those that exist). */
  readWallets(ids: readonly string[]): Promise<LegacyWalletRecord[]>;
  /** Changes with id > `after`, in id order, at most `limit`. */
  readChanges(after: bigint, limit: number): Promise<LegacyChange[]>;
  /** The balances of these wallets at cursor `at` (one round trip for a page). */
  balancesAt(walletIds: readonly string[], at: bigint): Promise<Map<string, WalletBalanceAt>>;
  /** The legacy write freeze, where the source can set it (the simulator's flag); else undefined. */
  readonly freeze?: (frozen: boolean) => Promise<void>;
}
