import type { AmountLimits, TenantId } from '@saldo/ledger-domain';
import type { transactionV1 } from '@saldo/proto';
import type { AggregatorCaches } from '../cache/aggregator-caches';
import type { LedgerApi } from '../ledger/ledger-client';
import type { AggregatorRepository } from './aggregator.repository';
import { bookUsage } from './use-cases/book-usage';
import { capture } from './use-cases/capture';
import { resolveErpDocument } from './use-cases/erp-documents';
import { grantCredit, listGrants } from './use-cases/grants';
import { openWallet } from './use-cases/open-wallet';
import { reserve } from './use-cases/reserve';
import { submitBatch } from './use-cases/submit-batch';
import { topUp } from './use-cases/top-up';
import { getTransaction, listTransactions } from './use-cases/transaction-reads';
import { transfer } from './use-cases/transfer';
import { voidTransaction } from './use-cases/void';
import { getWallet, listChildWallets } from './use-cases/wallet-views';
import { closeWallet } from './use-cases/close-wallet';
import { exportStatement } from './use-cases/export-statement';
import { findWallets } from './use-cases/find-wallets';
import { freezeWallet, unfreezeWallet } from './use-cases/freeze-wallet';
import { updateWallet } from './use-cases/update-wallet';
import type { MigrationGuard } from './migration-guard';
import { WalletContext, type BatchingOptions } from './wallet-context';

/**
 * The business actions of the public API, turned into ledger postings under the wallet models.
 * One use case per file in ./use-cases (STYLE.md 12); this class is the one door the gRPC
 * controller and the Pub/Sub intake call, with the shared context (database, ledger) wired once.
 */
export class AggregatorService {
  readonly context: WalletContext;

  constructor(
    repository: AggregatorRepository,
    ledger: LedgerApi,
    caches?: AggregatorCaches,
    batching?: BatchingOptions,
    limits?: AmountLimits,
    migrations?: MigrationGuard,
  ) {
    this.context = new WalletContext(repository, ledger, caches, batching, limits, migrations);
  }

  openWallet(tenant: TenantId, request: transactionV1.OpenWalletRequest): Promise<transactionV1.Wallet> {
    return openWallet(this.context, tenant, request);
  }
  getWallet(tenant: TenantId, request: transactionV1.GetWalletRequest): Promise<transactionV1.Wallet> {
    return getWallet(this.context, tenant, request);
  }
  listChildWallets(
    tenant: TenantId,
    request: transactionV1.ListChildWalletsRequest,
  ): Promise<transactionV1.ListChildWalletsResponse> {
    return listChildWallets(this.context, tenant, request);
  }
  topUp(tenant: TenantId, request: transactionV1.TopUpRequest): Promise<transactionV1.Transaction> {
    return topUp(this.context, tenant, request);
  }
  bookUsage(tenant: TenantId, request: transactionV1.BookUsageRequest): Promise<transactionV1.Transaction> {
    return bookUsage(this.context, tenant, request);
  }
  transfer(tenant: TenantId, request: transactionV1.TransferRequest): Promise<transactionV1.Transaction> {
    return transfer(this.context, tenant, request);
  }
  reserve(tenant: TenantId, request: transactionV1.ReserveRequest): Promise<transactionV1.Transaction> {
    return reserve(this.context, tenant, request);
  }
  capture(tenant: TenantId, request: transactionV1.CaptureRequest): Promise<transactionV1.Transaction> {
    return capture(this.context, tenant, request);
  }
  void(tenant: TenantId, request: transactionV1.VoidRequest): Promise<transactionV1.Transaction> {
    return voidTransaction(this.context, tenant, request);
  }
  getTransaction(
    tenant: TenantId,
    request: transactionV1.GetTransactionRequest,
  ): Promise<transactionV1.Transaction> {
    return getTransaction(this.context, tenant, request);
  }
  listTransactions(
    tenant: TenantId,
    request: transactionV1.ListTransactionsRequest,
  ): Promise<transactionV1.ListTransactionsResponse> {
    return listTransactions(this.context, tenant, request);
  }
  resolveErpDocument(
    tenant: TenantId,
    request: transactionV1.ResolveErpDocumentRequest,
  ): Promise<transactionV1.ErpDocument> {
    return resolveErpDocument(this.context, tenant, request);
  }
  // Wallet lifecycle (issue 12).
  findWallets(
    tenant: TenantId,
    request: transactionV1.FindWalletsRequest,
  ): Promise<transactionV1.FindWalletsResponse> {
    return findWallets(this.context, tenant, request);
  }
  updateWallet(tenant: TenantId, request: transactionV1.UpdateWalletRequest): Promise<transactionV1.Wallet> {
    return updateWallet(this.context, tenant, request);
  }
  freezeWallet(tenant: TenantId, request: transactionV1.FreezeWalletRequest): Promise<transactionV1.Wallet> {
    return freezeWallet(this.context, tenant, request);
  }
  unfreezeWallet(
    tenant: TenantId,
    request: transactionV1.UnfreezeWalletRequest,
  ): Promise<transactionV1.Wallet> {
    return unfreezeWallet(this.context, tenant, request);
  }
  closeWallet(tenant: TenantId, request: transactionV1.CloseWalletRequest): Promise<transactionV1.Wallet> {
    return closeWallet(this.context, tenant, request);
  }
  exportStatement(
    tenant: TenantId,
    request: transactionV1.ExportStatementRequest,
  ): Promise<transactionV1.Statement> {
    return exportStatement(this.context, tenant, request);
  }
  submitBatch(
    tenant: TenantId,
    request: transactionV1.SubmitBatchRequest,
  ): Promise<transactionV1.SubmitBatchResponse> {
    return submitBatch(this.context, tenant, request);
  }
  grantCredit(
    tenant: TenantId,
    request: transactionV1.GrantCreditRequest,
  ): Promise<transactionV1.Transaction> {
    return grantCredit(this.context, tenant, request);
  }
  listGrants(
    tenant: TenantId,
    request: transactionV1.ListGrantsRequest,
  ): Promise<transactionV1.ListGrantsResponse> {
    return listGrants(this.context, tenant, request);
  }
}
