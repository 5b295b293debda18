import { Metadata } from '@grpc/grpc-js';
import { createGrpcClient, type GrpcClientHandle, type PromiseClientOf } from '@saldo/grpc-kit';
import { protoFile, protoRoot, transactionV1 } from '@saldo/proto';
import type { DocumentState } from './document-store';

type Client = PromiseClientOf<transactionV1.TransactionServiceClient>;

const STATES: Readonly<Partial<Record<transactionV1.ErpDocumentState, DocumentState>>> = {
  [transactionV1.ErpDocumentState.ERP_DOCUMENT_STATE_PENDING_CONFIRMATION]: 'watching',
  [transactionV1.ErpDocumentState.ERP_DOCUMENT_STATE_CONFIRMED]: 'confirmed',
  [transactionV1.ErpDocumentState.ERP_DOCUMENT_STATE_REJECTED]: 'rejected',
  [transactionV1.ErpDocumentState.ERP_DOCUMENT_STATE_REJECTED_UNRECOVERABLE]: 'rejected_unrecoverable',
  [transactionV1.ErpDocumentState.ERP_DOCUMENT_STATE_WRITTEN_OFF]: 'written_off',
};

const OUTCOMES = {
  confirmed: transactionV1.ErpDocumentOutcome.ERP_DOCUMENT_OUTCOME_CONFIRMED,
  rejected: transactionV1.ErpDocumentOutcome.ERP_DOCUMENT_OUTCOME_REJECTED,
  written_off: transactionV1.ErpDocumentOutcome.ERP_DOCUMENT_OUTCOME_WRITTEN_OFF,
} as const;

/** Parses ERP_SYNC_AGGREGATOR_API_KEYS="tenantA=keyA,tenantB=keyB" (the keys the aggregator issued). */
export function parseTenantKeys(raw: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [index, entry] of raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .entries()) {
    const at = entry.indexOf('=');
    const tenant = at > 0 ? entry.slice(0, at).trim() : '';
    const key = at > 0 ? entry.slice(at + 1).trim() : '';
    if (!tenant || key.length < 16)
      throw new Error(
        `ERP_SYNC_AGGREGATOR_API_KEYS: entry ${index + 1}: expected tenant=key (key of 16+ characters)`,
      );
    keys.set(tenant, key);
  }
  return keys;
}

/**
 * erp-sync's way into the transaction-aggregator: the public gRPC API with each tenant's API key,
 * so the shadow state and the reversal of a rejected top-up go through the same use cases (wallet
 * rules, idempotency journal, ledger Void) as every product backend's call.
 */
export class AggregatorGateway {
  private readonly handle: GrpcClientHandle<Client>;

  constructor(
    address: string,
    private readonly keys: ReadonlyMap<string, string>,
    deadlineMs: number,
  ) {
    this.handle = createGrpcClient<Client>({
      protoPath: protoFile('saldo/transaction/v1/transaction.proto'),
      includeDirs: [protoRoot()],
      serviceName: 'saldo.transaction.v1.TransactionService',
      address,
      defaultDeadlineMs: deadlineMs,
      channelOptions: { 'grpc.max_reconnect_backoff_ms': 2_000 },
    });
  }

  /**
   * Hands the ERP's verdict (or an operator's decision on a rejected, unreversible document:
   * rejected again = retry the reversal, written_off) to the aggregator; answers its state there.
   */
  async resolve(
    tenantId: string,
    documentId: string,
    verdict: keyof typeof OUTCOMES,
    reason: string,
  ): Promise<{ state: DocumentState; reason: string }> {
    const key = this.keys.get(tenantId);
    if (!key) throw new Error(`no aggregator API key for tenant ${tenantId} (ERP_SYNC_AGGREGATOR_API_KEYS)`);
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${key}`);
    const document = await this.handle.client.resolveErpDocument(
      {
        erpDocumentId: documentId,
        outcome: OUTCOMES[verdict],
        reason,
      },
      { metadata },
    );
    const state = STATES[document.state];
    if (!state) throw new Error(`aggregator answered document ${documentId} in state ${document.state}`);
    return { state, reason: document.reason };
  }

  close(): void {
    this.handle.close();
  }
}
