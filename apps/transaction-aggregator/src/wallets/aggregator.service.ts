import { randomUUID } from 'node:crypto';
import {
  LedgerError,
  parseAmount,
  parseOptionalAmount,
  requestFingerprint,
  type TenantId,
} from '@saldo/ledger-domain';
import { toTimestamp } from '@saldo/grpc-kit';
import { ledgerV1, transactionV1 } from '@saldo/proto';
import type { LedgerApi } from '../ledger/ledger-client';
import type {
  AggregatorRepository,
  OperationClaim,
  OwnerType,
  PeriodUnit,
  ShadowTopUpRow,
  SpendClaim,
  WalletRole,
  WalletRow,
} from './aggregator.repository';
import { currencyScale } from './currencies';
import type { MigrationGuard } from './migration-guard';
import {
  callerMetadata,
  MAX_HOLD_SECONDS,
  optionalText,
  pageSizeOf,
  requirePublicKey,
  requiredText,
  requireWalletId,
} from './input';
import {
  referencesOf,
  toPublicTransaction,
  walletAmountOf,
  type PostingReferences,
} from './transaction-view';

const A = ledgerV1.AccountType;
const DEBIT = ledgerV1.EntrySide.ENTRY_SIDE_DEBIT;
const CREDIT = ledgerV1.EntrySide.ENTRY_SIDE_CREDIT;

const OWNER_TYPES: Readonly<Record<string, OwnerType>> = {
  [transactionV1.WalletOwnerType.PERSONAL]: 'personal',
  [transactionV1.WalletOwnerType.ENTERPRISE]: 'enterprise',
  [transactionV1.WalletOwnerType.RESELLER]: 'reseller',
};
const OWNER_TYPES_TO_WIRE: Readonly<Record<OwnerType, transactionV1.WalletOwnerType>> = {
  personal: transactionV1.WalletOwnerType.PERSONAL,
  enterprise: transactionV1.WalletOwnerType.ENTERPRISE,
  reseller: transactionV1.WalletOwnerType.RESELLER,
};
const ROLES_TO_WIRE: Readonly<Record<WalletRole, transactionV1.WalletRole>> = {
  standalone: transactionV1.WalletRole.WALLET_ROLE_STANDALONE,
  member: transactionV1.WalletRole.WALLET_ROLE_MEMBER,
  client: transactionV1.WalletRole.WALLET_ROLE_CLIENT,
};

/** Transient failures leave the claim started: the outcome is unknown until a retry with the same key. */
const TRANSIENT_CODES = new Set(['DEPENDENCY_UNAVAILABLE', 'CONFLICT_RETRY']);

/** The account a wallet spends from and how its usage is attributed. */
interface Funding {
  wallet: WalletRow;
  /** The wallet whose ledger account moves (the organisation for a member). */
  funder: WalletRow;
  accountId: string;
}

/**
 * The business actions of the public API, turned into ledger postings under the wallet models.
 * Each write: validate everything that needs no I/O, apply the model's rules (on wallet facts that
 * never change), claim the caller's idempotency key in the aggregator's journal (checking a
 * member's spend limit under a row lock), then make ONE ledger call whose idempotency key is
 * derived from the caller's, so a retry of the whole flow after any crash posts at most once.
 */
export class AggregatorService {
  constructor(
    private readonly repository: AggregatorRepository,
    private readonly ledger: LedgerApi,
    private readonly migrations?: MigrationGuard,
  ) {}

