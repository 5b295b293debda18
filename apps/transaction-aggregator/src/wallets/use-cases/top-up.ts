import { parseAmount, requestFingerprint, type TenantId } from '@saldo/ledger-domain';
import type { ledgerV1, transactionV1 } from '@saldo/proto';
import { callerMetadata, optionalText, requirePublicKey, requireWalletId } from '../input';
import { referencesOf } from '../transaction-view';
import type { WalletContext } from '../wallet-context';
import { requireWritable } from '../wallet-status';
import { A, CREDIT, DEBIT, documentLedgerKey, ledgerKey, rule } from '../wallet-rules';
import type { WritePlan } from '../write-plan';
import { erpDocumentOf } from './erp-documents';
import { grantCreditLegs } from './grants';

export async function topUp(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.TopUpRequest,
): Promise<transactionV1.Transaction> {
  return ctx.execute(await planTopUp(ctx, tenant, request));
}

/** A plain top-up is lean; one from an ERP document takes the journal path (its shadow record). */
export async function planTopUp(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.TopUpRequest,
): Promise<WritePlan> {
  const key = requirePublicKey(request.idempotencyKey);
  const walletId = requireWalletId(request.walletId, 'wallet_id');
  const amount = parseAmount(request.amount, 'amount');
  const reference = optionalText(request.reference, 'reference', 256);
  const metadata = callerMetadata(request.metadata);
  const funding = await ctx.fundingOf(tenant, await ctx.requireWallet(tenant, walletId, 'wallet_id'));
  if (funding.wallet.role === 'member') {
    throw rule(
      'wallet_id',
      "a member wallet spends its organisation's balance: top up the enterprise wallet instead",
    );
  }
  requireWritable('wallet_id', funding.wallet, funding.funder);
  const document = erpDocumentOf(request);
  const command = {
    wallet_id: walletId,
    amount: amount.toString(),
    reference,
    metadata,
    ...(document ? { erp_document_type: document.type, erp_document_id: document.id } : {}),
  };
  // A wallet with credit grants: the top-up is a paid grant without expiry (GrantCredit sets terms).
  const grantLegs = await grantCreditLegs(
    ctx,
    tenant,
    funding.wallet,
    funding.accountId,
    command.amount,
    key,
    {
      category: 'paid',
      priority: 0,
      effectiveAt: undefined,
      expiresAt: undefined,
      productCodes: [],
      source: document ? 'erp_document' : 'top_up',
      sourceRef: document?.id ?? reference,
    },
  );
  const posting: ledgerV1.PostTransactionRequest = {
    tenantId: tenant,
    // One document, one posting: the ledger's own idempotency refuses a second, different
    // top-up of the same document (whatever key the caller used) and replays an identical one.
    idempotencyKey: document ? documentLedgerKey(document.id) : ledgerKey(key),
    assetCode: funding.wallet.currency,
    legs: [
      { accountId: '', systemAccount: A.ACCOUNT_TYPE_CASH_CLEARING, side: DEBIT, amount: command.amount },
      {
        accountId: funding.accountId,
        systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
        side: CREDIT,
        amount: command.amount,
      },
      ...grantLegs,
    ],
    pending: false,
    timeoutSeconds: 0,
    action: 'TOP_UP',
    references: {
      ...referencesOf({ ...ctx.refsOf(funding), reference }),
      ...(document ? { erp_document: document.id, erp_document_type: document.type } : {}),
    },
    metadata,
    // The ledger records the credit as shadow in the posting's own transaction.
    shadowDocumentId: document?.id ?? '',
  };
  if (!document && grantLegs.length > 0) {
    // Grants take the journal, like every write whose legs depend on the wallet's state.
    return {
      mode: 'journal',
      run: () =>
        ctx.post(
          tenant,
          { key, action: 'TopUp', requestHash: requestFingerprint('TopUp', command), walletId },
          posting,
        ),
    };
  }
  if (!document) {
    ctx.checkLimits(posting);
    return { mode: 'lean', command: { postTransaction: posting } };
  }
  return {
    mode: 'journal',
    run: async () => {
      const earlier = await ctx.repository.findShadowTopUp(tenant, document.id);
      if (earlier && (earlier.wallet_id !== walletId || earlier.amount_minor !== command.amount))
        throw rule(
          'erp_document_id',
          `document ${document.id} already topped up wallet ${earlier.wallet_id} (transaction ${earlier.transaction_id})`,
        );
      const transaction = await ctx.post(
        tenant,
        { key, action: 'TopUp', requestHash: requestFingerprint('TopUp', command), walletId },
        posting,
      );
      // After the posting: a crash in between leaves the top-up unrecorded as shadow until the
      // caller's retry (same key, replayed by the ledger) records it.
      await ctx.repository.recordShadowTopUp(tenant, {
        document_id: document.id,
        document_type: document.type,
        wallet_id: walletId,
        account_id: funding.accountId,
        transaction_id: transaction.transactionId,
        amount_minor: command.amount,
      });
      return transaction;
    },
  };
}
