import { LedgerError, parseAmount, requestFingerprint, type TenantId } from '@saldo/ledger-domain';
import type { ledgerV1, transactionV1 } from '@saldo/proto';
import { callerMetadata, requirePublicKey, requireWalletId } from '../input';
import { referencesOf } from '../transaction-view';
import type { WalletContext } from '../wallet-context';
import { requireDebitable, requireWritable } from '../wallet-status';
import type { WritePlan } from '../write-plan';
import { A, checkTransfer, CREDIT, DEBIT, ledgerKey } from '../wallet-rules';
import { grantCreditLegs, grantDebitLegs } from './grants';

export async function transfer(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.TransferRequest,
): Promise<transactionV1.Transaction> {
  return ctx.execute(await planTransfer(ctx, tenant, request));
}

/** Transfers are always lean: members (the only wallets with a spend limit) cannot send or receive. */
export async function planTransfer(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.TransferRequest,
): Promise<WritePlan> {
  const key = requirePublicKey(request.idempotencyKey);
  const fromId = requireWalletId(request.fromWalletId, 'from_wallet_id');
  const toId = requireWalletId(request.toWalletId, 'to_wallet_id');
  if (fromId === toId) throw LedgerError.invalid('to_wallet_id', 'must differ from from_wallet_id');
  const amount = parseAmount(request.amount, 'amount');
  const metadata = callerMetadata(request.metadata);
  const from = await ctx.requireWallet(tenant, fromId, 'from_wallet_id');
  const to = await ctx.requireWallet(tenant, toId, 'to_wallet_id');
  requireDebitable('from_wallet_id', from);
  requireWritable('to_wallet_id', to);
  checkTransfer(from, to);
  const command = { from_wallet_id: fromId, to_wallet_id: toId, amount: amount.toString(), metadata };
  ctx.limits.check(amount, from.currency, 'amount');
  // Wallets with credit grants: drawn from the sender's grants, received as a paid grant.
  const grantLegs = [
    ...(await grantDebitLegs(
      ctx,
      tenant,
      { wallet: from, funder: from, accountId: from.ledger_account_id as string },
      amount,
      '',
    )),
    ...(await grantCreditLegs(ctx, tenant, to, to.ledger_account_id as string, command.amount, key, {
      category: 'paid',
      priority: 0,
      effectiveAt: undefined,
      expiresAt: undefined,
      productCodes: [],
      source: 'transfer',
      sourceRef: fromId,
    })),
  ];
  const posting: ledgerV1.PostTransactionRequest = {
    tenantId: tenant,
    idempotencyKey: ledgerKey(key),
    assetCode: from.currency,
    legs: [
      {
        accountId: from.ledger_account_id as string,
        systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
        side: DEBIT,
        amount: command.amount,
      },
      {
        accountId: to.ledger_account_id as string,
        systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
        side: CREDIT,
        amount: command.amount,
      },
      ...grantLegs,
    ],
    pending: false,
    timeoutSeconds: 0,
    action: 'TRANSFER',
    references: referencesOf({
      wallet_id: fromId,
      funding_wallet_id: fromId,
      wallet_account_id: from.ledger_account_id as string,
      counterparty_wallet_id: toId,
    }),
    metadata,
    shadowDocumentId: '',
  };
  if (grantLegs.length > 0) {
    // Grants take the journal: a retry must replay, not draw again on other grants.
    return {
      mode: 'journal',
      run: () =>
        ctx.post(
          tenant,
          { key, action: 'Transfer', requestHash: requestFingerprint('Transfer', command), walletId: fromId },
          posting,
        ),
    };
  }
  return { mode: 'lean', command: { postTransaction: posting } };
}