  async openWallet(
    tenant: TenantId,
    request: transactionV1.OpenWalletRequest,
  ): Promise<transactionV1.Wallet> {
    const key = requirePublicKey(request.idempotencyKey);
    const ownerType = OWNER_TYPES[request.ownerType];
    if (!ownerType) throw LedgerError.invalid('owner_type', 'must be PERSONAL, ENTERPRISE or RESELLER');
    const ownerId = requiredText(request.ownerId, 'owner_id', 128);
    const { code: currency, scale } = currencyScale(request.currency);
    const parentId = request.parentWalletId
      ? requireWalletId(request.parentWalletId, 'parent_wallet_id')
      : null;
    const overdraft = parseAmount(request.overdraftLimit || '0', 'overdraft_limit', { allowZero: true });
    const spendLimit = parseOptionalAmount(request.spendLimit, 'spend_limit');
    const period = limitPeriodOf(request.limitPeriod);
    const metadata = callerMetadata(request.metadata);

    const parent = parentId ? await this.requireWallet(tenant, parentId, 'parent_wallet_id') : undefined;
    const role = roleUnder(parent, ownerType, currency);
    if (role === 'member' && overdraft > 0n) {
      throw LedgerError.invalid(
        'overdraft_limit',
        "a member spends its organisation's balance and has no overdraft of its own",
      );
    }
    if (
      role !== 'member' &&
      (spendLimit !== undefined || request.limitPeriod !== transactionV1.LimitPeriod.LIMIT_PERIOD_UNSPECIFIED)
    ) {
      throw LedgerError.invalid(
        spendLimit !== undefined ? 'spend_limit' : 'limit_period',
        'only enterprise members have a spend limit',
      );
    }

    const command = {
      owner_type: ownerType,
      owner_id: ownerId,
      currency,
      parent_wallet_id: parentId,
      overdraft_limit: overdraft.toString(),
      spend_limit: spendLimit?.toString() ?? null,
      limit_period: period,
      metadata,
    };
    const claimed = await this.repository.claim(tenant, {
      key,
      action: 'OpenWallet',
      requestHash: requestFingerprint('OpenWallet', command),
      resultId: randomUUID(),
    });
    const walletId = claimed.operation.result_id as string;
    if (claimed.kind === 'replay') return { ...(await this.getWallet(tenant, { walletId })), replayed: true };

    await this.settle(tenant, key, async () => {
      await this.ledger.defineAsset({ tenantId: tenant, code: currency, scale });
      const accountId =
        role === 'member'
          ? null
          : (
              await this.ledger.openAccount({
                tenantId: tenant,
                idempotencyKey: ledgerKey('openwallet', key),
                assetCode: currency,
                type: A.ACCOUNT_TYPE_WALLET,
                overdraftLimit: command.overdraft_limit,
                externalRef: walletId,
                // The owner contract of the ledger's events and Firestore mirror (docs/events.md):
                // documents are keyed by the public wallet id, readable by its owner.
                metadata: {
                  wallet_id: walletId,
                  owner_type: ownerType,
                  owner_id: ownerId,
                  ...(parent ? { parent_owner_id: parent.owner_id } : {}),
                },
              })
            ).accountId;
      await this.repository.insertWallet(tenant, {
        id: walletId,
        owner_type: ownerType,
        owner_id: ownerId,
        currency,
        role,
        parent_wallet_id: parentId,
        ledger_account_id: accountId,
        spend_limit_minor: command.spend_limit,
        limit_period: period,
        metadata,
      });
      return walletId;
    });
    return this.getWallet(tenant, { walletId });
  }

  async getWallet(tenant: TenantId, request: transactionV1.GetWalletRequest): Promise<transactionV1.Wallet> {
    const wallet = await this.requireWallet(
      tenant,
      requireWalletId(request.walletId, 'wallet_id'),
      'wallet_id',
    );
    const funding = await this.fundingOf(tenant, wallet);
    const account = await this.ledger.getAccount({ tenantId: tenant, accountId: funding.accountId });
    return this.walletView(tenant, wallet, account);
  }

  async listChildWallets(
    tenant: TenantId,
    request: transactionV1.ListChildWalletsRequest,
  ): Promise<transactionV1.ListChildWalletsResponse> {
    const parent = await this.requireWallet(
      tenant,
      requireWalletId(request.walletId, 'wallet_id'),
      'wallet_id',
    );
    const pageSize = pageSizeOf(request.pageSize, 50, 100);
    const after = request.pageToken ? decodeToken(request.pageToken, `children:${parent.id}`) : undefined;
    const rows = await this.repository.listChildren(tenant, parent.id, after, pageSize + 1);
    const page = rows.slice(0, pageSize);
    const accounts = new Map<string, Promise<ledgerV1.Account>>();
    const accountOf = (accountId: string) => {
      if (!accounts.has(accountId))
        accounts.set(accountId, this.ledger.getAccount({ tenantId: tenant, accountId }));
      return accounts.get(accountId) as Promise<ledgerV1.Account>;
    };
    const wallets = await Promise.all(
      page.map(async (child) =>
        this.walletView(
          tenant,
          child,
          await accountOf(child.ledger_account_id ?? (parent.ledger_account_id as string)),
        ),
      ),
    );
    const last = page[page.length - 1];
    return {
      wallets,
      nextPageToken: rows.length > pageSize && last ? encodeToken(`children:${parent.id}`, last.id) : '',
    };
  }

