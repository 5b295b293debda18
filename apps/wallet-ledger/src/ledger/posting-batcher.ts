import { LedgerError } from '@saldo/ledger-domain';
import type { WalletLocks } from '@saldo/locks';
import type { LedgerRepository, PostingCommand } from './ledger.repository';
import type { TransactionRow } from './wire-mapping';

interface Queued {
  command: PostingCommand;
  lockKeys: readonly string[];
  resolve(row: TransactionRow): void;
  reject(error: unknown): void;
}

export interface PostingBatcherOptions {
  /** Commands per database transaction. */
  readonly maxBatchSize: number;
  /** Batches in flight at once (each holds one pooled connection). */
  readonly maxConcurrentBatches: number;
  /** Commands waiting at most; past this, callers are told to retry (ABORTED). */
  readonly maxQueued: number;
}

/**
 * Group commit for ledger writes. Commands queue here; whenever fewer than maxConcurrentBatches
 * are in flight, the queue's head (up to maxBatchSize) goes to PostgreSQL as one transaction
 * (ledger.post_batch). An idle ledger therefore sends batches of one, with no added latency; a busy
 * one sends bigger batches, amortising the round trip, the commit and the locks over many commands
 * — a hot wallet most of all. Each batch takes the wallet locks of all its commands at once.
 */
export class PostingBatcher {
  private readonly queue: Queued[] = [];
  private inFlight = 0;
  readonly stats = { batches: 0, commands: 0, largestBatch: 0, retriedAlone: 0 };

  constructor(
    private readonly repository: LedgerRepository,
    private readonly locks: WalletLocks,
    private readonly options: PostingBatcherOptions,
  ) {}

  submit(command: PostingCommand, lockKeys: readonly string[]): Promise<TransactionRow> {
    if (this.queue.length >= this.options.maxQueued) {
      return Promise.reject(new LedgerError('CONFLICT_RETRY', 'the ledger is at capacity; retry shortly'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ command, lockKeys, resolve, reject });
      this.pump();
    });
  }

  get queued(): number {
    return this.queue.length;
  }

  private pump(): void {
    while (this.inFlight < this.options.maxConcurrentBatches && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatchSize);
      this.inFlight += 1;
      void this.run(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  private async run(batch: Queued[]): Promise<void> {
    this.stats.batches += 1;
    this.stats.commands += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    let outcomes;
    try {
      outcomes = await this.locks.withLocks(
        batch.flatMap((item) => item.lockKeys),
        () => this.repository.postBatch(batch.map((item) => item.command)),
      );
    } catch (error) {
      // A whole-batch failure (lock timeout, deadlock with another instance's batch, a guard
      // tripped at commit): give each command its own transaction, so only the culprit fails.
      if (batch.length > 1 && !isUnavailable(error)) {
        this.stats.retriedAlone += batch.length;
        await Promise.all(batch.map((item) => this.run([item])));
        return;
      }
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, index) => {
      const outcome = outcomes[index];
      if (outcome && 'ok' in outcome) item.resolve(outcome.ok);
      else
        item.reject(
          outcome?.error ?? new LedgerError('INTERNAL', 'the batch returned no result for a command'),
        );
    });
  }
}

function isUnavailable(error: unknown): boolean {
  return error instanceof LedgerError && error.code === 'DEPENDENCY_UNAVAILABLE';
}
