import type { Metadata } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { bearerTokenOf } from '@saldo/grpc-kit';
import type { TenantId } from '@saldo/ledger-domain';
import { transactionV1 } from '@saldo/proto';
import { Admission } from '../admission/admission';
import { ApiKeyStore } from '../auth/api-key.store';
import type { ApiKeyScope } from '../auth/scopes';
import { AggregatorService } from '../wallets/aggregator.service';

/**
 * saldo.transaction.v1.TransactionService over gRPC. Every method authenticates first (the API
 * key names the tenant), then hands the tenant and the request to the use case: no request field
 * can choose the tenant.
 */
@Controller()
@transactionV1.TransactionServiceControllerMethods()
export class TransactionGrpcController implements transactionV1.TransactionServiceController {
  constructor(
    private readonly keys: ApiKeyStore,
    private readonly service: AggregatorService,
    private readonly admission: Admission,
  ) {}

  openWallet(request: transactionV1.OpenWalletRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.openWallet(tenant, request));
  }
  getWallet(request: transactionV1.GetWalletRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.getWallet(tenant, request), 'wallets:read');
  }
  topUp(request: transactionV1.TopUpRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.topUp(tenant, request));
  }
  bookUsage(request: transactionV1.BookUsageRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.bookUsage(tenant, request));
  }
  transfer(request: transactionV1.TransferRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.transfer(tenant, request));
  }
  reserve(request: transactionV1.ReserveRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.reserve(tenant, request));
  }
  capture(request: transactionV1.CaptureRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.capture(tenant, request));
  }
  void(request: transactionV1.VoidRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.void(tenant, request));
  }
  getTransaction(request: transactionV1.GetTransactionRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.getTransaction(tenant, request), 'wallets:read');
  }
  listTransactions(request: transactionV1.ListTransactionsRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.listTransactions(tenant, request), 'wallets:read');
  }
  listChildWallets(request: transactionV1.ListChildWalletsRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.listChildWallets(tenant, request), 'wallets:read');
  }
  resolveErpDocument(request: transactionV1.ResolveErpDocumentRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.resolveErpDocument(tenant, request), 'erp:resolve');
  }
  submitBatch(request: transactionV1.SubmitBatchRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.submitBatch(tenant, request));
  }
  grantCredit(request: transactionV1.GrantCreditRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.grantCredit(tenant, request));
  }
  listGrants(request: transactionV1.ListGrantsRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.listGrants(tenant, request), 'wallets:read');
  }

  findWallets(request: transactionV1.FindWalletsRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.findWallets(tenant, request), 'wallets:read');
  }
  updateWallet(request: transactionV1.UpdateWalletRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.updateWallet(tenant, request));
  }
  freezeWallet(request: transactionV1.FreezeWalletRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.freezeWallet(tenant, request));
  }
  unfreezeWallet(request: transactionV1.UnfreezeWalletRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.unfreezeWallet(tenant, request));
  }
  closeWallet(request: transactionV1.CloseWalletRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.closeWallet(tenant, request));
  }
  exportStatement(request: transactionV1.ExportStatementRequest, metadata?: Metadata) {
    return this.as(metadata, (tenant) => this.service.exportStatement(tenant, request), 'wallets:read');
  }

  /** Authorizes the key for the method's scope (writes by default), then runs the use case. */
  private async as<T>(
    metadata: Metadata | undefined,
    work: (tenant: TenantId) => Promise<T>,
    scope: ApiKeyScope = 'wallets:write',
  ): Promise<T> {
    const tenant = await this.keys.authorize(bearerTokenOf(metadata), scope);
    await this.admission.admitTenant(tenant);
    return work(tenant);
  }
}