  async topUp(tenant: TenantId, request: transactionV1.TopUpRequest): Promise<transactionV1.Transaction> {
    const key = requirePublicKey(request.idempotencyKey);
    const walletId = requireWalletId(request.walletId, 'wallet_id');
    const amount = parseAmount(request.amount, 'amount');
    const reference = optionalText(request.reference, 'reference', 256);
    const metadata = callerMetadata(request.metadata);
    const funding = await this.fundingOf(tenant, await this.requireWallet(tenant, walletId, 'wallet_id'));
    if (funding.wallet.role === 'member') {
      throw rule(
        'wallet_id',
        "a member wallet spends its organisation's balance: top up the enterprise wallet instead",
      );
    }
    const document = erpDocumentOf(request);
    const command = {
      wallet_id: walletId,
      amount: amount.toString(),
      reference,
      metadata,
      ...(document ? { erp_document_type: document.type, erp_document_id: document.id } : {}),
    };
    if (document) {
      const earlier = await this.repository.findShadowTopUp(tenant, document.id);
      if (earlier && (earlier.wallet_id !== walletId || earlier.amount_minor !== command.amount))
        throw rule(
          'erp_document_id',
          `document ${document.id} already topped up wallet ${earlier.wallet_id} (transaction ${earlier.transaction_id})`,
        );
    }
    const transaction = await this.post(
      tenant,
      { key, action: 'TopUp', requestHash: requestFingerprint('TopUp', command), walletId },
      {
        tenantId: tenant,
        // One document, one posting: the ledger's own idempotency refuses a second, different
        // top-up of the same document (whatever key the caller used) and replays an identical one.
        idempotencyKey: document ? ledgerKey('topup-doc', document.id) : ledgerKey('topup', key),
        assetCode: funding.wallet.currency,
        legs: [
          { accountId: '', systemAccount: A.ACCOUNT_TYPE_CASH_CLEARING, side: DEBIT, amount: command.amount },
          {
            accountId: funding.accountId,
            systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
            side: CREDIT,
            amount: command.amount,
          },
        ],
        pending: false,
        timeoutSeconds: 0,
        action: 'TOP_UP',
        references: {
          ...referencesOf({ ...this.refsOf(funding), reference }),
          ...(document ? { erp_document: document.id, erp_document_type: document.type } : {}),
        },
        metadata,
        // The ledger records the credit as shadow in the posting's own transaction.
        ...(document ? { shadowDocumentId: document.id } : {}),
      },
    );
    if (document) {
      // After the posting: a crash in between leaves the top-up unrecorded as shadow until the
      // caller's retry (same key, replayed by the ledger) records it.
      await this.repository.recordShadowTopUp(tenant, {
        document_id: document.id,
        document_type: document.type,
        wallet_id: walletId,
        account_id: funding.accountId,
        transaction_id: transaction.transactionId,
        amount_minor: command.amount,
      });
    }
    return transaction;
  }

  /**
   * The ERP's verdict on a document top-up. Confirmed: it stops being shadow. Rejected: the top-up
   * is reversed through Void with a key derived from the document (so a repeated verdict, poll or
   * webhook reverses at most once), then marked rejected; a reversal the ledger refuses for good
   * (the money was spent) is marked rejected_unrecoverable with the reason. Such a document is for
   * the tenant's operator: REJECTED again tries the reversal again, WRITTEN_OFF lets the customer
   * keep the money (it stops being shadow; finance books the loss in the ERP).
   */
  async resolveErpDocument(
    tenant: TenantId,
    request: transactionV1.ResolveErpDocumentRequest,
  ): Promise<transactionV1.ErpDocument> {
    const documentId = requireDocumentId(request.erpDocumentId, 'erp_document_id');
    const reason = optionalText(request.reason, 'reason', 256);
    const row = await this.repository.findShadowTopUp(tenant, documentId);
    if (!row)
      throw new LedgerError(
        'TRANSACTION_NOT_FOUND',
        `erp_document_id: no top-up from document ${documentId}`,
        {
          field: 'erp_document_id',
        },
      );
    const O = transactionV1.ErpDocumentOutcome;
    switch (request.outcome) {
      case O.ERP_DOCUMENT_OUTCOME_CONFIRMED:
        return this.confirmDocument(tenant, row, reason);
      case O.ERP_DOCUMENT_OUTCOME_REJECTED:
        return this.rejectDocument(tenant, row, reason);
      case O.ERP_DOCUMENT_OUTCOME_WRITTEN_OFF:
        return this.writeOffDocument(tenant, row, reason);
      default:
        throw LedgerError.invalid(
          'outcome',
          'must be ERP_DOCUMENT_OUTCOME_CONFIRMED, ERP_DOCUMENT_OUTCOME_REJECTED or ERP_DOCUMENT_OUTCOME_WRITTEN_OFF',
        );
    }
  }

  private async confirmDocument(tenant: TenantId, row: ShadowTopUpRow, reason: string) {
    // The ledger first (idempotent), so a crash in between is finished by the next verdict.
    if (row.state === 'pending_confirmation')
      await this.settleShadowCredit(tenant, row, `ERP document ${row.document_id} confirmed`, reason);
    const updated = await this.repository.resolveShadowTopUp(
      tenant,
      row.document_id,
      ['pending_confirmation'],
      {
        state: 'confirmed',
        reason,
      },
    );
    return erpDocumentView(updated ?? row);
  }

