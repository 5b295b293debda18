import { status, type ServiceError } from '@grpc/grpc-js';
import {
  ERROR_CODE_METADATA_KEY,
  createGrpcClient,
  type GrpcClientHandle,
  type PromiseClientOf,
} from '@saldo/grpc-kit';
import { ledgerV1, protoFile, protoRoot } from '@saldo/proto';

const A = ledgerV1.AccountType;
const DEBIT = ledgerV1.EntrySide.ENTRY_SIDE_DEBIT;
const CREDIT = ledgerV1.EntrySide.ENTRY_SIDE_CREDIT;

/** Retries of one call on a transient failure (the key makes a retry safe), and their backoff. */
const MAX_ATTEMPTS = 20;
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 5_000;
/** Commands per PostBatch call (the ledger takes up to 1,000). */
export const MAX_BATCH = 200;
/** A batch call may wait long behind live traffic; its keys make a retry after a deadline safe. */
const BATCH_DEADLINE_MS = 120_000;
/** Outcome codes that mean "not known to be done": the command is sent again under its key. */
const RETRY_CODES = new Set(['CONFLICT_RETRY', 'DEPENDENCY_UNAVAILABLE']);

/** A posting between one wallet account and the tenant's opening-balances account. */
export interface MigrationPosting {
  readonly tenant: string;
  readonly idempotencyKey: string;
  readonly currency: string;
  readonly accountId: string;
  /** Signed, minor units: > 0 credits the wallet (Dr opening balances), < 0 debits it. Never 0. */
  readonly deltaMinor: bigint;
  readonly action: 'MIGRATION_OPENING' | 'MIGRATION_CATCH_UP';
  readonly references: Readonly<Record<string, string>>;
}

export class LedgerCallError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * The ledger as the migrator uses it: assets, postings against the opening-balances account, and
 * reversals for a rollback. Every write carries an idempotency key derived from the migration and
 * the legacy record, so a retry or a rerun after kill -9 replays instead of posting again; transient
 * failures (UNAVAILABLE, ABORTED, deadline) are retried here with backoff under the same key.
 */
export class LedgerGateway {
  private readonly handle: GrpcClientHandle<PromiseClientOf<ledgerV1.LedgerServiceClient>>;

  constructor(target: string, token: string, deadlineMs = 30_000) {
    this.handle = createGrpcClient<PromiseClientOf<ledgerV1.LedgerServiceClient>>({
      protoPath: protoFile('saldo/ledger/v1/ledger.proto'),
      includeDirs: [protoRoot()],
      serviceName: 'saldo.ledger.v1.LedgerService',
      address: target,
      token,
      defaultDeadlineMs: deadlineMs,
      channelOptions: { 'grpc.max_reconnect_backoff_ms': 2_000 },
    });
  }

  close(): void {
    this.handle.close();
  }

  async defineAsset(tenant: string, code: string, scale: number): Promise<void> {
    await this.retrying('DefineAsset', () =>
      this.handle.client.defineAsset({ tenantId: tenant, code, scale }),
    );
  }

  /** Posts one migration posting; a replay (same key, same request) is success too. */
  async post(posting: MigrationPosting): Promise<{ transactionId: string; replayed: boolean }> {
    const tx = await this.retrying('PostTransaction', () =>
      this.handle.client.postTransaction(postingRequest(posting)),
    );
    return { transactionId: tx.transactionId, replayed: tx.replayed };
  }

  /**
   * Many postings through the ledger's batch path (LedgerService.PostBatch, up to MAX_BATCH per
   * call), decided in order: postings of one account apply in the order given. A chunk with an
   * outcome that is not known to be done is sent again as a whole (the keys replay what was done,
   * in the same order); any other refusal fails the step with the ledger's reason.
   */
  async postMany(
    postings: readonly MigrationPosting[],
  ): Promise<Array<{ transactionId: string; replayed: boolean }>> {
    return this.batch(postings.map((p) => ({ postTransaction: postingRequest(p) })));
  }

