// Wallets and the business actions that move their money, over the public TransactionService.
import type { transactionV1 } from '@saldo/proto';
import { randomBytes } from 'node:crypto';
import { openApi, type TransactionApi } from '../api';
import {
  noMorePositionals,
  parseAmount,
  parseArgs,
  parseCount,
  parseMetadata,
  required,
  UsageError,
  type FlagSpec,
} from '../args';
import type { CliContext } from '../context';
import { enumLabel, fields, formatMinor, isoTime, table, toJson } from '../format';

type Wallet = transactionV1.Wallet;
type Transaction = transactionV1.Transaction;

export interface Command {
  summary: string;
  usage: string;
  flags: FlagSpec;
  run(ctx: CliContext, args: ReturnType<typeof parseArgs>): Promise<number>;
}

const out = (text: string) => process.stdout.write(text);

const OWNER_TYPES: Record<string, string> = {
  personal: 'PERSONAL',
  enterprise: 'ENTERPRISE',
  reseller: 'RESELLER',
};
const LIMIT_PERIODS: Record<string, string> = { month: 'LIMIT_PERIOD_MONTH', day: 'LIMIT_PERIOD_DAY' };
const HISTORY_MAX_ROWS = 10_000;

/** The caller's key, or a fresh one (printed, so a retry can reuse it). */
function idempotencyKey(args: ReturnType<typeof parseArgs>): { key: string; generated: boolean } {
  const given = args.value('idempotency-key');
  if (given !== undefined) {
    if (!/^[\x21-\x7e]{1,100}$/.test(given))
      throw new UsageError('--idempotency-key must be 1 to 100 printable ASCII characters without spaces.');
    return { key: given, generated: false };
  }
  return {
    key: `cli-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(6).toString('hex')}`,
    generated: true,
  };
}

async function withApi<T>(ctx: CliContext, work: (api: TransactionApi) => Promise<T>): Promise<T> {
  const { api, close } = openApi(ctx);
  try {
    return await work(api);
  } finally {
    close();
  }
}

export function walletTable(wallet: Wallet): string {
  const scale = wallet.currencyScale ?? 0;
  const money = (minor: string) => [minor || '0', formatMinor(minor || '0', scale)];
  const role = enumLabel(wallet.role, 'WALLET_ROLE_');
  const owner = `${enumLabel(wallet.ownerType)} ${wallet.ownerId}`;
  const header = fields([
    ['wallet', wallet.walletId],
    ['owner', owner],
    ['role', wallet.parentWalletId ? `${role} of ${wallet.parentWalletId}` : role],
    ['currency', `${wallet.currency} (scale ${scale})`],
    ['version', String(wallet.version ?? '0')],
    ['created', isoTime(wallet.createdAt)],
  ]);
  const rows = [
    ['posted', ...money(wallet.postedBalance)],
    ['pending debits', ...money(wallet.pendingDebits)],
    ['available', ...money(wallet.availableBalance)],
  ];
  if (wallet.overdraftLimit && wallet.overdraftLimit !== '0')
    rows.push(['overdraft limit', ...money(wallet.overdraftLimit)]);
  if (wallet.spendLimit) {
    rows.push([
      `spend limit (${enumLabel(wallet.limitPeriod, 'LIMIT_PERIOD_')})`,
      ...money(wallet.spendLimit),
    ]);
    rows.push(['spent this period', ...money(wallet.periodSpent || '0')]);
  }
  return `${header}\n${table(['BALANCE', 'MINOR UNITS', wallet.currency], rows, [1, 2])}`;
}

