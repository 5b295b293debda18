import {
  AmountLimits,
  LedgerError,
  isLedgerError,
  parseAmount,
  parseAssetCode,
  parseMetadata,
  parseOptionalAmount,
  parseScale,
  requestFingerprint,
  requireId,
  requireIdempotencyKey,
  requireTenant,
  validateLegs,
  type TenantId,
} from '@saldo/ledger-domain';
import { status } from '@grpc/grpc-js';
import { fromTimestamp, grpcStatusOf, toTimestamp } from '@saldo/grpc-kit';
import { ledgerV1 } from '@saldo/proto';
import type { LedgerRepository } from './ledger.repository';
import type { PostingBatcher, PreparedWrite } from './posting-batcher';
import {
  accountToWire,
  accountTypeFromWire,
  balanceToWire,
  entryToWire,
  shadowCreditToWire,
  sideFromWire,
  systemAccountFromWire,
  transactionToWire,
} from './wire-mapping';

const MAX_TIMEOUT_SECONDS = 366 * 24 * 3600;
/** Commands in one PostBatch call (TIGER_STYLE: a limit on everything). */
export const MAX_BATCH_COMMANDS = 1_000;

interface ResolveInput {
  operation: 'post_pending' | 'void_pending';
  pending_transaction_id: string;
  amount: string | null;
  metadata: Record<string, string>;
}

/** The outcome of one failed command of a batch, as the wire carries it. */
function errorOutcome(error: unknown): ledgerV1.BatchCommandOutcome {
  const ledgerError = isLedgerError(error)
    ? error
    : new LedgerError('INTERNAL', 'internal error; it has been logged');
  return {
    error: {
      code: ledgerError.code,
      status: status[grpcStatusOf(ledgerError.code)] ?? 'INTERNAL',
      message: ledgerError.message,
      field: ledgerError.details.field ?? '',
      facts: { ...(ledgerError.details.facts ?? {}) },
    },
  };
}

/**
 * The ledger's use cases. Each write: validate everything that needs no I/O, fingerprint the
 * request for idempotency, serialise on the wallets it touches (in-process, then Redis), and hand
 * one atomic call to PostgreSQL, which re-checks everything that depends on stored state.
 */
export class LedgerService {
  constructor(
    private readonly repository: LedgerRepository,
    private readonly batcher: PostingBatcher,
    /** Per-action maximum amounts (issue 11 #5); the aggregator checks them too, at the edge. */
    private readonly limits: AmountLimits = AmountLimits.DEFAULT,
  ) {}

  async defineAsset(request: ledgerV1.DefineAssetRequest): Promise<ledgerV1.Asset> {
    const tenant = requireTenant(request.tenantId);
    const code = parseAssetCode(request.code, 'code');
    const scale = parseScale(request.scale);
    const row = await this.repository.defineAsset(tenant, code, scale);
    return {
      tenantId: row.tenant_id,
      code: row.code,
      scale: row.scale,
      createdAt: toTimestamp(row.created_at),
    };
  }

  async openAccount(request: ledgerV1.OpenAccountRequest): Promise<ledgerV1.Account> {
    const tenant = requireTenant(request.tenantId);
    const key = requireIdempotencyKey(request.idempotencyKey);
    const type = accountTypeFromWire(request.type) ?? 'wallet';
    if (type !== 'wallet') {
      throw LedgerError.invalid('type', 'only wallets are opened; system accounts come with DefineAsset');
    }
    const command = {
      asset_code: parseAssetCode(request.assetCode),
      overdraft_limit: parseAmount(request.overdraftLimit || '0', 'overdraft_limit', {
        allowZero: true,
      }).toString(),
      external_ref: limitText(request.externalRef, 'external_ref', 256),
      metadata: parseMetadata(request.metadata, 'metadata'),
    };
    const row = await this.repository.openAccount(tenant, {
      ...command,
      idempotency_key: key,
      request_hash: requestFingerprint('open_account', command),
    });
    return accountToWire(row);
  }

  async getAccount(request: ledgerV1.GetAccountRequest): Promise<ledgerV1.Account> {
    const tenant = requireTenant(request.tenantId);
    const accountId = requireId(request.accountId, 'account_id');
    return accountToWire(await this.requireAccount(tenant, accountId));
  }

  async listSystemAccounts(
    request: ledgerV1.ListSystemAccountsRequest,
  ): Promise<ledgerV1.ListAccountsResponse> {
    const tenant = requireTenant(request.tenantId);
    const rows = await this.repository.listSystemAccounts(tenant, parseAssetCode(request.assetCode));
    if (rows.length === 0) {
      throw new LedgerError(
        'ASSET_NOT_FOUND',
        `asset_code: ${request.assetCode} is not defined for this tenant`,
        {
          field: 'asset_code',
        },
      );
    }
    return { accounts: rows.map(accountToWire) };
  }

