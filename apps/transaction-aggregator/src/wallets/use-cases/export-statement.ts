import { LedgerError, type TenantId } from '@saldo/ledger-domain';
import { fromTimestamp, toTimestamp } from '@saldo/grpc-kit';
import { ledgerV1, type transactionV1 } from '@saldo/proto';
import { requireWalletId } from '../input';
import type { WalletContext } from '../wallet-context';

/** A statement reads at most this many entries (newest first back to `from`); narrow the range beyond. */
const MAX_SCANNED_ENTRIES = 20_000;
const PAGE_SIZE = 500;

/**
 * ExportStatement: the posted entries of the wallet's account in [from, to), oldest first, each
 * with its signed amount and the posted balance right after it; opening = the posted balance
 * before `from`, closing = after the last line (or the opening when there is none). The running
 * balance is the ledger's own (balance_after of each entry), not re-added here.
 */
export async function exportStatement(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.ExportStatementRequest,
): Promise<transactionV1.Statement> {
  const walletId = requireWalletId(request.walletId, 'wallet_id');
  const wallet = await ctx.requireWallet(tenant, walletId, 'wallet_id');
  if (wallet.role === 'member')
    throw new LedgerError(
      'WALLET_RULE_VIOLATION',
      "wallet_id: a member has no account of its own: export its organisation's statement (ListTransactions shows the member's usage)",
      { field: 'wallet_id' },
    );
  const from = fromTimestamp(request.from) ?? new Date(0);
  const to = fromTimestamp(request.to) ?? new Date();
  if (to <= from) throw LedgerError.invalid('to', 'must be after from');
  const accountId = wallet.ledger_account_id as string;
  const account = await ctx.ledger.getAccount({ tenantId: tenant, accountId });

  const inRange: ledgerV1.Entry[] = [];
  let opening = '0';
  let pageToken = '';
  let scanned = 0;
  scan: for (;;) {
    const page = await ctx.ledger.listAccountEntries({
      tenantId: tenant,
      accountId,
      pageSize: PAGE_SIZE,
      pageToken,
    });
    for (const entry of page.entries) {
      scanned += 1;
      const at = fromTimestamp(entry.createdAt) ?? new Date(0);
      if (at < from) {
        opening = entry.balanceAfter?.postedBalance ?? '0';
        break scan;
      }
      if (at < to && entry.phase === ledgerV1.EntryPhase.ENTRY_PHASE_POSTED) inRange.push(entry);
    }
    if (!page.nextPageToken) break;
    if (scanned >= MAX_SCANNED_ENTRIES)
      throw new LedgerError(
        'INVALID_ARGUMENT',
        `from: more than ${MAX_SCANNED_ENTRIES} entries since then; narrow the range`,
        {
          field: 'from',
        },
      );
    pageToken = page.nextPageToken;
  }
  inRange.reverse();
  const transactions = new Map<string, Promise<ledgerV1.Transaction>>();
  const actionOf = (id: string) => {
    if (!transactions.has(id))
      transactions.set(id, ctx.ledger.getTransaction({ tenantId: tenant, transactionId: id }));
    return (transactions.get(id) as Promise<ledgerV1.Transaction>).then((tx) => tx.action);
  };
  const lines = await Promise.all(
    inRange.map(async (entry) => ({
      entryId: entry.entryId,
      transactionId: entry.transactionId,
      createdAt: entry.createdAt,
      action: await actionOf(entry.transactionId),
      amount: entry.side === ledgerV1.EntrySide.ENTRY_SIDE_CREDIT ? entry.amount : `-${entry.amount}`,
      balance: entry.balanceAfter?.postedBalance ?? '0',
    })),
  );
  return {
    walletId,
    currency: wallet.currency,
    currencyScale: account.assetScale,
    from: toTimestamp(from),
    to: toTimestamp(to),
    openingBalance: opening,
    closingBalance: lines.length > 0 ? (lines[lines.length - 1]?.balance ?? opening) : opening,
    lines,
  };
}