function transactionFields(tx: Transaction, key?: { key: string; generated: boolean }): string {
  const pairs: Array<[string, string]> = [
    ['transaction', tx.transactionId],
    ['type', enumLabel(tx.type)],
    ['status', enumLabel(tx.status)],
    ['wallet', tx.walletId],
  ];
  if (tx.fundingWalletId && tx.fundingWalletId !== tx.walletId) pairs.push(['funded by', tx.fundingWalletId]);
  if (tx.counterpartyWalletId) pairs.push(['to wallet', tx.counterpartyWalletId]);
  pairs.push(['amount', `${tx.amount} ${tx.currency} (minor units)`]);
  if (tx.productCode) pairs.push(['product', tx.productCode]);
  if (tx.costAmount) pairs.push(['cost', `${tx.costAmount} ${tx.currency}`]);
  if (tx.reference) pairs.push(['reference', tx.reference]);
  if (tx.relatedTransactionId) pairs.push(['related', tx.relatedTransactionId]);
  if (tx.resolvedByTransactionId) pairs.push(['resolved by', tx.resolvedByTransactionId]);
  if (tx.expiresAt) pairs.push(['expires', isoTime(tx.expiresAt)]);
  pairs.push(['created', isoTime(tx.createdAt)]);
  const shownKey = key?.key ?? tx.idempotencyKey;
  if (shownKey)
    pairs.push([
      'idempotency key',
      key?.generated
        ? `${shownKey} (generated; repeat with --idempotency-key ${shownKey} to retry safely)`
        : shownKey,
    ]);
  pairs.push([
    'replayed',
    tx.replayed ? 'yes (an earlier request with this key; nothing new was posted)' : 'no',
  ]);
  return fields(pairs);
}

function printTransaction(
  ctx: CliContext,
  tx: Transaction,
  key: { key: string; generated: boolean },
  headline: string,
): number {
  if (ctx.json) out(toJson({ ...tx, idempotencyKey: tx.idempotencyKey || key.key }));
  else out(`${headline}\n${transactionFields(tx, key)}`);
  return 0;
}

const KEY_FLAG = ['idempotency-key'];

