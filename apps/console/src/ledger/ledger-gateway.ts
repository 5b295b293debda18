// The Console's adapter to the services: the public TransactionService (per tenant, with that
// tenant's API key) and the wallet-ledger's read RPCs. It will move to @saldo/client once that
// lands; the rest of the Console sees only these methods.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  createGrpcClient,
  ERROR_CODE_METADATA_KEY,
  fromTimestamp,
  type GrpcClientHandle,
} from '@saldo/grpc-kit';
import { protoFile, protoRoot } from '@saldo/proto';
import { ConsoleError } from '../http/console-error';

// The loader's shapes: int64 as strings, enums by name, timestamps as { seconds, nanos }.
type Wire = Record<string, unknown>;
type Unary = (request: Wire, options?: { deadlineMs?: number; metadata?: Metadata }) => Promise<Wire>;

export interface Wallet {
  walletId: string;
  ownerType: string;
  ownerId: string;
  currency: string;
  currencyScale: number;
  role: string;
  parentWalletId: string;
  postedBalance: string;
  pendingDebits: string;
  availableBalance: string;
  confirmedBalance: string;
  shadowBalance: string;
  overdraftLimit: string;
  spendLimit: string;
  periodSpent: string;
  version: string;
  metadata: Record<string, string>;
  createdAt: string | null;
}

export interface Transaction {
  transactionId: string;
  type: string;
  status: string;
  walletId: string;
  fundingWalletId: string;
  amount: string;
  currency: string;
  createdAt: string | null;
  counterpartyWalletId: string;
  productCode: string;
  costAmount: string;
  reference: string;
  relatedTransactionId: string;
  resolvedByTransactionId: string;
  expiresAt: string | null;
  idempotencyKey: string;
  metadata: Record<string, string>;
  /** True when this answer replays an earlier write with the same idempotency key. */
  replayed: boolean;
}

export interface LedgerEntry {
  entryId: string;
  accountId: string;
  side: string;
  phase: string;
  amount: string;
  createdAt: string | null;
  postedBalanceAfter: string;
  availableBalanceAfter: string;
}

const iso = (value: unknown): string | null =>
  fromTimestamp(value as Parameters<typeof fromTimestamp>[0])?.toISOString() ?? null;
const text = (value: unknown) => (typeof value === 'string' ? value : value == null ? '' : String(value));

export function toWallet(w: Wire): Wallet {
  return {
    walletId: text(w['walletId']),
    ownerType: text(w['ownerType']),
    ownerId: text(w['ownerId']),
    currency: text(w['currency']),
    currencyScale: Number(w['currencyScale'] ?? 0),
    role: text(w['role']),
    parentWalletId: text(w['parentWalletId']),
    postedBalance: text(w['postedBalance']),
    pendingDebits: text(w['pendingDebits']),
    availableBalance: text(w['availableBalance']),
    confirmedBalance: text(w['confirmedBalance']),
    shadowBalance: text(w['shadowBalance']),
    overdraftLimit: text(w['overdraftLimit']),
    spendLimit: text(w['spendLimit']),
    periodSpent: text(w['periodSpent']),
    version: text(w['version']),
    metadata: (w['metadata'] as Record<string, string>) ?? {},
    createdAt: iso(w['createdAt']),
  };
}

export function toTransaction(t: Wire): Transaction {
  return {
    transactionId: text(t['transactionId']),
    type: text(t['type']),
    status: text(t['status']),
    walletId: text(t['walletId']),
    fundingWalletId: text(t['fundingWalletId']),
    amount: text(t['amount']),
    currency: text(t['currency']),
    createdAt: iso(t['createdAt']),
    counterpartyWalletId: text(t['counterpartyWalletId']),
    productCode: text(t['productCode']),
    costAmount: text(t['costAmount']),
    reference: text(t['reference']),
    relatedTransactionId: text(t['relatedTransactionId']),
    resolvedByTransactionId: text(t['resolvedByTransactionId']),
    expiresAt: iso(t['expiresAt']),
    idempotencyKey: text(t['idempotencyKey']),
    metadata: (t['metadata'] as Record<string, string>) ?? {},
    replayed: t['replayed'] === true,
  };
}

function toEntry(e: Wire): LedgerEntry {
  const after = (e['balanceAfter'] as Wire | undefined) ?? {};
  return {
    entryId: text(e['entryId']),
    accountId: text(e['accountId']),
    side: text(e['side']).replace(/^ENTRY_SIDE_/, ''),
    phase: text(e['phase']).replace(/^ENTRY_PHASE_/, ''),
    amount: text(e['amount']),
    createdAt: iso(e['createdAt']),
    postedBalanceAfter: text(after['postedBalance']),
    availableBalanceAfter: text(after['availableBalance']),
  };
}

/** gRPC failures as Console errors, with the service's readable message and Saldo reason. */
export function fromGrpcError(error: unknown): ConsoleError {
  const e = error as Partial<ServiceError>;
  if (typeof e.code !== 'number') return new ConsoleError('UPSTREAM_FAILED', String(error));
  const reason = e.metadata?.get(ERROR_CODE_METADATA_KEY)[0]?.toString();
  const message = e.details || e.message || 'failed';
  switch (e.code) {
    case status.NOT_FOUND:
      return new ConsoleError('NOT_FOUND', message, reason);
    case status.INVALID_ARGUMENT:
    case status.OUT_OF_RANGE:
      return new ConsoleError('INVALID_REQUEST', message, reason);
    case status.FAILED_PRECONDITION:
    case status.ALREADY_EXISTS:
    case status.ABORTED:
      return new ConsoleError('REFUSED', message, reason);
    case status.PERMISSION_DENIED:
    case status.UNAUTHENTICATED:
      return new ConsoleError(
        'TENANT_NOT_CONFIGURED',
        `The Console's key for this tenant was refused: ${message}`,
        reason,
      );
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
    case status.RESOURCE_EXHAUSTED:
      return new ConsoleError('UPSTREAM_UNAVAILABLE', `The service is unavailable now: ${message}`, reason);
    default:
      return new ConsoleError('UPSTREAM_FAILED', message, reason);
  }
}

