import { classifyFault, outcomeUnknown } from '@saldo/faults';
import { AmountLimits, LedgerError, type TenantId } from '@saldo/ledger-domain';
import type { ledgerV1, transactionV1 } from '@saldo/proto';
import { AggregatorCaches } from '../cache/aggregator-caches';
import { LedgerBatcher, type LedgerBatcherOptions } from '../ledger/ledger-batcher';
import type { LedgerApi } from '../ledger/ledger-client';
import type {
  AggregatorRepository,
  CompletedOperation,
  OperationClaim,
  SpendClaim,
  WalletRow,
} from './aggregator.repository';
import { MigrationGuard, tenantOfCommand } from './migration-guard';
import { toPublicTransaction, type PostingReferences } from './transaction-view';
import type { LeanPlan, WritePlan } from './write-plan';

/** The ledger batcher's bounds (config: AGGREGATOR_LEDGER_BATCH_*). */
export type BatchingOptions = Omit<LedgerBatcherOptions, 'afterBatch'>;

const DEFAULT_BATCHING: BatchingOptions = { maxBatchSize: 1_000, maxConcurrentBatches: 2, maxQueued: 20_000 };

/** Transient failures (@saldo/faults) leave the claim started: the outcome is unknown until a retry with the same key. */
export function isTransient(error: unknown): boolean {
  return classifyFault(error) !== undefined;
}

/** The account a wallet spends from and how its usage is attributed. */
export interface Funding {
  wallet: WalletRow;
  /** The wallet whose ledger account moves (the organisation for a member). */
  funder: WalletRow;
  accountId: string;
}

/**
 * What every use case shares: the aggregator's database, the ledger (through one group-commit
 * batcher), the caches, and the steps of a write. A write: validate everything that needs no I/O,
 * apply the model's rules on cached wallet facts, and plan it (write-plan.ts): a plain action goes
 * straight to the ledger batcher (lean); one that needs the journal claims the caller's key first
 * (checking a member's spend limit under a row lock). Either way ONE ledger command whose
 * idempotency key is derived from the caller's, so a retry after any crash posts at most once.
 */
export class WalletContext {
  readonly batcher: LedgerBatcher;

  constructor(
    readonly repository: AggregatorRepository,
    readonly ledger: LedgerApi,
    /** Wallet rows cached in process (kept coherent by NOTIFY); none: read every time. */
    readonly caches?: AggregatorCaches,
    batching: BatchingOptions = DEFAULT_BATCHING,
    /** Per-action maximum amounts per asset (issue 11 #5), checked before anything is claimed or posted. */
    readonly limits: AmountLimits = AmountLimits.DEFAULT,
    /** Refuses writes of a tenant being migrated from a legacy system (apps/migrator). */
    private readonly migrations?: MigrationGuard,
  ) {
    this.batcher = new LedgerBatcher(ledger, {
      ...batching,
      // Usage and holds of a batch: recorded in the journal with one statement per ledger batch.
      // Posted but not recorded when it fails: the outcome is unknown to the caller, whose retry
      // (same key) replays in the ledger and records it.
      afterBatch: (done) =>
        repository
          .recordCompleted(
            done.map(({ entry, transaction }) => ({
              ...(entry as Omit<CompletedOperation, 'resultId'>),
              resultId: transaction.transactionId,
            })),
          )
          .catch((error: unknown) => {
            throw outcomeUnknown('the ledger posted it but the journal could not record it', error);
          }),
    });
  }

  execute(plan: WritePlan): Promise<transactionV1.Transaction> {
    return plan.mode === 'lean' ? this.executeLean(plan) : plan.run();
  }

  /** A migrating tenant's wallets take no writes (checked in process, synchronously). */
  private migrationRefusal(command: ledgerV1.BatchCommand): LedgerError | undefined {
    const tenant = tenantOfCommand(command);
    return tenant === undefined ? undefined : this.migrations?.refusal(tenant);
  }

  /** Joins the ledger queue now (callers rely on that to keep a batch's order). */
  executeLean(plan: LeanPlan): Promise<transactionV1.Transaction> {
    const refused = this.migrationRefusal(plan.command);
    if (refused) return Promise.reject(refused);
    return this.batcher
      .submit({ command: plan.command, journal: plan.journal })
      .then((transaction) => toPublicTransaction(transaction, transaction.replayed));
  }

  /** Every leg within the asset's per-action maximum (AMOUNT_LIMIT_EXCEEDED, field amount). */
  checkLimits(posting: Pick<ledgerV1.PostTransactionRequest, 'legs' | 'assetCode'>): void {
    for (const leg of posting.legs) this.limits.check(BigInt(leg.amount), posting.assetCode, 'amount');
  }

  /** One ledger write through the group commit. */
  write(command: ledgerV1.BatchCommand): Promise<ledgerV1.Transaction> {
    const refused = this.migrationRefusal(command);
    if (refused) return Promise.reject(refused);
    return this.batcher.submit({ command });
  }

