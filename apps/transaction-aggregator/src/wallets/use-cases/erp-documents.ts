import { LedgerError, type TenantId } from '@saldo/ledger-domain';
import { toTimestamp } from '@saldo/grpc-kit';
import { transactionV1 } from '@saldo/proto';
import type { ShadowTopUpRow } from '../aggregator.repository';
import { optionalText } from '../input';
import { isTransient, type WalletContext } from '../wallet-context';
import { voidTransaction } from './void';

/**
 * The ERP's verdict on a document top-up. Confirmed: it stops being shadow. Rejected: the top-up
 * is reversed through Void with a key derived from the document (so a repeated verdict, poll or
 * webhook reverses at most once), then marked rejected; a reversal the ledger refuses for good
 * (the money was spent) is marked rejected_unrecoverable with the reason. Such a document is for
 * the tenant's operator: REJECTED again tries the reversal again, WRITTEN_OFF lets the customer
 * keep the money (it stops being shadow; finance books the loss in the ERP).
 */
export async function resolveErpDocument(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.ResolveErpDocumentRequest,
): Promise<transactionV1.ErpDocument> {
  const documentId = requireDocumentId(request.erpDocumentId, 'erp_document_id');
  const reason = optionalText(request.reason, 'reason', 256);
  const row = await ctx.repository.findShadowTopUp(tenant, documentId);
  if (!row)
    throw new LedgerError('TRANSACTION_NOT_FOUND', `erp_document_id: no top-up from document ${documentId}`, {
      field: 'erp_document_id',
    });
  const O = transactionV1.ErpDocumentOutcome;
  switch (request.outcome) {
    case O.ERP_DOCUMENT_OUTCOME_CONFIRMED:
      return confirmDocument(ctx, tenant, row, reason);
    case O.ERP_DOCUMENT_OUTCOME_REJECTED:
      return rejectDocument(ctx, tenant, row, reason);
    case O.ERP_DOCUMENT_OUTCOME_WRITTEN_OFF:
      return writeOffDocument(ctx, tenant, row, reason);
    default:
      throw LedgerError.invalid(
        'outcome',
        'must be ERP_DOCUMENT_OUTCOME_CONFIRMED, ERP_DOCUMENT_OUTCOME_REJECTED or ERP_DOCUMENT_OUTCOME_WRITTEN_OFF',
      );
  }
}

async function confirmDocument(ctx: WalletContext, tenant: TenantId, row: ShadowTopUpRow, reason: string) {
  // The ledger first (idempotent), so a crash in between is finished by the next verdict.
  if (row.state === 'pending_confirmation')
    await settleShadowCredit(ctx, tenant, row, `ERP document ${row.document_id} confirmed`, reason);
  const updated = await ctx.repository.resolveShadowTopUp(tenant, row.document_id, ['pending_confirmation'], {
    state: 'confirmed',
    reason,
  });
  return erpDocumentView(updated ?? row);
}

async function rejectDocument(ctx: WalletContext, tenant: TenantId, row: ShadowTopUpRow, reason: string) {
  // A cancellation after a confirmation reverses too; a completed reversal or a write-off is final.
  if (row.state === 'rejected' || row.state === 'written_off') return erpDocumentView(row);
  const documentId = row.document_id;
  // An operator's retry gets a key of its own: the first attempt's request (and reason) differ.
  const retry = row.state === 'rejected_unrecoverable';
  try {
    // Void marks the document rejected with its reversal (as it does for a tenant's own Void).
    await voidTransaction(ctx, tenant, {
      idempotencyKey: retry ? `shadow-reject-retry:${documentId}` : `shadow-reject:${documentId}`,
      transactionId: row.transaction_id,
      reason: retry
        ? `ERP document ${documentId} rejected (retried)`
        : `ERP document ${documentId} rejected${reason ? `: ${reason}` : ''}`.slice(0, 256),
    });
  } catch (error) {
    if (!(error instanceof LedgerError) || isTransient(error)) throw error;
    const refused = await ctx.repository.resolveShadowTopUp(
      tenant,
      documentId,
      ['pending_confirmation', 'confirmed', 'rejected_unrecoverable'],
      {
        state: 'rejected_unrecoverable',
        reason: `${reason || 'rejected by the ERP'}; reversal refused: ${error.code}: ${error.message}`,
      },
    );
    return erpDocumentView(refused ?? (await ctx.repository.findShadowTopUp(tenant, documentId)) ?? row);
  }
  return erpDocumentView((await ctx.repository.findShadowTopUp(tenant, documentId)) ?? row);
}