export interface LedgerGatewayOptions {
  aggregatorTarget: string;
  tenantKeys: ReadonlyMap<string, string>;
  ledgerTarget: string;
  ledgerToken?: string;
  deadlineMs: number;
}

export class LedgerGateway {
  private readonly transactions: GrpcClientHandle<Record<string, Unary>>;
  private readonly ledger: GrpcClientHandle<Record<string, Unary>> | undefined;

  constructor(private readonly options: LedgerGatewayOptions) {
    this.transactions = createGrpcClient({
      protoPath: protoFile('saldo/transaction/v1/transaction.proto'),
      includeDirs: [protoRoot()],
      serviceName: 'saldo.transaction.v1.TransactionService',
      address: options.aggregatorTarget,
      defaultDeadlineMs: options.deadlineMs,
    });
    this.ledger = options.ledgerToken
      ? createGrpcClient({
          protoPath: protoFile('saldo/ledger/v1/ledger.proto'),
          includeDirs: [protoRoot()],
          serviceName: 'saldo.ledger.v1.LedgerService',
          address: options.ledgerTarget,
          token: options.ledgerToken,
          defaultDeadlineMs: options.deadlineMs,
        })
      : undefined;
  }

  close(): void {
    this.transactions.close();
    this.ledger?.close();
  }

  tenantConfigured(tenantId: string): boolean {
    return this.options.tenantKeys.has(tenantId);
  }

  private async call(tenantId: string, method: string, request: Wire): Promise<Wire> {
    const key = this.options.tenantKeys.get(tenantId);
    if (!key)
      throw new ConsoleError(
        'TENANT_NOT_CONFIGURED',
        `The Console has no API key for tenant ${tenantId} (CONSOLE_TENANT_API_KEYS).`,
      );
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${key}`);
    const fn = this.transactions.client[method];
    if (!fn) throw new ConsoleError('UPSTREAM_FAILED', `TransactionService has no ${method}`);
    return fn(request, { metadata }).catch((error: unknown) => {
      throw fromGrpcError(error);
    });
  }

  private async ledgerCall(method: string, request: Wire): Promise<Wire> {
    if (!this.ledger)
      throw new ConsoleError(
        'TENANT_NOT_CONFIGURED',
        'The Console has no LEDGER_SERVICE_TOKEN for ledger reads.',
      );
    return this.ledger.client[method]!(request).catch((error: unknown) => {
      throw fromGrpcError(error);
    });
  }

  async getWallet(tenantId: string, walletId: string): Promise<Wallet> {
    return toWallet(await this.call(tenantId, 'getWallet', { walletId }));
  }

  async listTransactions(
    tenantId: string,
    walletId: string,
    pageSize: number,
    pageToken: string,
  ): Promise<{ transactions: Transaction[]; nextPageToken: string }> {
    const response = await this.call(tenantId, 'listTransactions', { walletId, pageSize, pageToken });
    return {
      transactions: ((response['transactions'] as Wire[]) ?? []).map(toTransaction),
      nextPageToken: text(response['nextPageToken']),
    };
  }

  async listChildWallets(
    tenantId: string,
    walletId: string,
    pageToken: string,
  ): Promise<{ wallets: Wallet[]; nextPageToken: string }> {
    const response = await this.call(tenantId, 'listChildWallets', { walletId, pageSize: 100, pageToken });
    return {
      wallets: ((response['wallets'] as Wire[]) ?? []).map(toWallet),
      nextPageToken: text(response['nextPageToken']),
    };
  }

  async getTransaction(tenantId: string, transactionId: string): Promise<Transaction> {
    return toTransaction(await this.call(tenantId, 'getTransaction', { transactionId }));
  }

  /** Releases a hold, or reverses a posted transaction (one linked reversal, at most once). */
  async voidTransaction(
    tenantId: string,
    transactionId: string,
    idempotencyKey: string,
    reason: string,
  ): Promise<Transaction> {
    return toTransaction(await this.call(tenantId, 'void', { transactionId, idempotencyKey, reason }));
  }

  /** The ledger's view of a transaction: its entries, every account it touched. */
  async ledgerEntriesOf(tenantId: string, transactionId: string): Promise<LedgerEntry[]> {
    const tx = await this.ledgerCall('getTransaction', { tenantId, transactionId });
    return ((tx['entries'] as Wire[]) ?? []).map(toEntry);
  }

  /** An account's entries, newest first, up to `limit` (pages of 500). */
  async accountEntries(tenantId: string, accountId: string, limit: number): Promise<LedgerEntry[]> {
    const entries: LedgerEntry[] = [];
    let pageToken = '';
    do {
      const page = await this.ledgerCall('listAccountEntries', {
        tenantId,
        accountId,
        pageSize: Math.min(500, limit - entries.length),
        pageToken,
      });
      entries.push(...((page['entries'] as Wire[]) ?? []).map(toEntry));
      pageToken = text(page['nextPageToken']);
    } while (pageToken && entries.length < limit);
    return entries;
  }
}
