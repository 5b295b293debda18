import { LedgerError, type TenantId } from '@saldo/ledger-domain';
import type { transactionV1 } from '@saldo/proto';
import type { WalletRow } from '../aggregator.repository';
import { pageSizeOf, requireWalletId } from '../input';
import { toPublicTransaction } from '../transaction-view';
import type { WalletContext } from '../wallet-context';
import { decodeToken, encodeToken, KEY_PART, requireTokenPart, TIMESTAMP_PART } from '../wallet-rules';

export async function getTransaction(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.GetTransactionRequest,
): Promise<transactionV1.Transaction> {
  const id = requireWalletId(request.transactionId, 'transaction_id');
  return toPublicTransaction(await ctx.requireOwnTransaction(tenant, id));
}

export async function listTransactions(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.ListTransactionsRequest,
): Promise<transactionV1.ListTransactionsResponse> {
  const wallet = await ctx.requireWallet(tenant, requireWalletId(request.walletId, 'wallet_id'), 'wallet_id');
  const pageSize = pageSizeOf(request.pageSize, 50, 200);
  if (wallet.role === 'member')
    return listMemberTransactions(ctx, tenant, wallet, pageSize, request.pageToken);
  const page = await ctx.ledger.listAccountTransactions({
    tenantId: tenant,
    accountId: wallet.ledger_account_id as string,
    pageSize,
    pageToken: request.pageToken,
  });
  return {
    transactions: page.transactions.map((tx) => toPublicTransaction(tx)),
    nextPageToken: page.nextPageToken,
  };
}

/** A member has no ledger account: its transactions are the operations attributed to it. */
async function listMemberTransactions(
  ctx: WalletContext,
  tenant: TenantId,
  member: WalletRow,
  pageSize: number,
  pageToken: string,
): Promise<transactionV1.ListTransactionsResponse> {
  const scope = `member:${member.id}`;
  const cursor = pageToken ? decodeToken(pageToken, scope).split('|') : undefined;
  const before =
    cursor && cursor.length === 2
      ? {
          createdAt: requireTokenPart(cursor[0] as string, TIMESTAMP_PART),
          key: requireTokenPart(cursor[1] as string, KEY_PART),
        }
      : undefined;
  if (cursor && !before) throw LedgerError.invalid('page_token', 'is not a token from this listing');
  const rows = await ctx.repository.spenderOperations(tenant, member.id, before, pageSize + 1);
  const page = rows.slice(0, pageSize);
  const transactions = await Promise.all(
    page.map(async (row) =>
      toPublicTransaction(
        await ctx.ledger.getTransaction({ tenantId: tenant, transactionId: row.result_id }),
      ),
    ),
  );
  const last = page[page.length - 1];
  return {
    transactions,
    nextPageToken:
      rows.length > pageSize && last ? encodeToken(scope, `${last.created_at}|${last.idempotency_key}`) : '',
  };
}
