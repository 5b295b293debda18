import { status, type ServiceError } from '@grpc/grpc-js';
import {
  ERROR_CODE_METADATA_KEY,
  ERROR_FIELD_METADATA_KEY,
  createGrpcClient,
  decodeStatusDetails,
  type GrpcClientHandle,
  type PromiseClientOf,
} from '@saldo/grpc-kit';
import { dependencyError } from '@saldo/faults';
import { LEDGER_ERROR_CODES, LedgerError, type LedgerErrorCode } from '@saldo/ledger-domain';
import { ledgerV1, protoFile, protoRoot } from '@saldo/proto';

type Unary<Req, Res> = (request: Req) => Promise<Res>;

/** The ledger calls the aggregator makes, as promises. */
export interface LedgerApi {
  defineAsset: Unary<ledgerV1.DefineAssetRequest, ledgerV1.Asset>;
  openAccount: Unary<ledgerV1.OpenAccountRequest, ledgerV1.Account>;
  getAccount: Unary<ledgerV1.GetAccountRequest, ledgerV1.Account>;
  postTransaction: Unary<ledgerV1.PostTransactionRequest, ledgerV1.Transaction>;
  postPending: Unary<ledgerV1.PostPendingRequest, ledgerV1.Transaction>;
  voidPending: Unary<ledgerV1.VoidPendingRequest, ledgerV1.Transaction>;
  reverseTransaction: Unary<ledgerV1.ReverseTransactionRequest, ledgerV1.Transaction>;
  confirmShadowCredit: Unary<ledgerV1.ConfirmShadowCreditRequest, ledgerV1.ShadowCredit>;
  getTransaction: Unary<ledgerV1.GetTransactionRequest, ledgerV1.Transaction>;
  listAccountTransactions: Unary<ledgerV1.ListAccountTransactionsRequest, ledgerV1.ListTransactionsResponse>;
  listAccountEntries: Unary<ledgerV1.ListAccountEntriesRequest, ledgerV1.ListAccountEntriesResponse>;
  postBatch: Unary<ledgerV1.PostBatchRequest, ledgerV1.PostBatchResponse>;
  openGrant: Unary<ledgerV1.OpenGrantRequest, ledgerV1.Grant>;
  listGrants: Unary<ledgerV1.ListGrantsRequest, ledgerV1.ListGrantsResponse>;
}

const METHODS = [
  'defineAsset',
  'openAccount',
  'getAccount',
  'postTransaction',
  'postPending',
  'voidPending',
  'reverseTransaction',
  'confirmShadowCredit',
  'getTransaction',
  'listAccountTransactions',
  'listAccountEntries',
  'postBatch',
  'openGrant',
  'listGrants',
] as const satisfies ReadonlyArray<keyof LedgerApi>;

/**
 * A gRPC client of saldo.ledger.v1.LedgerService (the shared promise client of @saldo/grpc-kit).
 * Every call carries the service token and a deadline; the ledger's coded errors come back as
 * LedgerErrors with the same code and field, and an unreachable or slow ledger becomes
 * DEPENDENCY_UNAVAILABLE (the caller retries with its key).
 */
export class LedgerClient {
  readonly api: LedgerApi;
  private readonly handle: GrpcClientHandle<PromiseClientOf<ledgerV1.LedgerServiceClient>>;

  constructor(target: string, token: string, deadlineMs: number) {
    this.handle = createGrpcClient<PromiseClientOf<ledgerV1.LedgerServiceClient>>({
      protoPath: protoFile('saldo/ledger/v1/ledger.proto'),
      includeDirs: [protoRoot()],
      serviceName: 'saldo.ledger.v1.LedgerService',
      address: target,
      token,
      defaultDeadlineMs: deadlineMs,
      channelOptions: { 'grpc.max_reconnect_backoff_ms': 2_000 },
    });
    const api: Partial<Record<keyof LedgerApi, Unary<unknown, unknown>>> = {};
    for (const method of METHODS) {
      const call = this.handle.client[method] as unknown as Unary<unknown, unknown>;
      api[method] = (request: unknown) =>
        call(request).catch((error: ServiceError) => Promise.reject(fromLedgerError(error, method)));
    }
    this.api = api as LedgerApi;
  }

  close(): void {
    this.handle.close();
  }
}

const KNOWN_CODES = new Set<string>(LEDGER_ERROR_CODES);

/** The ledger's error as a LedgerError: its own code when it sent one, else by gRPC status. */
export function fromLedgerError(error: ServiceError, method: string): LedgerError | Error {
  const trailer = error.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
  const field = error.metadata?.get(ERROR_FIELD_METADATA_KEY)[0];
  const code =
    typeof trailer === 'string' && KNOWN_CODES.has(trailer) ? (trailer as LedgerErrorCode) : undefined;
  if (code && code !== 'INTERNAL' && code !== 'UNAUTHENTICATED' && code !== 'PERMISSION_DENIED') {
    const details = error.metadata.get('grpc-status-details-bin')[0];
    const facts = Buffer.isBuffer(details) ? decodeStatusDetails(details).facts : undefined;
    return new LedgerError(code, error.details || error.message, {
      field: typeof field === 'string' ? publicField(field) : undefined,
      facts,
    });
  }
  // Unreachable, slow, overloaded or "retry": @saldo/faults says which (the caller retries with its key).
  const dependency = dependencyError(error, `the ledger (${method})`);
  if (dependency) return dependency;
  // A misconfigured token or a ledger bug: not the caller's fault. A plain Error is logged in
  // full by the error filter and leaves as INTERNAL without its text.
  return new Error(`ledger ${method} failed with ${status[error.code] ?? error.code}: ${error.details}`);
}

/** One command's refusal in a PostBatch answer, as the LedgerError a unary call would have thrown. */
export function ledgerOutcomeError(error: ledgerV1.BatchCommandError): LedgerError | Error {
  const code = KNOWN_CODES.has(error.code) ? (error.code as LedgerErrorCode) : undefined;
  if (code === 'DEPENDENCY_UNAVAILABLE' || code === 'CONFLICT_RETRY')
    return new LedgerError(code, `${error.message}; retry with the same idempotency key`);
  if (code && code !== 'INTERNAL' && code !== 'UNAUTHENTICATED' && code !== 'PERMISSION_DENIED') {
    return new LedgerError(code, error.message, {
      field: error.field ? publicField(error.field) : undefined,
      facts: Object.keys(error.facts ?? {}).length > 0 ? error.facts : undefined,
    });
  }
  // Not the caller's fault (a ledger bug or a misconfiguration): leaves as INTERNAL without its text.
  return new Error(`ledger PostBatch command failed with ${error.code} (${error.status}): ${error.message}`);
}

/** Ledger field names that have a different name in the public API. */
function publicField(field: string): string {
  if (field === 'pending_transaction_id') return 'transaction_id';
  return field;
}