  async getBalance(request: ledgerV1.GetBalanceRequest): Promise<ledgerV1.Balance> {
    const tenant = requireTenant(request.tenantId);
    const accountId = requireId(request.accountId, 'account_id');
    const account = await this.requireAccount(tenant, accountId);
    const asOf = fromTimestamp(request.asOf);
    if (!asOf) return accountToWire(account).balance as ledgerV1.Balance;
    const row = await this.repository.balanceAsOf(tenant, accountId, asOf);
    const zero = { debits_posted: '0', credits_posted: '0', debits_pending: '0', credits_pending: '0' };
    return balanceToWire(
      accountId,
      row ?? zero,
      account.normal_side,
      row?.account_version ?? '0',
      asOf,
      account.type === 'wallet' ? (row?.shadow_credits ?? '0') : undefined,
    );
  }

  async postTransaction(request: ledgerV1.PostTransactionRequest): Promise<ledgerV1.Transaction> {
    return transactionToWire(await this.batcher.submit(this.preparePost(request)));
  }

  async postPending(request: ledgerV1.PostPendingRequest): Promise<ledgerV1.Transaction> {
    return transactionToWire(await this.batcher.submit(this.preparePostPending(request)));
  }

  async voidPending(request: ledgerV1.VoidPendingRequest): Promise<ledgerV1.Transaction> {
    return transactionToWire(await this.batcher.submit(this.prepareVoidPending(request)));
  }

  async reverseTransaction(request: ledgerV1.ReverseTransactionRequest): Promise<ledgerV1.Transaction> {
    return transactionToWire(await this.batcher.submit(this.prepareReverse(request)));
  }

  /**
   * Up to MAX_BATCH_COMMANDS writes of any kind, each with its own outcome in order. Each command
   * is validated alone (a bad one is refused alone); the valid ones go to the batcher together, so
   * they share database transactions and are decided in the order given.
   */
  async postBatch(request: ledgerV1.PostBatchRequest): Promise<ledgerV1.PostBatchResponse> {
    const commands = request.commands ?? [];
    if (commands.length === 0 || commands.length > MAX_BATCH_COMMANDS) {
      throw LedgerError.invalid(
        'commands',
        `must hold 1 to ${MAX_BATCH_COMMANDS} commands, not ${commands.length}`,
      );
    }
    const prepared: Array<PreparedWrite | LedgerError> = commands.map((command, index) => {
      try {
        return this.prepareCommand(command, index);
      } catch (error) {
        return isLedgerError(error) ? error : new LedgerError('INTERNAL', 'internal error');
      }
    });
    const writes = prepared.filter((item): item is PreparedWrite => !(item instanceof LedgerError));
    const results = await this.batcher.submitAll(writes);
    let next = 0;
    return {
      outcomes: prepared.map((item) => {
        if (item instanceof LedgerError) return errorOutcome(item);
        const result = results[next++];
        if (result?.status === 'fulfilled') return { transaction: transactionToWire(result.value) };
        return errorOutcome(result?.reason);
      }),
    };
  }

  private prepareCommand(command: ledgerV1.BatchCommand, index: number): PreparedWrite {
    if (command.postTransaction) return this.preparePost(command.postTransaction);
    if (command.postPending) return this.preparePostPending(command.postPending);
    if (command.voidPending) return this.prepareVoidPending(command.voidPending);
    if (command.reverseTransaction) return this.prepareReverse(command.reverseTransaction);
    throw LedgerError.invalid(
      `commands[${index}]`,
      'names no command (post_transaction, post_pending, void_pending or reverse_transaction)',
    );
  }

