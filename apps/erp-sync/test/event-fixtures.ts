// Ledger events as the wallet-ledger's relay publishes them (proto3 JSON of saldo.events.v1.LedgerEvent),
// built from postings the way docs/postings.md describes them.
import { randomUUID } from 'node:crypto';
import type { TenantsConfig } from '../src/mapping/tenant-config';

type Leg = {
  type: string;
  side: 'D' | 'C';
  amount: bigint;
  wallet?: string;
  phase?: 'posted' | 'pending' | 'release';
};

export interface WalletFixture {
  walletId: string;
  ownerId: string;
  balance: bigint;
  version: bigint;
}

let outbox = 1;

export function wallet(walletId: string, ownerId = `owner-${walletId}`): WalletFixture {
  return { walletId, ownerId, balance: 0n, version: 0n };
}

export interface TxOptions {
  tenant: string;
  kind?: string;
  action: string;
  legs: Leg[];
  wallets: WalletFixture[];
  productCode?: string;
  reference?: string;
  at?: string;
  transactionId?: string;
  reversesTransactionId?: string;
  type?: string;
  asset?: string;
  scale?: number;
}

/** One message per touched wallet (parts 1..n), each with the full transaction, as the relay does. */
export function transactionEvents(o: TxOptions): Array<Record<string, unknown>> {
  const at = o.at ?? new Date().toISOString();
  const transactionId = o.transactionId ?? randomUUID();
  const id = (outbox += 1);
  for (const w of o.wallets) {
    for (const leg of o.legs) {
      if (leg.wallet === w.walletId && (leg.phase ?? 'posted') === 'posted')
        w.balance += leg.side === 'C' ? leg.amount : -leg.amount;
    }
    w.version += 1n;
  }
  const states = o.wallets.map((w) => ({
    walletId: w.walletId,
    accountId: `acc-${w.walletId}`,
    ownerType: 'WALLET_OWNER_TYPE_PERSONAL',
    ownerId: w.ownerId,
    currency: o.asset ?? 'IDR',
    assetScale: o.scale ?? 0,
    postedBalance: w.balance.toString(),
    availableBalance: w.balance.toString(),
    version: w.version.toString(),
  }));
  const revenue = o.legs
    .filter((l) => l.type === 'REVENUE' && (l.phase ?? 'posted') === 'posted')
    .reduce((s, l) => s + (l.side === 'C' ? l.amount : -l.amount), 0n);
  const transaction = {
    transactionId,
    kind: o.kind ?? 'TRANSACTION_KIND_POSTED',
    status: 'TRANSACTION_STATUS_POSTED',
    action: o.action,
    idempotencyKey: `k-${transactionId}`,
    assetCode: o.asset ?? 'IDR',
    assetScale: o.scale ?? 0,
    entries: o.legs.map((l, i) => ({
      entryId: String(i + 1),
      accountId: l.wallet ? `acc-${l.wallet}` : `sys-${l.type}`,
      accountType: `ACCOUNT_TYPE_${l.type}`,
      walletId: l.wallet ?? '',
      side: l.side === 'D' ? 'ENTRY_SIDE_DEBIT' : 'ENTRY_SIDE_CREDIT',
      phase: `ENTRY_PHASE_${(l.phase ?? 'posted').toUpperCase()}`,
      amount: l.amount.toString(),
      accountVersion: '1',
    })),
    references: o.productCode ? { product_code: o.productCode } : {},
    ...(o.reversesTransactionId ? { reversesTransactionId: o.reversesTransactionId } : {}),
    createdAt: at,
  };
  const parts = Math.max(1, states.length);
  return states.map((state, i) => ({
    eventId: `${id}.${i + 1}`,
    tenantId: o.tenant,
    type: o.type ?? 'LEDGER_EVENT_TYPE_TRANSACTION_POSTED',
    occurredAt: at,
    orderingKey: state.walletId,
    outboxId: String(id),
    part: i + 1,
    parts,
    wallet: state,
    wallets: states,
    transaction,
    businessAction: {
      action: o.action,
      productCode: o.productCode ?? '',
      revenueAmount: revenue === 0n ? '' : revenue.toString(),
      counterpartWalletIds: states.filter((s) => s !== state).map((s) => s.walletId),
      reference: o.reference ?? '',
    },
  }));
}

