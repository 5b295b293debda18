import { credentials, Metadata, status, type ServiceError, type Client } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import {
  ERROR_CODE_METADATA_KEY,
  ERROR_FIELD_METADATA_KEY,
  PROTO_LOADER_OPTIONS,
  decodeStatusDetails,
} from '@saldo/grpc-kit';
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
  getTransaction: Unary<ledgerV1.GetTransactionRequest, ledgerV1.Transaction>;
  listAccountTransactions: Unary<ledgerV1.ListAccountTransactionsRequest, ledgerV1.ListTransactionsResponse>;
}

const METHODS = [
  'defineAsset',
  'openAccount',
  'getAccount',
  'postTransaction',
  'postPending',
  'voidPending',
  'reverseTransaction',
  'getTransaction',
  'listAccountTransactions',
] as const satisfies ReadonlyArray<keyof LedgerApi>;

/**
 * A gRPC client of saldo.ledger.v1.LedgerService. Every call carries the service token and a
 * deadline; the ledger's coded errors come back as LedgerErrors with the same code and field, and
 * an unreachable or slow ledger becomes DEPENDENCY_UNAVAILABLE (the caller retries with its key).
 */
export class LedgerClient {
  readonly api: LedgerApi;
  private readonly client: Client;

  constructor(
    target: string,
    token: string,
    private readonly deadlineMs: number,
  ) {
    const definition = loadSync(protoFile('saldo/ledger/v1/ledger.proto'), {
      ...PROTO_LOADER_OPTIONS,
      includeDirs: [protoRoot()],
    });
    const pkg = loadPackageDefinition(definition) as unknown as {
      saldo: {
        ledger: {
          v1: {
            LedgerService: new (
              target: string,
              creds: ReturnType<typeof credentials.createInsecure>,
              options?: object,
            ) => Client;
          };
        };
      };
    };
    this.client = new pkg.saldo.ledger.v1.LedgerService(target, credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.max_reconnect_backoff_ms': 2_000,
    });
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const api: Partial<Record<keyof LedgerApi, Unary<unknown, unknown>>> = {};
    for (const method of METHODS) {
      api[method] = (request: unknown) => this.call(method, request, metadata);
    }
    this.api = api as LedgerApi;
  }

  close(): void {
    this.client.close();
  }

  private call(method: string, request: unknown, metadata: Metadata): Promise<unknown> {
    type UnaryCall = (
      req: unknown,
      md: Metadata,
      options: { deadline: Date },
      callback: (error: ServiceError | null, response: unknown) => void,
    ) => void;
    const fn = (this.client as unknown as Record<string, UnaryCall>)[method] as UnaryCall;
    return new Promise((resolve, reject) => {
      fn.call(
        this.client,
        request,
        metadata.clone(),
        { deadline: new Date(Date.now() + this.deadlineMs) },
        (error, response) => (error ? reject(fromLedgerError(error, method)) : resolve(response)),
      );
    });
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
  switch (error.code) {
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
    case status.RESOURCE_EXHAUSTED:
    case status.CANCELLED:
      return new LedgerError(
        'DEPENDENCY_UNAVAILABLE',
        `the ledger is unavailable (${method}: ${status[error.code]}); retry with the same idempotency key`,
      );
    case status.ABORTED:
      return new LedgerError(
        'CONFLICT_RETRY',
        `the ledger asked to retry (${method}); retry with the same idempotency key`,
      );
    default:
      // A misconfigured token or a ledger bug: not the caller's fault. A plain Error is logged in
      // full by the error filter and leaves as INTERNAL without its text.
      return new Error(`ledger ${method} failed with ${status[error.code] ?? error.code}: ${error.details}`);
  }
}

/** Ledger field names that have a different name in the public API. */
function publicField(field: string): string {
  if (field === 'pending_transaction_id') return 'transaction_id';
  return field;
}