  /** Reversals through the batch path, in the order given (newest first for a rollback). */
  async reverseMany(
    reversals: ReadonlyArray<{
      tenant: string;
      transactionId: string;
      idempotencyKey: string;
      reason: string;
    }>,
  ): Promise<void> {
    await this.batch(
      reversals.map((r) => ({
        reverseTransaction: {
          tenantId: r.tenant,
          idempotencyKey: r.idempotencyKey,
          transactionId: r.transactionId,
          reason: r.reason,
          metadata: {},
        },
      })),
    );
  }

  private async batch(
    commands: readonly ledgerV1.BatchCommand[],
  ): Promise<Array<{ transactionId: string; replayed: boolean }>> {
    const results: Array<{ transactionId: string; replayed: boolean }> = [];
    for (let start = 0; start < commands.length; start += MAX_BATCH) {
      const chunk = commands.slice(start, start + MAX_BATCH);
      for (let attempt = 1; ; attempt++) {
        const response = await this.retrying('PostBatch', () =>
          this.handle.client.postBatch({ commands: chunk }, { deadlineMs: BATCH_DEADLINE_MS }),
        );
        const failed = response.outcomes.find((o) => o.error);
        if (!failed?.error) {
          for (const o of response.outcomes)
            results.push({
              transactionId: o.transaction?.transactionId ?? '',
              replayed: o.transaction?.replayed ?? false,
            });
          break;
        }
        const command = chunk[response.outcomes.indexOf(failed)];
        const key = command?.postTransaction?.idempotencyKey ?? command?.reverseTransaction?.idempotencyKey;
        if (!RETRY_CODES.has(failed.error.code) || attempt >= MAX_ATTEMPTS)
          throw new LedgerCallError(
            `ledger PostBatch: command ${key}: ${failed.error.code}: ${failed.error.message}`,
            failed.error.code,
          );
        await backoff(attempt);
      }
    }
    return results;
  }

  async reverse(
    tenant: string,
    transactionId: string,
    idempotencyKey: string,
    reason: string,
  ): Promise<void> {
    await this.retrying('ReverseTransaction', () =>
      this.handle.client.reverseTransaction({
        tenantId: tenant,
        idempotencyKey,
        transactionId,
        reason,
        metadata: {},
      }),
    );
  }

  private async retrying<T>(method: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const e = error as ServiceError;
        const transient = [
          status.UNAVAILABLE,
          status.DEADLINE_EXCEEDED,
          status.ABORTED,
          status.RESOURCE_EXHAUSTED,
        ].includes(e.code);
        if (!transient || attempt >= MAX_ATTEMPTS) {
          const code = e.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
          throw new LedgerCallError(
            `ledger ${method}: ${status[e.code] ?? e.code}: ${e.details ?? e.message}`,
            typeof code === 'string' ? code : (status[e.code] ?? 'UNKNOWN'),
          );
        }
        await backoff(attempt);
      }
    }
  }
}

/** Full-jitter exponential backoff. */
function backoff(attempt: number): Promise<void> {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
}

/** Dr opening balances / Cr wallet for a positive delta, the other way round for a negative one. */
function postingRequest(posting: MigrationPosting): ledgerV1.PostTransactionRequest {
  if (posting.deltaMinor === 0n) throw new Error('a migration posting moves a non-zero amount');
  const amount = (posting.deltaMinor < 0n ? -posting.deltaMinor : posting.deltaMinor).toString();
  const walletSide = posting.deltaMinor > 0n ? CREDIT : DEBIT;
  const openingSide = posting.deltaMinor > 0n ? DEBIT : CREDIT;
  return {
    tenantId: posting.tenant,
    idempotencyKey: posting.idempotencyKey,
    assetCode: posting.currency,
    legs: [
      { accountId: '', systemAccount: A.ACCOUNT_TYPE_OPENING_BALANCES, side: openingSide, amount },
      { accountId: posting.accountId, systemAccount: A.ACCOUNT_TYPE_UNSPECIFIED, side: walletSide, amount },
    ],
    pending: false,
    timeoutSeconds: 0,
    action: posting.action,
    references: { ...posting.references },
    metadata: {},
    shadowDocumentId: '',
  };
}