  /**
   * A posting as a plan: lean (no claim; a usage or hold is journalled after its batch) or through
   * the journal (claim first). The claim is what the journal path would record either way.
   */
  planPosting(
    options: { lean: boolean },
    tenant: TenantId,
    claim: OperationClaim,
    posting: Omit<ledgerV1.PostTransactionRequest, 'shadowDocumentId'> & { shadowDocumentId?: string },
  ): WritePlan {
    if (!options.lean) return { mode: 'journal', run: () => this.post(tenant, claim, posting) };
    this.checkLimits(posting);
    const spend = claim.spend;
    const journalled =
      spend && 'unit' in spend.period && (claim.action === 'BookUsage' || claim.action === 'Reserve');
    return {
      mode: 'lean',
      command: { postTransaction: { ...posting, shadowDocumentId: posting.shadowDocumentId ?? '' } },
      journal:
        journalled && spend && 'unit' in spend.period
          ? {
              tenant,
              key: claim.key,
              action: claim.action as 'BookUsage' | 'Reserve',
              requestHash: claim.requestHash,
              walletId: claim.walletId ?? spend.spenderWalletId,
              spenderWalletId: spend.spenderWalletId,
              spendMinor: spend.amountMinor,
              periodUnit: spend.period.unit,
              holdExpiresInSeconds: claim.holdExpiresInSeconds ?? 0,
            }
          : undefined,
    };
  }

  /** Claims the key, posts once, and answers with the ledger's transaction (or the replayed one). */
  post(
    tenant: TenantId,
    claim: OperationClaim,
    posting: Omit<ledgerV1.PostTransactionRequest, 'shadowDocumentId'> & { shadowDocumentId?: string },
  ): Promise<transactionV1.Transaction> {
    this.checkLimits(posting);
    return this.run(tenant, claim, () =>
      this.write({ postTransaction: { ...posting, shadowDocumentId: posting.shadowDocumentId ?? '' } }),
    );
  }

  async run(
    tenant: TenantId,
    claim: OperationClaim,
    call: () => Promise<ledgerV1.Transaction>,
  ): Promise<transactionV1.Transaction> {
    this.migrations?.assertWritable(tenant); // a migrating tenant's wallets: reads only
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
  async settle(
    tenant: TenantId,
    key: string,
    work: () => Promise<string>,
    resolvesHoldId?: string,
  ): Promise<void> {
    let resultId: string;
    try {
      resultId = await work();
    } catch (error) {
      if (error instanceof LedgerError && !isTransient(error))
        await this.repository.fail(tenant, key, error.code);
      throw error;
    }
    // The ledger has committed: a failure to record that here leaves the outcome unknown to the
    // caller, never a final INTERNAL; the retry with the same key replays and completes the journal.
    await this.repository
      .complete(tenant, key, resultId, resolvesHoldId)
      .catch((error: unknown) => Promise.reject(outcomeUnknown('the write was sent to the ledger', error)));
  }

  async requireWallet(tenant: TenantId, walletId: string, field: string): Promise<WalletRow> {
    const wallet = this.caches
      ? await this.caches.wallets.get(AggregatorCaches.walletKey(tenant, walletId), () =>
          this.repository.findWallet(tenant, walletId),
        )
      : await this.repository.findWallet(tenant, walletId);
    if (!wallet)
      throw new LedgerError('WALLET_NOT_FOUND', `${field}: wallet ${walletId} does not exist`, { field });
    return wallet;
  }

  async fundingOf(tenant: TenantId, wallet: WalletRow): Promise<Funding> {
    if (wallet.role !== 'member')
      return { wallet, funder: wallet, accountId: wallet.ledger_account_id as string };
    const organisation = await this.requireWallet(tenant, wallet.parent_wallet_id as string, 'wallet_id');
    return { wallet, funder: organisation, accountId: organisation.ledger_account_id as string };
  }

  refsOf(funding: Funding): PostingReferences {
    return {
      wallet_id: funding.wallet.id,
      funding_wallet_id: funding.funder.id,
      wallet_account_id: funding.accountId,
      member_wallet_id: funding.wallet.role === 'member' ? funding.wallet.id : undefined,
    };
  }

  /** Usage counts against the wallet that used it; a member's against its limit. */
  spendOf(funding: Funding, amount: bigint): SpendClaim {
    const limit = funding.wallet.spend_limit_minor;
    return {
      spenderWalletId: funding.wallet.id,
      amountMinor: amount,
      period: { unit: funding.wallet.limit_period },
      limitMinor: limit === null ? undefined : BigInt(limit),
    };
  }

  /** Captures, voids and reversals adjust the usage of the operation they act on, in its period. */
  async adjustmentOf(
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
  async requireOwnTransaction(tenant: TenantId, id: string): Promise<ledgerV1.Transaction> {
    const tx = await this.ledger.getTransaction({ tenantId: tenant, transactionId: id });
    if (!tx.references['wallet_id']) {
      throw new LedgerError('TRANSACTION_NOT_FOUND', `transaction_id: transaction ${id} does not exist`, {
        field: 'transaction_id',
      });
    }
    return tx;
  }
}
