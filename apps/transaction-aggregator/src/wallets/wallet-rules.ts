import { LedgerError } from '@saldo/ledger-domain';
import { ledgerV1, transactionV1 } from '@saldo/proto';
import type { OwnerType, PeriodUnit, WalletRole, WalletRow } from './aggregator.repository';

export const A = ledgerV1.AccountType;
export const DEBIT = ledgerV1.EntrySide.ENTRY_SIDE_DEBIT;
export const CREDIT = ledgerV1.EntrySide.ENTRY_SIDE_CREDIT;

export const OWNER_TYPES: Readonly<Record<string, OwnerType>> = {
  [transactionV1.WalletOwnerType.PERSONAL]: 'personal',
  [transactionV1.WalletOwnerType.ENTERPRISE]: 'enterprise',
  [transactionV1.WalletOwnerType.RESELLER]: 'reseller',
};
export const OWNER_TYPES_TO_WIRE: Readonly<Record<OwnerType, transactionV1.WalletOwnerType>> = {
  personal: transactionV1.WalletOwnerType.PERSONAL,
  enterprise: transactionV1.WalletOwnerType.ENTERPRISE,
  reseller: transactionV1.WalletOwnerType.RESELLER,
};
export const ROLES_TO_WIRE: Readonly<Record<WalletRole, transactionV1.WalletRole>> = {
  standalone: transactionV1.WalletRole.WALLET_ROLE_STANDALONE,
  member: transactionV1.WalletRole.WALLET_ROLE_MEMBER,
  client: transactionV1.WalletRole.WALLET_ROLE_CLIENT,
};

export function rule(field: string, message: string): LedgerError {
  return new LedgerError('WALLET_RULE_VIOLATION', `${field}: ${message}`, { field });
}

/** The role a new wallet takes under its parent, or why it cannot be opened there. */
export function roleUnder(parent: WalletRow | undefined, ownerType: OwnerType, currency: string): WalletRole {
  if (!parent) return 'standalone';
  if (parent.currency !== currency)
    throw rule('currency', `must be the parent wallet's currency (${parent.currency})`);
  if (parent.role === 'member')
    throw rule('parent_wallet_id', 'a member wallet cannot have wallets under it');
  if (parent.owner_type === 'enterprise') {
    if (ownerType !== 'personal') throw rule('owner_type', 'an enterprise member wallet is PERSONAL');
    return 'member';
  }
  if (parent.owner_type === 'reseller') {
    if (ownerType === 'reseller') throw rule('owner_type', 'a reseller cannot have resellers under it');
    return 'client';
  }
  throw rule('parent_wallet_id', 'only ENTERPRISE and RESELLER wallets have wallets under them');
}

/**
 * Transfers move balance between wallets that own one: never a member's (it has none), funding
 * into a reseller's client only from that reseller, a reseller's balance only to its own clients,
 * and a client's balance only back to its reseller.
 */
export function checkTransfer(from: WalletRow, to: WalletRow): void {
  if (from.role === 'member')
    throw rule('from_wallet_id', "a member wallet has no balance of its own; it spends its organisation's");
  if (to.role === 'member')
    throw rule(
      'to_wallet_id',
      'a member wallet has no balance of its own; transfer to its enterprise wallet',
    );
  if (from.currency !== to.currency)
    throw rule('to_wallet_id', `holds ${to.currency}, the sender holds ${from.currency}`);
  if (from.owner_type === 'reseller' && from.role === 'standalone' && to.parent_wallet_id !== from.id) {
    throw rule('to_wallet_id', "a reseller transfers only to its own clients' wallets");
  }
  if (to.role === 'client' && to.parent_wallet_id !== from.id) {
    throw rule('from_wallet_id', "a reseller's client wallet is funded only by its reseller");
  }
  if (from.role === 'client' && from.parent_wallet_id !== to.id) {
    throw rule('to_wallet_id', "a reseller's client transfers only back to its reseller");
  }
}

export function limitPeriodOf(value: transactionV1.LimitPeriod): PeriodUnit {
  switch (value) {
    case transactionV1.LimitPeriod.LIMIT_PERIOD_DAY:
      return 'day';
    case transactionV1.LimitPeriod.LIMIT_PERIOD_MONTH:
    case transactionV1.LimitPeriod.LIMIT_PERIOD_UNSPECIFIED:
      return 'month';
    default:
      throw LedgerError.invalid('limit_period', 'must be LIMIT_PERIOD_MONTH or LIMIT_PERIOD_DAY');
  }
}

/**
 * The ledger idempotency key of a caller's key: "agg:<caller's key>", the same for every action,
 * so a retried flow hits the ledger's own replay, and the ledger itself refuses one key reused for
 * another request, of the same action or not, without a lookup here. (Before the lean path it was
 * "agg:<action>:<key>": a retry of a request first sent before that change is not recognised.)
 */
export function ledgerKey(key: string): string {
  return `agg:${key}`;
}

/** One ERP document, one top-up, whatever key the caller used. */
export function documentLedgerKey(documentId: string): string {
  return `agg:topup-doc:${documentId}`;
}

export function encodeToken(scope: string, value: string): string {
  return Buffer.from(`${scope}|${value}`).toString('base64url');
}

// What a page token of ours can hold: anything else was not made here (and would reach SQL).
export const UUID_PART = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const TIMESTAMP_PART = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;
export const KEY_PART = /^[\x21-\x7e]{1,128}$/;

export function requireTokenPart(part: string, shape: RegExp): string {
  if (!shape.test(part)) throw LedgerError.invalid('page_token', 'is not a token from this listing');
  return part;
}

export function decodeToken(token: string, scope: string): string {
  const decoded = Buffer.from(token, 'base64url').toString();
  if (!decoded.startsWith(`${scope}|`))
    throw LedgerError.invalid('page_token', 'is not a token from this listing');
  return decoded.slice(scope.length + 1);
}
