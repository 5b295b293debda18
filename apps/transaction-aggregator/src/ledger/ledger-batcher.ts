import { LedgerError } from '@saldo/ledger-domain';
import type { ledgerV1 } from '@saldo/proto';
import { ledgerOutcomeError, type LedgerApi } from './ledger-client';

/** A write for the ledger's PostBatch, and what to do with its result before answering. */
export interface LedgerWrite {
  command: ledgerV1.BatchCommand;
  /** Runs once per batch over the items that succeeded (e.g. the journal rows); a failure fails them. */
  journal?: JournalEntry;
}

/** An opaque per-item payload handed to the batch's afterBatch hook (the operation journal). */
export type JournalEntry = unknown;

interface Queued {
  write: LedgerWrite;
  resolve(transaction: ledgerV1.Transaction): void;
  reject(error: unknown): void;
}

export interface LedgerBatcherOptions {
  /** Commands per PostBatch call (the ledger takes at most 1,000). */
  readonly maxBatchSize: number;
  /** PostBatch calls in flight at once. */
  readonly maxConcurrentBatches: number;
  /** Commands waiting at most; past this, callers are told to retry (ABORTED). */
  readonly maxQueued: number;
  /**
   * After a batch, with the journal entries of the commands that succeeded (replays included) and
   * their transactions, in batch order. Awaited before any of them is answered.
   */
  readonly afterBatch?: (
    done: Array<{ entry: JournalEntry; transaction: ledgerV1.Transaction }>,
  ) => Promise<void>;
}

/**
 * Group commit for the aggregator's ledger writes. Every write (a unary call's, a batch's, a Pub/Sub
 * message's) queues here; whenever fewer than maxConcurrentBatches calls are in flight, the queue's
 * head (up to maxBatchSize) goes to the ledger as ONE PostBatch. An idle aggregator therefore sends
 * batches of one with no added latency; a busy one sends bigger batches, so the ledger's round trip,
 * commit and locks are paid once per batch. Commands are handed over in arrival order, and the
 * ledger decides them in that order.
 */
export class LedgerBatcher {
  private readonly queue: Queued[] = [];
  private inFlight = 0;
  readonly stats = { batches: 0, commands: 0, largestBatch: 0 };

  constructor(
    private readonly ledger: Pick<LedgerApi, 'postBatch'>,
    private readonly options: LedgerBatcherOptions,
  ) {
    if (options.maxBatchSize < 1 || options.maxBatchSize > 1_000)
      throw new RangeError('maxBatchSize: 1..1000');
  }

  submit(write: LedgerWrite): Promise<ledgerV1.Transaction> {
    if (this.queue.length >= this.options.maxQueued) {
      return Promise.reject(
        new LedgerError(
          'CONFLICT_RETRY',
          'the aggregator is at capacity; retry shortly with the same idempotency key',
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
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
    let response: ledgerV1.PostBatchResponse;
    try {
      response = await this.ledger.postBatch({ commands: batch.map((item) => item.write.command) });
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    const done: Array<{ item: Queued; transaction: ledgerV1.Transaction }> = [];
    batch.forEach((item, i) => {
      const outcome = response.outcomes[i];
      if (outcome?.transaction) done.push({ item, transaction: outcome.transaction });
      else if (outcome?.error) item.reject(ledgerOutcomeError(outcome.error));
      else
        item.reject(
          new Error(
            `ledger PostBatch answered ${response.outcomes.length} outcomes for ${batch.length} commands`,
          ),
        );
    });
    const journalled = done.filter(({ item }) => item.write.journal !== undefined);
    if (this.options.afterBatch && journalled.length > 0) {
      try {
        await this.options.afterBatch(
          journalled.map(({ item, transaction }) => ({ entry: item.write.journal, transaction })),
        );
      } catch (error) {
        // Posted, but not recorded: the caller's retry (same key) replays in the ledger and records it.
        for (const { item } of journalled) item.reject(error);
        for (const { item, transaction } of done)
          if (item.write.journal === undefined) item.resolve(transaction);
        return;
      }
    }
    for (const { item, transaction } of done) item.resolve(transaction);
  }
}