export const moneyCommands: Record<string, Command> = {
  'wallet open': {
    summary: 'open a wallet',
    usage:
      'saldo wallet open --owner-type personal|enterprise|reseller --owner <id> --currency <code> [--parent <wallet>] [--overdraft-limit <minor>] [--spend-limit <minor> --limit-period month|day] [--external-reference <ref>] [--credit-grants] [--metadata k=v]… [--idempotency-key <key>]',
    flags: {
      values: [
        'owner-type',
        'owner',
        'currency',
        'parent',
        'overdraft-limit',
        'spend-limit',
        'limit-period',
        'external-reference',
        ...KEY_FLAG,
      ],
      switches: ['credit-grants'],
      repeatable: ['metadata'],
    },
    run: async (ctx, args) => {
      noMorePositionals(args, 0);
      const ownerType = OWNER_TYPES[(args.value('owner-type') ?? '').toLowerCase()];
      if (!ownerType) throw new UsageError('--owner-type must be personal, enterprise or reseller.');
      const owner = args.value('owner');
      if (!owner) throw new UsageError("Missing --owner <id> (the tenant's own id of the owner).");
      const currency = args.value('currency');
      if (!currency) throw new UsageError('Missing --currency <code> (e.g. IDR, USD, CREDIT).');
      const period = args.value('limit-period');
      if (period !== undefined && !LIMIT_PERIODS[period])
        throw new UsageError('--limit-period must be month or day.');
      const key = idempotencyKey(args);
      const request: transactionV1.OpenWalletRequest = {
        idempotencyKey: key.key,
        ownerType: ownerType as unknown as transactionV1.WalletOwnerType,
        ownerId: owner,
        currency: currency.toUpperCase(),
        parentWalletId: args.value('parent') ?? '',
        externalReference: args.value('external-reference') ?? '',
        overdraftLimit: args.has('overdraft-limit')
          ? zeroOrAmount(args.value('overdraft-limit') as string, 'overdraft limit')
          : '',
        metadata: parseMetadata(args.values('metadata')),
        spendLimit: args.has('spend-limit')
          ? parseAmount(args.value('spend-limit') as string, 'spend limit')
          : '',
        limitPeriod: (period
          ? LIMIT_PERIODS[period]
          : 'LIMIT_PERIOD_UNSPECIFIED') as unknown as transactionV1.LimitPeriod,
        creditGrants: args.has('credit-grants'),
      };
      const wallet = await withApi(ctx, (api) => api.openWallet(request));
      if (ctx.json) out(toJson({ ...wallet, idempotencyKey: key.key }));
      else {
        out(
          `${wallet.replayed ? 'Wallet already opened with this key' : 'Wallet opened'}: ${wallet.walletId}\n`,
        );
        out(walletTable(wallet));
        out(`idempotency key: ${key.key}${key.generated ? ' (generated)' : ''}\n`);
      }
      return 0;
    },
  },

  'wallet show': {
    summary: "a wallet's balances",
    usage: 'saldo wallet show <wallet>',
    flags: {},
    run: async (ctx, args) => {
      const walletId = required(args, 0, 'the wallet id (saldo wallet show <wallet>)');
      noMorePositionals(args, 1);
      const wallet = await withApi(ctx, (api) => api.getWallet({ walletId }));
      out(ctx.json ? toJson(wallet) : walletTable(wallet));
      return 0;
    },
  },

  'wallet history': {
    summary: "a wallet's transactions, newest first",
    usage: 'saldo wallet history <wallet> [--limit <1..200>] [--page-token <token>] [--all]',
    flags: { values: ['limit', 'page-token'], switches: ['all'] },
    run: async (ctx, args) => {
      const walletId = required(args, 0, 'the wallet id (saldo wallet history <wallet>)');
      noMorePositionals(args, 1);
      const pageSize = parseCount(args.value('limit'), '--limit', 20, 200);
      const all = args.has('all');
      const transactions: Transaction[] = [];
      let pageToken = args.value('page-token') ?? '';
      await withApi(ctx, async (api) => {
        do {
          const page = await api.listTransactions({ walletId, pageSize, pageToken });
          transactions.push(...page.transactions);
          pageToken = page.nextPageToken;
        } while (all && pageToken && transactions.length < HISTORY_MAX_ROWS);
      });
      if (ctx.json) {
        out(toJson({ transactions, nextPageToken: pageToken }));
        return 0;
      }
      if (transactions.length === 0) out(`No transactions on wallet ${walletId}.\n`);
      else out(historyTable(transactions));
      if (pageToken)
        out(`\nMore: saldo wallet history ${walletId} --limit ${pageSize} --page-token ${pageToken}\n`);
      return 0;
    },
  },

  'wallet children': {
    summary: "an enterprise's members or a reseller's clients",
    usage: 'saldo wallet children <wallet> [--limit <1..100>] [--page-token <token>]',
    flags: { values: ['limit', 'page-token'] },
    run: async (ctx, args) => {
      const walletId = required(args, 0, 'the wallet id (saldo wallet children <wallet>)');
      noMorePositionals(args, 1);
      const pageSize = parseCount(args.value('limit'), '--limit', 50, 100);
      const page = await withApi(ctx, (api) =>
        api.listChildWallets({ walletId, pageSize, pageToken: args.value('page-token') ?? '' }),
      );
      if (ctx.json) out(toJson(page));
      else if (page.wallets.length === 0) out(`Wallet ${walletId} has no member or client wallets.\n`);
      else
        out(
          table(
            ['WALLET', 'OWNER', 'ROLE', 'AVAILABLE', 'SPENT THIS PERIOD', 'SPEND LIMIT', 'CURRENCY'],
            page.wallets.map((w) => [
              w.walletId,
              w.ownerId,
              enumLabel(w.role, 'WALLET_ROLE_'),
              w.availableBalance,
              w.periodSpent || '0',
              w.spendLimit || '-',
              w.currency,
            ]),
            [3, 4, 5],
          ),
        );
      if (!ctx.json && page.nextPageToken)
        out(`\nMore: saldo wallet children ${walletId} --page-token ${page.nextPageToken}\n`);
      return 0;
    },
  },

  topup: {
    summary: 'money received from the owner (cash clearing → wallet)',
    usage:
      'saldo topup <wallet> <amount in minor units> [--reference <payment id>] [--metadata k=v]… [--idempotency-key <key>]',
    flags: { values: ['reference', ...KEY_FLAG], repeatable: ['metadata'] },
    run: async (ctx, args) => {
      const walletId = required(args, 0, 'the wallet id (saldo topup <wallet> <amount>)');
      const amount = parseAmount(
        required(args, 1, 'the amount in minor units (saldo topup <wallet> <amount>)'),
      );
      noMorePositionals(args, 2);
      const key = idempotencyKey(args);
      const tx = await withApi(ctx, (api) =>
        api.topUp({
          idempotencyKey: key.key,
          walletId,
          amount,
          reference: args.value('reference') ?? '',
          metadata: parseMetadata(args.values('metadata')),
          erpDocumentType: 'ERP_DOCUMENT_TYPE_UNSPECIFIED' as transactionV1.ErpDocumentType,
          erpDocumentId: '',
        }),
      );
      return printTransaction(
        ctx,
        tx,
        key,
        `Top-up of ${amount} ${tx.currency} to ${walletId}: ${enumLabel(tx.status)}.`,
      );
    },
  },

  usage: {
    summary: 'book usage (wallet → revenue), optionally with its vendor cost',
    usage:
      'saldo usage <wallet> <amount> --product <code> [--cost <minor>] [--metadata k=v]… [--idempotency-key <key>]',
    flags: { values: ['product', 'cost', ...KEY_FLAG], repeatable: ['metadata'] },
    run: async (ctx, args) => {
      const walletId = required(args, 0, 'the wallet id (saldo usage <wallet> <amount> --product <code>)');
      const amount = parseAmount(
        required(args, 1, 'the amount in minor units (saldo usage <wallet> <amount>)'),
      );
      noMorePositionals(args, 2);
      const product = args.value('product');
      if (!product) throw new UsageError('Missing --product <code> (what was used, e.g. esign).');
      const key = idempotencyKey(args);
      const tx = await withApi(ctx, (api) =>
        api.bookUsage({
          idempotencyKey: key.key,
          walletId,
          amount,
          productCode: product,
          costAmount: args.has('cost') ? parseAmount(args.value('cost') as string, 'cost') : '',
          metadata: parseMetadata(args.values('metadata')),
        }),
      );
      return printTransaction(
        ctx,
        tx,
        key,
        `Usage of ${amount} ${tx.currency} (${product}) on ${walletId}: ${enumLabel(tx.status)}.`,
      );
    },
  },

  transfer: {
    summary: 'move balance between two wallets',
    usage: 'saldo transfer <from wallet> <to wallet> <amount> [--metadata k=v]… [--idempotency-key <key>]',
    flags: { values: [...KEY_FLAG], repeatable: ['metadata'] },
    run: async (ctx, args) => {
      const from = required(args, 0, 'the sending wallet (saldo transfer <from> <to> <amount>)');
      const to = required(args, 1, 'the receiving wallet (saldo transfer <from> <to> <amount>)');
      const amount = parseAmount(
        required(args, 2, 'the amount in minor units (saldo transfer <from> <to> <amount>)'),
      );
      noMorePositionals(args, 3);
      const key = idempotencyKey(args);
      const tx = await withApi(ctx, (api) =>
        api.transfer({
          idempotencyKey: key.key,
          fromWalletId: from,
          toWalletId: to,
          amount,
          metadata: parseMetadata(args.values('metadata')),
        }),
      );
      return printTransaction(
        ctx,
        tx,
        key,
        `Transfer of ${amount} ${tx.currency} from ${from} to ${to}: ${enumLabel(tx.status)}.`,
      );
    },
  },

  reserve: {
    summary: 'hold an amount for a later capture',
    usage:
      'saldo reserve <wallet> <amount> [--product <code>] [--expires-in <seconds>] [--metadata k=v]… [--idempotency-key <key>]',
    flags: { values: ['product', 'expires-in', ...KEY_FLAG], repeatable: ['metadata'] },
    run: async (ctx, args) => {
      const walletId = required(args, 0, 'the wallet id (saldo reserve <wallet> <amount>)');
      const amount = parseAmount(
        required(args, 1, 'the amount in minor units (saldo reserve <wallet> <amount>)'),
      );
      noMorePositionals(args, 2);
      const expires = args.has('expires-in')
        ? parseCount(args.value('expires-in'), '--expires-in', 0, 31_536_000)
        : 0;
      const key = idempotencyKey(args);
      const tx = await withApi(ctx, (api) =>
        api.reserve({
          idempotencyKey: key.key,
          walletId,
          amount,
          productCode: args.value('product') ?? '',
          expiresInSeconds: expires,
          metadata: parseMetadata(args.values('metadata')),
        }),
      );
      return printTransaction(
        ctx,
        tx,
        key,
        `Hold of ${amount} ${tx.currency} on ${walletId}: ${enumLabel(tx.status)}. Capture it with: saldo capture ${tx.transactionId}`,
      );
    },
  },

  capture: {
    summary: 'post a hold in full, or in part (the rest is released)',
    usage: 'saldo capture <hold transaction> [amount] [--idempotency-key <key>]',
    flags: { values: [...KEY_FLAG] },
    run: async (ctx, args) => {
      const transactionId = required(
        args,
        0,
        "the hold's transaction id (saldo capture <transaction> [amount])",
      );
      const amountRaw = args.positionals[1];
      const amount = amountRaw === undefined ? '' : parseAmount(amountRaw);
      noMorePositionals(args, 2);
      const key = idempotencyKey(args);
      const tx = await withApi(ctx, (api) => api.capture({ idempotencyKey: key.key, transactionId, amount }));
      return printTransaction(
        ctx,
        tx,
        key,
        `Captured ${tx.amount} ${tx.currency} of hold ${transactionId}: ${enumLabel(tx.status)}.`,
      );
    },
  },

  void: {
    summary: 'release a hold, or reverse a posted transaction',
    usage: 'saldo void <transaction> [--reason <text>] [--idempotency-key <key>]',
    flags: { values: ['reason', ...KEY_FLAG] },
    run: async (ctx, args) => {
      const transactionId = required(args, 0, 'the transaction id (saldo void <transaction>)');
      noMorePositionals(args, 1);
      const key = idempotencyKey(args);
      const tx = await withApi(ctx, (api) =>
        api.void({ idempotencyKey: key.key, transactionId, reason: args.value('reason') ?? '' }),
      );
      return printTransaction(
        ctx,
        tx,
        key,
        `Voided ${transactionId}: ${enumLabel(tx.type)} ${tx.transactionId}, ${enumLabel(tx.status)}.`,
      );
    },
  },

  'transaction show': {
    summary: 'one transaction',
    usage: 'saldo transaction show <transaction>',
    flags: {},
    run: async (ctx, args) => {
      const transactionId = required(args, 0, 'the transaction id (saldo transaction show <transaction>)');
      noMorePositionals(args, 1);
      const tx = await withApi(ctx, (api) => api.getTransaction({ transactionId }));
      out(ctx.json ? toJson(tx) : transactionFields(tx));
      return 0;
    },
  },
};

function zeroOrAmount(raw: string, what: string): string {
  return raw === '0' ? '0' : parseAmount(raw, what);
}

export function historyTable(transactions: readonly Transaction[]): string {
  return table(
    ['CREATED', 'TYPE', 'STATUS', 'AMOUNT', 'CURRENCY', 'DETAIL', 'TRANSACTION'],
    transactions.map((tx) => [
      isoTime(tx.createdAt),
      enumLabel(tx.type),
      enumLabel(tx.status),
      tx.amount,
      tx.currency,
      detailOf(tx),
      tx.transactionId,
    ]),
    [3],
  );
}

function detailOf(tx: Transaction): string {
  const parts: string[] = [];
  if (tx.counterpartyWalletId) parts.push(`to ${tx.counterpartyWalletId}`);
  if (tx.productCode) parts.push(tx.productCode);
  if (tx.costAmount) parts.push(`cost ${tx.costAmount}`);
  if (tx.reference) parts.push(`ref ${tx.reference}`);
  if (tx.relatedTransactionId) parts.push(`of ${tx.relatedTransactionId.slice(0, 8)}…`);
  return parts.join(', ');
}