  private async rejectDocument(tenant: TenantId, row: ShadowTopUpRow, reason: string) {
    // A cancellation after a confirmation reverses too; a completed reversal or a write-off is final.
    if (row.state === 'rejected' || row.state === 'written_off') return erpDocumentView(row);
    const documentId = row.document_id;
    // An operator's retry gets a key of its own: the first attempt's request (and reason) differ.
    const retry = row.state === 'rejected_unrecoverable';
    try {
      // Void marks the document rejected with its reversal (as it does for a tenant's own Void).
      await this.void(tenant, {
        idempotencyKey: retry ? `shadow-reject-retry:${documentId}` : `shadow-reject:${documentId}`,
        transactionId: row.transaction_id,
        reason: retry
          ? `ERP document ${documentId} rejected (retried)`
          : `ERP document ${documentId} rejected${reason ? `: ${reason}` : ''}`.slice(0, 256),
      });
    } catch (error) {
      if (!(error instanceof LedgerError) || TRANSIENT_CODES.has(error.code)) throw error;
      const refused = await this.repository.resolveShadowTopUp(
        tenant,
        documentId,
        ['pending_confirmation', 'confirmed', 'rejected_unrecoverable'],
        {
          state: 'rejected_unrecoverable',
          reason: `${reason || 'rejected by the ERP'}; reversal refused: ${error.code}: ${error.message}`,
        },
      );
      return erpDocumentView(refused ?? (await this.repository.findShadowTopUp(tenant, documentId)) ?? row);
    }
    return erpDocumentView((await this.repository.findShadowTopUp(tenant, documentId)) ?? row);
  }

  private async writeOffDocument(tenant: TenantId, row: ShadowTopUpRow, reason: string) {
    if (row.state === 'written_off') return erpDocumentView(row);
    if (row.state !== 'rejected_unrecoverable')
      throw new LedgerError(
        'WALLET_RULE_VIOLATION',
        `erp_document_id: document ${row.document_id} is ${row.state}; only a rejected document whose reversal was refused can be written off`,
        { field: 'erp_document_id' },
      );
    if (!reason) throw LedgerError.invalid('reason', 'a write-off needs a reason (who decided, and why)');
    await this.settleShadowCredit(tenant, row, `ERP document ${row.document_id} written off`, reason);
    const updated = await this.repository.resolveShadowTopUp(
      tenant,
      row.document_id,
      ['rejected_unrecoverable'],
      {
        state: 'written_off',
        reason,
      },
    );
    return erpDocumentView(
      updated ?? (await this.repository.findShadowTopUp(tenant, row.document_id)) ?? row,
    );
  }

  /** Ends the ledger's shadow credit of the document's top-up (idempotent in the ledger). */
  private async settleShadowCredit(tenant: TenantId, row: ShadowTopUpRow, what: string, reason: string) {
    await this.ledger.confirmShadowCredit({
      tenantId: tenant,
      transactionId: row.transaction_id,
      reason: `${what}${reason ? `: ${reason}` : ''}`.slice(0, 256),
    });
  }

  async bookUsage(
    tenant: TenantId,
    request: transactionV1.BookUsageRequest,
  ): Promise<transactionV1.Transaction> {
    const key = requirePublicKey(request.idempotencyKey);
    const walletId = requireWalletId(request.walletId, 'wallet_id');
    const amount = parseAmount(request.amount, 'amount');
    const productCode = optionalText(request.productCode, 'product_code', 64);
    const cost = parseOptionalAmount(request.costAmount, 'cost_amount');
    const metadata = callerMetadata(request.metadata);
    const funding = await this.fundingOf(tenant, await this.requireWallet(tenant, walletId, 'wallet_id'));
    const command = {
      wallet_id: walletId,
      amount: amount.toString(),
      product_code: productCode,
      cost_amount: cost?.toString() ?? '',
      metadata,
    };
    const legs: ledgerV1.Leg[] = [
      {
        accountId: funding.accountId,
        systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
        side: DEBIT,
        amount: command.amount,
      },
      { accountId: '', systemAccount: A.ACCOUNT_TYPE_REVENUE, side: CREDIT, amount: command.amount },
    ];
    if (cost !== undefined) {
      legs.push(
        {
          accountId: '',
          systemAccount: A.ACCOUNT_TYPE_COST_OF_REVENUE,
          side: DEBIT,
          amount: command.cost_amount,
        },
        { accountId: '', systemAccount: A.ACCOUNT_TYPE_PAYABLES, side: CREDIT, amount: command.cost_amount },
      );
    }
    return this.post(
      tenant,
      {
        key,
        action: 'BookUsage',
        requestHash: requestFingerprint('BookUsage', command),
        walletId,
        spend: this.spendOf(funding, amount),
      },
      {
        tenantId: tenant,
        idempotencyKey: ledgerKey('bookusage', key),
        assetCode: funding.wallet.currency,
        legs,
        pending: false,
        timeoutSeconds: 0,
        action: 'USAGE',
        references: referencesOf({
          ...this.refsOf(funding),
          product_code: productCode,
          cost_amount: command.cost_amount,
        }),
        metadata,
      },
    );
  }

