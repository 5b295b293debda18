import type { DocumentType } from './document-store';

/**
 * What the ERP says about a document, from NetSuite's transaction status codes (SuiteQL returns
 * the single letter of `transaction.status`):
 * - invoice (CustInvc): D Pending Approval → pending; A Open, B Paid In Full → confirmed;
 *   E Rejected, V Voided → rejected;
 * - sales order (SalesOrd): A Pending Approval → pending; C Cancelled → rejected; every later
 *   status (B Pending Fulfillment … H Closed) means it was approved → confirmed.
 * A document the ERP does not (yet) know stays pending. Unknown codes stay pending too: an
 * operator sees them in erp_sync.erp_documents.erp_status; money is never reversed on a guess.
 */
export type Verdict = 'pending' | 'confirmed' | 'rejected';

export const NETSUITE_TYPES: Readonly<Record<DocumentType, string>> = {
  invoice: 'CustInvc',
  sales_order: 'SalesOrd',
};

const VERDICTS: Readonly<Record<DocumentType, Readonly<Record<string, Verdict>>>> = {
  invoice: { D: 'pending', A: 'confirmed', B: 'confirmed', E: 'rejected', V: 'rejected' },
  sales_order: {
    A: 'pending',
    B: 'confirmed',
    D: 'confirmed',
    E: 'confirmed',
    F: 'confirmed',
    G: 'confirmed',
    H: 'confirmed',
    C: 'rejected',
  },
};

export function verdictOf(type: DocumentType, status: string | null | undefined): Verdict {
  if (!status) return 'pending';
  return VERDICTS[type][status] ?? 'pending';
}

const TRANID = /^[A-Za-z0-9_.:/-]{1,64}$/;

/** The SuiteQL that reads the status of up to 100 documents (ids are checked, so nothing can be injected). */
export function documentStatusQuery(documentIds: readonly string[]): string {
  if (documentIds.length === 0 || documentIds.length > 100)
    throw new Error('query 1 to 100 documents at a time');
  for (const id of documentIds) if (!TRANID.test(id)) throw new Error(`bad document id "${id}"`);
  const list = documentIds.map((id) => `'${id}'`).join(', ');
  return `SELECT t.tranid AS tranid, t.type AS type, t.status AS status FROM transaction t WHERE t.type IN ('CustInvc', 'SalesOrd') AND t.tranid IN (${list})`;
}
