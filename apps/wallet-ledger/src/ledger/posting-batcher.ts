import { LedgerError } from '@saldo/ledger-domain';
import type { WalletLocks } from '@saldo/locks';
import type { LedgerRepository, PostingCommand } from './ledger.repository';
import type { TransactionRow } from './wire-mapping';

/** A validated write and the lock keys (wallets, holds) it serialises on. */
export interface PreparedWrite {
  readonly command: PostingCommand;
  readonly lockKeys: readonly string[];
}

interface Queued {
  command: PostingCommand;
  lockKeys: readonly string[];
  resolve(row: TransactionRow): void;
  reject(error: unknown): void;
}

/** Queued commands that justify a batch in parallel with one already in flight. */
const PARALLEL_BATCH_MIN_COMMANDS = 32;

/** What waits in the queue: a unary write, or the writes of one PostBatch call, never split. */
type Unit = readonly Queued[];

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
  private readonly queue: Unit[] = [];
  private queuedCommands = 0;
  private inFlight = 0;
  readonly stats = { batches: 0, commands: 0, largestBatch: 0, retriedAlone: 0 };

  constructor(
    private readonly repository: LedgerRepository,
    private readonly locks: WalletLocks,
    private readonly options: PostingBatcherOptions,
  ) {}

  submit(write: PreparedWrite): Promise<TransactionRow> {
    const [result] = this.enqueue([write]);
    return result as Promise<TransactionRow>;
  }

  /**
   * Many writes at once (a PostBatch call): they stay together in one database transaction, so
   * they are decided in their order. One outcome each, in order.
   */
  submitAll(writes: readonly PreparedWrite[]): Promise<Array<PromiseSettledResult<TransactionRow>>> {
    return Promise.allSettled(this.enqueue(writes));
  }

  get queued(): number {
    return this.queuedCommands;
  }

  private enqueue(writes: readonly PreparedWrite[]): Array<Promise<TransactionRow>> {
    if (writes.length === 0) return [];
    if (this.queuedCommands + writes.length > this.options.maxQueued) {
      const busy = new LedgerError('CONFLICT_RETRY', 'the ledger is at capacity; retry shortly');
      return writes.map(() => Promise.reject(busy));
    }
    const unit: Queued[] = [];
    const promises = writes.map(
      ({ command, lockKeys }) =>
        new Promise<TransactionRow>((resolve, reject) => unit.push({ command, lockKeys, resolve, reject })),
    );
    this.queue.push(unit);
    this.queuedCommands += unit.length;
    this.pump();
    return promises;
  }

  private pump(): void {
    while (this.inFlight < this.options.maxConcurrentBatches && this.queue.length > 0) {
      // Adaptive: an idle ledger posts at once; a busy one opens another batch in parallel only
      // for a worthwhile backlog — otherwise the queue waits for the batch in flight and goes
      // with everything that arrived meanwhile (a batch costs the database far more than a
      // command in it, so a few big batches beat many batches of one).
      if (this.inFlight > 0 && this.queuedCommands < PARALLEL_BATCH_MIN_COMMANDS) return;
      // Whole units from the head, up to maxBatchSize commands (a bigger unit goes alone).
      const units: Unit[] = [this.queue.shift() as Unit];
      let size = units[0]!.length;
      while (this.queue.length > 0 && size + this.queue[0]!.length <= this.options.maxBatchSize) {
        const unit = this.queue.shift() as Unit;
        units.push(unit);
        size += unit.length;
      }
      this.queuedCommands -= size;
      this.inFlight += 1;
      void this.run(units).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  private async run(units: readonly Unit[]): Promise<void> {
    const batch = units.flat();
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
      // tripped at commit): each unit again in its own transaction, in order, so only the
      // culprit fails; a unit of several commands goes one command at a time.
      if (batch.length > 1 && !isUnavailable(error)) {
        this.stats.retriedAlone += batch.length;
        const alone = units.length > 1 ? units : batch.map((item) => [item]);
        for (const unit of alone) await this.run([unit]);
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