  private preparePost(request: ledgerV1.PostTransactionRequest): PreparedWrite {
    const tenant = requireTenant(request.tenantId);
    const key = requireIdempotencyKey(request.idempotencyKey);
    const assetCode = request.assetCode ? parseAssetCode(request.assetCode) : undefined;
    const legs = validateLegs(
      (request.legs ?? []).map((leg) => ({
        accountId: leg.accountId || undefined,
        systemAccount: systemAccountFromWire(leg.systemAccount),
        side: sideFromWire(leg.side),
        amount: leg.amount,
      })),
      { assetCode, limits: this.limits },
    );
    const timeoutSeconds = request.timeoutSeconds ?? 0;
    if (timeoutSeconds > 0 && !request.pending) {
      throw LedgerError.invalid('timeout_seconds', 'only a pending transaction can expire');
    }
    if (timeoutSeconds > MAX_TIMEOUT_SECONDS) {
      throw LedgerError.invalid('timeout_seconds', `must be at most ${MAX_TIMEOUT_SECONDS} (one year)`);
    }
    const shadowDocumentId = limitText(request.shadowDocumentId, 'shadow_document_id', 128);
    if (shadowDocumentId && request.pending) {
      throw LedgerError.invalid(
        'shadow_document_id',
        'only a posted transaction can carry a shadow credit, not a hold',
      );
    }
    const command = {
      legs: legs.map((leg) => ({
        ...(leg.accountId ? { account_id: leg.accountId } : { system_account: leg.systemAccount }),
        side: leg.side,
        amount: leg.amount.toString(),
      })),
      asset_code: assetCode ?? null,
      pending: request.pending === true,
      timeout_seconds: timeoutSeconds,
      action: limitText(request.action, 'action', 64),
      references: parseMetadata(request.references ?? {}, 'references'),
      metadata: parseMetadata(request.metadata ?? {}, 'metadata'),
      // Only when set, so the request hash of every other posting stays what it was.
      ...(shadowDocumentId ? { shadow_document_id: shadowDocumentId } : {}),
    };
    return {
      command: {
        op: 'post_transaction',
        tenant_id: tenant,
        ...command,
        idempotency_key: key,
        request_hash: requestFingerprint('post_transaction', command),
      },
      lockKeys: legs.flatMap((leg) => (leg.accountId ? [leg.accountId] : [])),
    };
  }

  private checkedOptional(raw: string | undefined): bigint | undefined {
    const amount = parseOptionalAmount(raw, 'amount');
    return amount === undefined ? undefined : this.limits.check(amount, undefined, 'amount');
  }

  private preparePostPending(request: ledgerV1.PostPendingRequest): PreparedWrite {
    const tenant = requireTenant(request.tenantId);
    const command = {
      operation: 'post_pending' as const,
      pending_transaction_id: requireId(request.pendingTransactionId, 'pending_transaction_id'),
      amount: this.checkedOptional(request.amount)?.toString() ?? null,
      metadata: parseMetadata(request.metadata ?? {}, 'metadata'),
    };
    return this.prepareResolve(tenant, requireIdempotencyKey(request.idempotencyKey), command);
  }

  private prepareVoidPending(request: ledgerV1.VoidPendingRequest): PreparedWrite {
    const tenant = requireTenant(request.tenantId);
    const reason = limitText(request.reason, 'reason', 256);
    const command = {
      operation: 'void_pending' as const,
      pending_transaction_id: requireId(request.pendingTransactionId, 'pending_transaction_id'),
      amount: null,
      metadata: (reason ? { reason } : {}) as Record<string, string>,
    };
    return this.prepareResolve(tenant, requireIdempotencyKey(request.idempotencyKey), command);
  }

  private prepareReverse(request: ledgerV1.ReverseTransactionRequest): PreparedWrite {
    const tenant = requireTenant(request.tenantId);
    const key = requireIdempotencyKey(request.idempotencyKey);
    const reason = limitText(request.reason, 'reason', 256);
    const command = {
      transaction_id: requireId(request.transactionId, 'transaction_id'),
      metadata: { ...parseMetadata(request.metadata ?? {}, 'metadata'), ...(reason ? { reason } : {}) },
    };
    return {
      command: {
        op: 'reverse_transaction',
        tenant_id: tenant,
        ...command,
        idempotency_key: key,
        request_hash: requestFingerprint('reverse_transaction', command),
      },
      lockKeys: [`transaction:${command.transaction_id}`],
    };
  }

  /** Not through the batcher: it moves no money (no account lock, no wallet lock), only settles the credit. */
  async confirmShadowCredit(request: ledgerV1.ConfirmShadowCreditRequest): Promise<ledgerV1.ShadowCredit> {
    const tenant = requireTenant(request.tenantId);
    const transactionId = requireId(request.transactionId, 'transaction_id');
    const reason = limitText(request.reason, 'reason', 256);
    return shadowCreditToWire(await this.repository.confirmShadowCredit(tenant, transactionId, reason));
  }

  async getTransaction(request: ledgerV1.GetTransactionRequest): Promise<ledgerV1.Transaction> {
    const tenant = requireTenant(request.tenantId);
    const id = requireId(request.transactionId, 'transaction_id');
    const row = await this.repository.findTransaction(tenant, id);
    if (!row) throw notFound('TRANSACTION_NOT_FOUND', 'transaction_id', `transaction ${id} does not exist`);
    return transactionToWire(row);
  }