  async transfer(
    tenant: TenantId,
    request: transactionV1.TransferRequest,
  ): Promise<transactionV1.Transaction> {
    const key = requirePublicKey(request.idempotencyKey);
    const fromId = requireWalletId(request.fromWalletId, 'from_wallet_id');
    const toId = requireWalletId(request.toWalletId, 'to_wallet_id');
    if (fromId === toId) throw LedgerError.invalid('to_wallet_id', 'must differ from from_wallet_id');
    const amount = parseAmount(request.amount, 'amount');
    const metadata = callerMetadata(request.metadata);
    const from = await this.requireWallet(tenant, fromId, 'from_wallet_id');
    const to = await this.requireWallet(tenant, toId, 'to_wallet_id');
    checkTransfer(from, to);
    const command = { from_wallet_id: fromId, to_wallet_id: toId, amount: amount.toString(), metadata };
    return this.post(
      tenant,
      { key, action: 'Transfer', requestHash: requestFingerprint('Transfer', command), walletId: fromId },
      {
        tenantId: tenant,
        idempotencyKey: ledgerKey('transfer', key),
        assetCode: from.currency,
        legs: [
          {
            accountId: from.ledger_account_id as string,
            systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
            side: DEBIT,
            amount: command.amount,
          },
          {
            accountId: to.ledger_account_id as string,
            systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
            side: CREDIT,
            amount: command.amount,
          },
        ],
        pending: false,
        timeoutSeconds: 0,
        action: 'TRANSFER',
        references: referencesOf({
          wallet_id: fromId,
          funding_wallet_id: fromId,
          wallet_account_id: from.ledger_account_id as string,
          counterparty_wallet_id: toId,
        }),
        metadata,
      },
    );
  }

  async reserve(tenant: TenantId, request: transactionV1.ReserveRequest): Promise<transactionV1.Transaction> {
    const key = requirePublicKey(request.idempotencyKey);
    const walletId = requireWalletId(request.walletId, 'wallet_id');
    const amount = parseAmount(request.amount, 'amount');
    const productCode = optionalText(request.productCode, 'product_code', 64);
    const expiresIn = request.expiresInSeconds;
    if (!Number.isInteger(expiresIn) || expiresIn < 0 || expiresIn > MAX_HOLD_SECONDS) {
      throw LedgerError.invalid('expires_in_seconds', `must be 0 (never) to ${MAX_HOLD_SECONDS} (one year)`);
    }
    const metadata = callerMetadata(request.metadata);
    const funding = await this.fundingOf(tenant, await this.requireWallet(tenant, walletId, 'wallet_id'));
    const command = {
      wallet_id: walletId,
      amount: amount.toString(),
      product_code: productCode,
      expires_in_seconds: expiresIn,
      metadata,
    };
    return this.post(
      tenant,
      {
        key,
        action: 'Reserve',
        requestHash: requestFingerprint('Reserve', command),
        walletId,
        spend: this.spendOf(funding, amount),
        holdExpiresInSeconds: expiresIn,
      },
      {
        tenantId: tenant,
        idempotencyKey: ledgerKey('reserve', key),
        assetCode: funding.wallet.currency,
        legs: [
          {
            accountId: funding.accountId,
            systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED,
            side: DEBIT,
            amount: command.amount,
          },
          { accountId: '', systemAccount: A.ACCOUNT_TYPE_REVENUE, side: CREDIT, amount: command.amount },
        ],
        pending: true,
        timeoutSeconds: expiresIn,
        action: 'USAGE',
        references: referencesOf({ ...this.refsOf(funding), product_code: productCode }),
        metadata,
      },
    );
  }

  async capture(tenant: TenantId, request: transactionV1.CaptureRequest): Promise<transactionV1.Transaction> {
    const key = requirePublicKey(request.idempotencyKey);
    const holdId = requireWalletId(request.transactionId, 'transaction_id');
    const amount = parseOptionalAmount(request.amount, 'amount');
    const hold = await this.requireOwnTransaction(tenant, holdId);
    if (hold.kind !== ledgerV1.TransactionKind.TRANSACTION_KIND_PENDING) {
      throw new LedgerError(
        'HOLD_NOT_PENDING',
        `transaction_id: transaction ${holdId} is not a hold (Reserve)`,
        { field: 'transaction_id' },
      );
    }
    const held = walletAmountOf(hold);
    if (amount !== undefined && amount > held) {
      throw new LedgerError(
        'AMOUNT_EXCEEDS_HOLD',
        `amount: ${amount} is more than the ${held} the hold holds`,
        {
          field: 'amount',
          facts: { held: held.toString() },
        },
      );
    }
    const command = { transaction_id: holdId, amount: amount?.toString() ?? '' };
    const claim: OperationClaim = {
      key,
      action: 'Capture',
      requestHash: requestFingerprint('Capture', command),
      walletId: hold.references['wallet_id'],
      resolvesHoldId: holdId,
      spend: await this.adjustmentOf(tenant, holdId, (amount ?? held) - held),
    };
    return this.run(tenant, claim, () =>
      this.ledger.postPending({
        tenantId: tenant,
        idempotencyKey: ledgerKey('capture', key),
        pendingTransactionId: holdId,
        amount: command.amount,
        metadata: {},
      }),
    );
  }