export const topUp = (tenant: string, w: WalletFixture, amount: bigint, at?: string) =>
  transactionEvents({
    tenant,
    action: 'TOP_UP',
    wallets: [w],
    at,
    reference: 'pg-1',
    legs: [
      { type: 'CASH_CLEARING', side: 'D', amount },
      { type: 'WALLET', side: 'C', amount, wallet: w.walletId },
    ],
  });

export const usage = (
  tenant: string,
  w: WalletFixture,
  amount: bigint,
  productCode: string,
  cost = 0n,
  at?: string,
  transactionId?: string,
) =>
  transactionEvents({
    tenant,
    action: 'USAGE',
    wallets: [w],
    productCode,
    at,
    transactionId,
    legs: [
      { type: 'WALLET', side: 'D', amount, wallet: w.walletId },
      { type: 'REVENUE', side: 'C', amount },
      ...(cost > 0n
        ? [
            { type: 'COST_OF_REVENUE', side: 'D' as const, amount: cost },
            { type: 'PAYABLES', side: 'C' as const, amount: cost },
          ]
        : []),
    ],
  });

export const transfer = (tenant: string, from: WalletFixture, to: WalletFixture, amount: bigint) =>
  transactionEvents({
    tenant,
    action: 'TRANSFER',
    wallets: [from, to],
    legs: [
      { type: 'WALLET', side: 'D', amount, wallet: from.walletId },
      { type: 'WALLET', side: 'C', amount, wallet: to.walletId },
    ],
  });

export const hold = (tenant: string, w: WalletFixture, amount: bigint, productCode: string) =>
  transactionEvents({
    tenant,
    action: 'USAGE',
    kind: 'TRANSACTION_KIND_PENDING',
    type: 'LEDGER_EVENT_TYPE_TRANSACTION_PENDING',
    wallets: [w],
    productCode,
    legs: [
      { type: 'WALLET', side: 'D', amount, wallet: w.walletId, phase: 'pending' },
      { type: 'REVENUE', side: 'C', amount, phase: 'pending' },
    ],
  });

export const reversalOfUsage = (
  tenant: string,
  w: WalletFixture,
  amount: bigint,
  productCode: string,
  cost: bigint,
  reverses: string,
) =>
  transactionEvents({
    tenant,
    action: 'USAGE',
    kind: 'TRANSACTION_KIND_REVERSAL',
    type: 'LEDGER_EVENT_TYPE_TRANSACTION_REVERSED',
    wallets: [w],
    productCode,
    reversesTransactionId: reverses,
    legs: [
      { type: 'WALLET', side: 'C', amount, wallet: w.walletId },
      { type: 'REVENUE', side: 'D', amount },
      ...(cost > 0n
        ? [
            { type: 'COST_OF_REVENUE', side: 'C' as const, amount: cost },
            { type: 'PAYABLES', side: 'D' as const, amount: cost },
          ]
        : []),
    ],
  });

export function tenantsConfig(
  tenant: string,
  overrides: Partial<{ revenue: string; periodMinutes: number; threshold: string; crm: boolean }> = {},
): TenantsConfig {
  return {
    [tenant]: {
      subsidiary: '1',
      department: '7',
      accounts: {
        cashClearing: '100',
        customerPrepayment: '200',
        revenue: overrides.revenue ?? '400',
        costOfRevenue: '500',
        payables: '210',
      },
      currencies: { IDR: '5', USD: '1' },
      products: { 'esign.basic': { item: '31' }, 'ekyc.check': { item: '32' } },
      usageSummary: {
        periodMinutes: overrides.periodMinutes ?? 60,
        singleEntryThresholdMinor: overrides.threshold ? { IDR: overrides.threshold } : {},
      },
      crm: {
        zendesk: overrides.crm ?? false,
        activeCampaign: overrides.crm ?? false,
        contactEmailTemplate: '{ownerId}@customers.example.com',
      },
    },
  };
}