async function writeOffDocument(ctx: WalletContext, tenant: TenantId, row: ShadowTopUpRow, reason: string) {
  if (row.state === 'written_off') return erpDocumentView(row);
  if (row.state !== 'rejected_unrecoverable')
    throw new LedgerError(
      'WALLET_RULE_VIOLATION',
      `erp_document_id: document ${row.document_id} is ${row.state}; only a rejected document whose reversal was refused can be written off`,
      { field: 'erp_document_id' },
    );
  if (!reason) throw LedgerError.invalid('reason', 'a write-off needs a reason (who decided, and why)');
  await settleShadowCredit(ctx, tenant, row, `ERP document ${row.document_id} written off`, reason);
  const updated = await ctx.repository.resolveShadowTopUp(
    tenant,
    row.document_id,
    ['rejected_unrecoverable'],
    {
      state: 'written_off',
      reason,
    },
  );
  return erpDocumentView(updated ?? (await ctx.repository.findShadowTopUp(tenant, row.document_id)) ?? row);
}

/** Ends the ledger's shadow credit of the document's top-up (idempotent in the ledger). */
async function settleShadowCredit(
  ctx: WalletContext,
  tenant: TenantId,
  row: ShadowTopUpRow,
  what: string,
  reason: string,
) {
  await ctx.ledger.confirmShadowCredit({
    tenantId: tenant,
    transactionId: row.transaction_id,
    reason: `${what}${reason ? `: ${reason}` : ''}`.slice(0, 256),
  });
}

const DOCUMENT_TYPES: Readonly<
  Partial<Record<transactionV1.ErpDocumentType, ShadowTopUpRow['document_type']>>
> = {
  [transactionV1.ErpDocumentType.ERP_DOCUMENT_TYPE_INVOICE]: 'invoice',
  [transactionV1.ErpDocumentType.ERP_DOCUMENT_TYPE_SALES_ORDER]: 'sales_order',
};
const DOCUMENT_TYPES_TO_WIRE: Readonly<
  Record<ShadowTopUpRow['document_type'], transactionV1.ErpDocumentType>
> = {
  invoice: transactionV1.ErpDocumentType.ERP_DOCUMENT_TYPE_INVOICE,
  sales_order: transactionV1.ErpDocumentType.ERP_DOCUMENT_TYPE_SALES_ORDER,
};
const SHADOW_STATES_TO_WIRE: Readonly<Record<ShadowTopUpRow['state'], transactionV1.ErpDocumentState>> = {
  pending_confirmation: transactionV1.ErpDocumentState.ERP_DOCUMENT_STATE_PENDING_CONFIRMATION,
  confirmed: transactionV1.ErpDocumentState.ERP_DOCUMENT_STATE_CONFIRMED,
  rejected: transactionV1.ErpDocumentState.ERP_DOCUMENT_STATE_REJECTED,
  rejected_unrecoverable: transactionV1.ErpDocumentState.ERP_DOCUMENT_STATE_REJECTED_UNRECOVERABLE,
  written_off: transactionV1.ErpDocumentState.ERP_DOCUMENT_STATE_WRITTEN_OFF,
};
const DOCUMENT_ID = /^[A-Za-z0-9_.:/-]{1,64}$/;

function requireDocumentId(raw: string, field: string): string {
  if (!DOCUMENT_ID.test(raw ?? ''))
    throw LedgerError.invalid(field, 'must be 1 to 64 characters of [A-Za-z0-9_.:/-]');
  return raw;
}

/** Both document fields or neither. */
export function erpDocumentOf(
  request: transactionV1.TopUpRequest,
): { type: ShadowTopUpRow['document_type']; id: string } | undefined {
  const unset =
    !request.erpDocumentType ||
    request.erpDocumentType === transactionV1.ErpDocumentType.ERP_DOCUMENT_TYPE_UNSPECIFIED;
  if (unset && !request.erpDocumentId) return undefined;
  const type = unset ? undefined : DOCUMENT_TYPES[request.erpDocumentType];
  if (!type)
    throw LedgerError.invalid(
      'erp_document_type',
      'must be INVOICE or SALES_ORDER when erp_document_id is set',
    );
  return { type, id: requireDocumentId(request.erpDocumentId, 'erp_document_id') };
}

/**
 * Shadow never exceeds what is posted: spending is not attributed to shadow or confirmed money, so
 * once the wallet holds less than its unconfirmed top-ups all of it is shadow (confirmed 0), and a
 * wallet at or below zero has no shadow.
 */
function erpDocumentView(row: ShadowTopUpRow): transactionV1.ErpDocument {
  return {
    erpDocumentId: row.document_id,
    erpDocumentType: DOCUMENT_TYPES_TO_WIRE[row.document_type],
    walletId: row.wallet_id,
    transactionId: row.transaction_id,
    amount: row.amount_minor,
    state: SHADOW_STATES_TO_WIRE[row.state],
    reason: row.reason,
    reversalTransactionId: row.reversal_id ?? '',
    createdAt: toTimestamp(row.created_at),
    resolvedAt: row.resolved_at ? toTimestamp(row.resolved_at) : undefined,
  };
}