  async void(tenant: TenantId, request: transactionV1.VoidRequest): Promise<transactionV1.Transaction> {
    const key = requirePublicKey(request.idempotencyKey);
    const targetId = requireWalletId(request.transactionId, 'transaction_id');
    const reason = optionalText(request.reason, 'reason', 256);
    const target = await this.requireOwnTransaction(tenant, targetId);
    const isHold = target.kind === ledgerV1.TransactionKind.TRANSACTION_KIND_PENDING;
    const command = { transaction_id: targetId, reason };
    const claim: OperationClaim = {
      key,
      action: 'Void',
      requestHash: requestFingerprint('Void', command),
      walletId: target.references['wallet_id'],
      resolvesHoldId: isHold ? targetId : undefined,
      spend: await this.adjustmentOf(tenant, targetId, -walletAmountOf(target)),
    };
    const ledgerIdempotencyKey = ledgerKey('void', key);
    const result = await this.run(tenant, claim, () =>
      isHold
        ? this.ledger.voidPending({
            tenantId: tenant,
            idempotencyKey: ledgerIdempotencyKey,
            pendingTransactionId: targetId,
            reason,
          })
        : this.ledger.reverseTransaction({
            tenantId: tenant,
            idempotencyKey: ledgerIdempotencyKey,
            transactionId: targetId,
            reason,
            metadata: {},
          }),
    );
    const document = target.references['erp_document'];
    if (!isHold && document && target.action === 'TOP_UP') {
      // A reversed document top-up is no longer shadow, whoever reversed it (the ERP's rejection or the tenant).
      await this.repository.resolveShadowTopUp(
        tenant,
        document,
        ['pending_confirmation', 'confirmed', 'rejected_unrecoverable', 'written_off'],
        {
          state: 'rejected',
          reason: reason || 'reversed',
          reversalId: result.transactionId,
        },
      );
    }
    return result;
  }

  async getTransaction(
    tenant: TenantId,
    request: transactionV1.GetTransactionRequest,
  ): Promise<transactionV1.Transaction> {
    const id = requireWalletId(request.transactionId, 'transaction_id');
    return toPublicTransaction(await this.requireOwnTransaction(tenant, id));
  }

  async listTransactions(
    tenant: TenantId,
    request: transactionV1.ListTransactionsRequest,
  ): Promise<transactionV1.ListTransactionsResponse> {
    const wallet = await this.requireWallet(
      tenant,
      requireWalletId(request.walletId, 'wallet_id'),
      'wallet_id',
    );
    const pageSize = pageSizeOf(request.pageSize, 50, 200);
    if (wallet.role === 'member')
      return this.listMemberTransactions(tenant, wallet, pageSize, request.pageToken);
    const page = await this.ledger.listAccountTransactions({
      tenantId: tenant,
      accountId: wallet.ledger_account_id as string,
      pageSize,
      pageToken: request.pageToken,
    });
    return {
      transactions: page.transactions.map((tx) => toPublicTransaction(tx)),
      nextPageToken: page.nextPageToken,
    };
  }

  /** A member has no ledger account: its transactions are the operations attributed to it. */
  private async listMemberTransactions(
    tenant: TenantId,
    member: WalletRow,
    pageSize: number,
    pageToken: string,
  ): Promise<transactionV1.ListTransactionsResponse> {
    const scope = `member:${member.id}`;
    const cursor = pageToken ? decodeToken(pageToken, scope).split('|') : undefined;
    const before =
      cursor && cursor.length === 2
        ? { createdAt: cursor[0] as string, key: cursor[1] as string }
        : undefined;
    if (cursor && !before) throw LedgerError.invalid('page_token', 'is not a token from this listing');
    const rows = await this.repository.spenderOperations(tenant, member.id, before, pageSize + 1);
    const page = rows.slice(0, pageSize);
    const transactions = await Promise.all(
      page.map(async (row) =>
        toPublicTransaction(
          await this.ledger.getTransaction({ tenantId: tenant, transactionId: row.result_id }),
        ),
      ),
    );
    const last = page[page.length - 1];
    return {
      transactions,
      nextPageToken:
        rows.length > pageSize && last
          ? encodeToken(scope, `${last.created_at}|${last.idempotency_key}`)
          : '',
    };
  }

  /** Claims the key, posts once, and answers with the ledger's transaction (or the replayed one). */
  private post(
    tenant: TenantId,
    claim: OperationClaim,
    posting: Omit<ledgerV1.PostTransactionRequest, 'shadowDocumentId'> & { shadowDocumentId?: string },
  ): Promise<transactionV1.Transaction> {
    return this.run(tenant, claim, () =>
      this.ledger.postTransaction({ ...posting, shadowDocumentId: posting.shadowDocumentId ?? '' }),
    );
  }