  async listAccountTransactions(
    request: ledgerV1.ListAccountTransactionsRequest,
  ): Promise<ledgerV1.ListTransactionsResponse> {
    const tenant = requireTenant(request.tenantId);
    const accountId = requireId(request.accountId, 'account_id');
    await this.requireAccount(tenant, accountId);
    const pageSize = pageSizeOf(request.pageSize, 50, 200);
    const cursor = decodeCursor(request.pageToken, `txn:${accountId}`);
    const page = await this.repository.listAccountTransactions(tenant, accountId, cursor, pageSize);
    return {
      transactions: page.transactions.map(transactionToWire),
      nextPageToken: page.nextEntryId ? encodeCursor(`txn:${accountId}`, page.nextEntryId) : '',
    };
  }

  async listAccountEntries(
    request: ledgerV1.ListAccountEntriesRequest,
  ): Promise<ledgerV1.ListAccountEntriesResponse> {
    const tenant = requireTenant(request.tenantId);
    const accountId = requireId(request.accountId, 'account_id');
    await this.requireAccount(tenant, accountId);
    const pageSize = pageSizeOf(request.pageSize, 100, 500);
    const cursor = decodeCursor(request.pageToken, `ent:${accountId}`);
    const rows = await this.repository.listEntries(tenant, accountId, cursor, pageSize + 1);
    const page = rows.slice(0, pageSize);
    const last = page[page.length - 1];
    return {
      entries: page.map(entryToWire),
      nextPageToken: rows.length > pageSize && last ? encodeCursor(`ent:${accountId}`, last.entry_id) : '',
    };
  }

  /** Voids every hold whose expiry has passed; safe with many instances (see resolve_pending). */
  async voidExpiredHolds(limit: number): Promise<{ voided: number; skipped: number }> {
    let voided = 0;
    let skipped = 0;
    for (const hold of await this.repository.expiredHolds(limit)) {
      try {
        const result = await this.resolvePending(hold.tenant_id, `saldo:hold-expiry:${hold.id}`, {
          operation: 'void_pending',
          pending_transaction_id: hold.id,
          amount: null,
          metadata: { reason: 'expired' },
        });
        if (result.replayed) skipped += 1;
        else voided += 1;
      } catch (error) {
        // Posted or voided by someone else in the meantime: nothing left to expire.
        if (error instanceof LedgerError && error.code === 'HOLD_NOT_PENDING') skipped += 1;
        else throw error;
      }
    }
    return { voided, skipped };
  }

  private prepareResolve(tenant: TenantId, key: string, command: ResolveInput): PreparedWrite {
    return {
      command: {
        op: 'resolve_pending',
        tenant_id: tenant,
        ...command,
        idempotency_key: key,
        request_hash: requestFingerprint(command.operation, command),
      },
      lockKeys: [`transaction:${command.pending_transaction_id}`],
    };
  }

  private async resolvePending(
    tenant: TenantId,
    key: string,
    command: ResolveInput,
  ): Promise<ledgerV1.Transaction> {
    return transactionToWire(await this.batcher.submit(this.prepareResolve(tenant, key, command)));
  }

  private async requireAccount(tenant: TenantId, accountId: string) {
    const account = await this.repository.findAccount(tenant, accountId);
    if (!account) throw notFound('ACCOUNT_NOT_FOUND', 'account_id', `account ${accountId} does not exist`);
    return account;
  }
}

function notFound(
  code: 'ACCOUNT_NOT_FOUND' | 'TRANSACTION_NOT_FOUND',
  field: string,
  message: string,
): LedgerError {
  return new LedgerError(code, `${field}: ${message}`, { field });
}

function limitText(value: string | undefined, field: string, max: number): string {
  const text = value ?? '';
  if (text.length > max) throw LedgerError.invalid(field, `at most ${max} characters`);
  return text;
}

function pageSizeOf(requested: number, fallback: number, max: number): number {
  if (!requested) return fallback;
  if (requested > max) throw LedgerError.invalid('page_size', `must be at most ${max}`);
  return requested;
}

/** Page tokens are opaque to callers and bound to the listing they came from. */
function encodeCursor(scope: string, entryId: string): string {
  return Buffer.from(`${scope}|${entryId}`).toString('base64url');
}

function decodeCursor(token: string | undefined, scope: string): string | undefined {
  if (!token) return undefined;
  const [tokenScope, entryId] = Buffer.from(token, 'base64url').toString().split('|');
  if (tokenScope !== scope || !entryId || !/^\d{1,19}$/.test(entryId)) {
    throw LedgerError.invalid('page_token', 'is not a token from this listing');
  }
  return entryId;
}
