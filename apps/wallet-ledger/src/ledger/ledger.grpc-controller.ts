import { Controller, UseGuards } from '@nestjs/common';
import { ledgerV1 } from '@saldo/proto';
import { GrantsService } from '../grants/grants.service';
import { LedgerService } from './ledger.service';
import { ServiceTokenGuard } from './service-token.guard';

/** saldo.ledger.v1.LedgerService over gRPC: authentication, then straight to the use cases. */
@Controller()
@UseGuards(ServiceTokenGuard)
@ledgerV1.LedgerServiceControllerMethods()
export class LedgerGrpcController implements ledgerV1.LedgerServiceController {
  constructor(
    private readonly ledger: LedgerService,
    private readonly grants: GrantsService,
  ) {}

  defineAsset(request: ledgerV1.DefineAssetRequest) {
    return this.ledger.defineAsset(request);
  }
  openAccount(request: ledgerV1.OpenAccountRequest) {
    return this.ledger.openAccount(request);
  }
  getAccount(request: ledgerV1.GetAccountRequest) {
    return this.ledger.getAccount(request);
  }
  listSystemAccounts(request: ledgerV1.ListSystemAccountsRequest) {
    return this.ledger.listSystemAccounts(request);
  }
  getBalance(request: ledgerV1.GetBalanceRequest) {
    return this.ledger.getBalance(request);
  }
  postTransaction(request: ledgerV1.PostTransactionRequest) {
    return this.ledger.postTransaction(request);
  }
  postPending(request: ledgerV1.PostPendingRequest) {
    return this.ledger.postPending(request);
  }
  voidPending(request: ledgerV1.VoidPendingRequest) {
    return this.ledger.voidPending(request);
  }
  reverseTransaction(request: ledgerV1.ReverseTransactionRequest) {
    return this.ledger.reverseTransaction(request);
  }
  postBatch(request: ledgerV1.PostBatchRequest) {
    return this.ledger.postBatch(request);
  }
  confirmShadowCredit(request: ledgerV1.ConfirmShadowCreditRequest) {
    return this.ledger.confirmShadowCredit(request);
  }
  getTransaction(request: ledgerV1.GetTransactionRequest) {
    return this.ledger.getTransaction(request);
  }
  listAccountTransactions(request: ledgerV1.ListAccountTransactionsRequest) {
    return this.ledger.listAccountTransactions(request);
  }
  listAccountEntries(request: ledgerV1.ListAccountEntriesRequest) {
    return this.ledger.listAccountEntries(request);
  }
  openGrant(request: ledgerV1.OpenGrantRequest) {
    return this.grants.openGrant(request);
  }
  listGrants(request: ledgerV1.ListGrantsRequest) {
    return this.grants.listGrants(request);
  }
}