  private async run(
    tenant: TenantId,
    claim: OperationClaim,
    call: () => Promise<ledgerV1.Transaction>,
  ): Promise<transactionV1.Transaction> {
    await this.migrations?.assertWritable(tenant); // a migrating tenant's wallets: reads only
    const claimed = await this.repository.claim(tenant, claim);
    if (claimed.kind === 'replay') {
      const original = await this.ledger.getTransaction({
        tenantId: tenant,
        transactionId: claimed.operation.result_id as string,
      });
      return toPublicTransaction(original, true);
    }
    let transaction: ledgerV1.Transaction | undefined;
    await this.settle(
      tenant,
      claim.key,
      async () => {
        transaction = await call();
        return transaction.transactionId;
      },
      claim.resolvesHoldId,
    );
    const result = transaction as ledgerV1.Transaction;
    return toPublicTransaction(result, claimed.kind === 'resume' && result.replayed);
  }

  /**
   * Runs the ledger side of a claimed operation and records its outcome: completed with the
   * result id; failed for a definitive refusal (the key may be used again for the same request);
   * left started when the outcome is unknown, so a retry resumes with the same ledger key.
   */
  private async settle(
    tenant: TenantId,
    key: string,
    work: () => Promise<string>,
    resolvesHoldId?: string,
  ): Promise<void> {
    let resultId: string;
    try {
      resultId = await work();
    } catch (error) {
      if (error instanceof LedgerError && !TRANSIENT_CODES.has(error.code))
        await this.repository.fail(tenant, key, error.code);
      throw error;
    }
    await this.repository.complete(tenant, key, resultId, resolvesHoldId);
  }

  private async walletView(
    tenant: TenantId,
    wallet: WalletRow,
    account: ledgerV1.Account,
  ): Promise<transactionV1.Wallet> {
    const balance = account.balance as ledgerV1.Balance;
    const usage = await this.repository.periodSpent(tenant, wallet.id, wallet.limit_period);
    let available = BigInt(balance.availableBalance);
    if (wallet.spend_limit_minor !== null) {
      const remaining = BigInt(wallet.spend_limit_minor) - usage.spent;
      if (remaining < available) available = remaining;
    }
    return {
      walletId: wallet.id,
      // The ledger's split (its shadow credits), the same figures the Firestore mirror shows.
      confirmedBalance: balance.confirmedBalance,
      shadowBalance: balance.shadowBalance,
      ownerType: OWNER_TYPES_TO_WIRE[wallet.owner_type],
      ownerId: wallet.owner_id,
      currency: wallet.currency,
      currencyScale: account.assetScale,
      postedBalance: balance.postedBalance,
      pendingDebits: balance.debitsPending,
      availableBalance: available.toString(),
      version: balance.version,
      parentWalletId: wallet.parent_wallet_id ?? '',
      role: ROLES_TO_WIRE[wallet.role],
      overdraftLimit: wallet.role === 'member' ? '0' : account.overdraftLimit,
      spendLimit: wallet.spend_limit_minor ?? '',
      limitPeriod:
        wallet.limit_period === 'day'
          ? transactionV1.LimitPeriod.LIMIT_PERIOD_DAY
          : transactionV1.LimitPeriod.LIMIT_PERIOD_MONTH,
      periodSpent: usage.spent.toString(),
      periodStart: toTimestamp(usage.periodStart),
      metadata: wallet.metadata,
      createdAt: toTimestamp(wallet.created_at),
      replayed: false,
    };
  }

  private async requireWallet(tenant: TenantId, walletId: string, field: string): Promise<WalletRow> {
    const wallet = await this.repository.findWallet(tenant, walletId);
    if (!wallet)
      throw new LedgerError('WALLET_NOT_FOUND', `${field}: wallet ${walletId} does not exist`, { field });
    return wallet;
  }

  private async fundingOf(tenant: TenantId, wallet: WalletRow): Promise<Funding> {
    if (wallet.role !== 'member')
      return { wallet, funder: wallet, accountId: wallet.ledger_account_id as string };
    const organisation = await this.requireWallet(tenant, wallet.parent_wallet_id as string, 'wallet_id');
    return { wallet, funder: organisation, accountId: organisation.ledger_account_id as string };
  }

  private refsOf(funding: Funding): PostingReferences {
    return {
      wallet_id: funding.wallet.id,
      funding_wallet_id: funding.funder.id,
      wallet_account_id: funding.accountId,
      member_wallet_id: funding.wallet.role === 'member' ? funding.wallet.id : undefined,
    };
  }

  /** Usage counts against the wallet that used it; a member's against its limit. */
  private spendOf(funding: Funding, amount: bigint): SpendClaim {
    const limit = funding.wallet.spend_limit_minor;
    return {
      spenderWalletId: funding.wallet.id,
      amountMinor: amount,
      period: { unit: funding.wallet.limit_period },
      limitMinor: limit === null ? undefined : BigInt(limit),
    };
  }

  /** Captures, voids and reversals adjust the usage of the operation they act on, in its period. */
  private async adjustmentOf(
    tenant: TenantId,
    originalId: string,
    amountMinor: bigint,
  ): Promise<SpendClaim | undefined> {
    const original = await this.repository.findOperationByResult(tenant, originalId);
    if (!original?.spender_wallet_id || !original.period_start) return undefined;
    if (!['BookUsage', 'Reserve', 'Capture'].includes(original.action)) return undefined;
    return {
      spenderWalletId: original.spender_wallet_id,
      amountMinor,
      period: { start: original.period_start },
    };
  }

  /** A ledger transaction of the tenant that the aggregator made (else NOT_FOUND). */
  private async requireOwnTransaction(tenant: TenantId, id: string): Promise<ledgerV1.Transaction> {
    const tx = await this.ledger.getTransaction({ tenantId: tenant, transactionId: id });
    if (!tx.references['wallet_id']) {
      throw new LedgerError('TRANSACTION_NOT_FOUND', `transaction_id: transaction ${id} does not exist`, {
        field: 'transaction_id',
      });
    }
    return tx;
  }
}

function rule(field: string, message: string): LedgerError {
  return new LedgerError('WALLET_RULE_VIOLATION', `${field}: ${message}`, { field });
}

/** The role a new wallet takes under its parent, or why it cannot be opened there. */
function roleUnder(parent: WalletRow | undefined, ownerType: OwnerType, currency: string): WalletRole {
  if (!parent) return 'standalone';
  if (parent.currency !== currency)
    throw rule('currency', `must be the parent wallet's currency (${parent.currency})`);
  if (parent.role === 'member')
    throw rule('parent_wallet_id', 'a member wallet cannot have wallets under it');
  if (parent.owner_type === 'enterprise') {
    if (ownerType !== 'personal') throw rule('owner_type', 'an enterprise member wallet is PERSONAL');
    return 'member';
  }
  if (parent.owner_type === 'reseller') {
    if (ownerType === 'reseller') throw rule('owner_type', 'a reseller cannot have resellers under it');
    return 'client';
  }
  throw rule('parent_wallet_id', 'only ENTERPRISE and RESELLER wallets have wallets under them');
}

/**
 * Transfers move balance between wallets that own one: never a member's (it has none), funding
 * into a reseller's client only from that reseller, a reseller's balance only to its own clients,
 * and a client's balance only back to its reseller.
 */
function checkTransfer(from: WalletRow, to: WalletRow): void {
  if (from.role === 'member')
    throw rule('from_wallet_id', "a member wallet has no balance of its own; it spends its organisation's");
  if (to.role === 'member')
    throw rule(
      'to_wallet_id',
      'a member wallet has no balance of its own; transfer to its enterprise wallet',
    );
  if (from.currency !== to.currency)
    throw rule('to_wallet_id', `holds ${to.currency}, the sender holds ${from.currency}`);
  if (from.owner_type === 'reseller' && from.role === 'standalone' && to.parent_wallet_id !== from.id) {
    throw rule('to_wallet_id', "a reseller transfers only to its own clients' wallets");
  }
  if (to.role === 'client' && to.parent_wallet_id !== from.id) {
    throw rule('from_wallet_id', "a reseller's client wallet is funded only by its reseller");
  }
  if (from.role === 'client' && from.parent_wallet_id !== to.id) {
    throw rule('to_wallet_id', "a reseller's client transfers only back to its reseller");
  }
}

function limitPeriodOf(value: transactionV1.LimitPeriod): PeriodUnit {
  switch (value) {
    case transactionV1.LimitPeriod.LIMIT_PERIOD_DAY:
      return 'day';
    case transactionV1.LimitPeriod.LIMIT_PERIOD_MONTH:
    case transactionV1.LimitPeriod.LIMIT_PERIOD_UNSPECIFIED:
      return 'month';
    default:
      throw LedgerError.invalid('limit_period', 'must be LIMIT_PERIOD_MONTH or LIMIT_PERIOD_DAY');
  }
}

/** "agg:<action>:<caller's key>": deterministic, so a retried flow hits the ledger's own replay. */
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
function erpDocumentOf(
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

function ledgerKey(action: string, key: string): string {
  return `agg:${action}:${key}`;
}

function encodeToken(scope: string, value: string): string {
  return Buffer.from(`${scope}|${value}`).toString('base64url');
}

function decodeToken(token: string, scope: string): string {
  const decoded = Buffer.from(token, 'base64url').toString();
  if (!decoded.startsWith(`${scope}|`))
    throw LedgerError.invalid('page_token', 'is not a token from this listing');
  return decoded.slice(scope.length + 1);
}
