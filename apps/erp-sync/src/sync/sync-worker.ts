import { logFailure } from '@saldo/faults';
import type { Logger } from '@saldo/logging';
import type { Connector, OutboundRecord, WriteResult } from '../connectors/connector';
import { backoffMs } from '../connectors/limiter';
import type { ConnectorName, SyncRecord, SyncStore } from '../store/sync-store';

export interface WorkerOptions {
  pollIntervalMs: number;
  /** Records claimed per pass (a CRM's bulk request size, NetSuite's batch). */
  claimBatch: number | ((connector: ConnectorName) => number);
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Delay before re-sending a record whose content changed during a write. */
  requeueDelayMs: (connector: ConnectorName) => number;
}

/** Turns a claimed sync record into what its connector writes (journal content, latest balance). */
export type PayloadLoader<T> = (record: SyncRecord) => Promise<T>;

interface Lane<T> {
  connector: Connector<T>;
  load: PayloadLoader<T>;
}

export interface WorkerStats {
  written: number;
  retried: number;
  throttled: number;
  dead: number;
}

/**
 * One loop per connector: claim due records (lease), load their payloads, write them in a batch
 * through the connector (whose limiter keeps the vendor's limits), and record each result:
 * synced with the external id, failed with a backoff (full jitter, at least Retry-After), or dead
 * with the reason. A crash mid-write leaves the record in flight until its lease lapses, then it is
 * written again — harmless, since every write is an upsert by key.
 */
export class SyncWorker {
  private readonly lanes: Array<Lane<unknown>> = [];
  private running = false;
  private loops: Array<Promise<void>> = [];
  private wake: Array<() => void> = [];
  readonly stats: Record<string, WorkerStats> = {};

  constructor(
    private readonly store: SyncStore,
    private readonly options: WorkerOptions,
    private readonly logger: Logger,
  ) {}

  register<T>(connector: Connector<T>, load: PayloadLoader<T>): void {
    this.lanes.push({ connector, load } as Lane<unknown>);
    this.stats[connector.name] = { written: 0, retried: 0, throttled: 0, dead: 0 };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = this.lanes.map((lane) => this.loop(lane));
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const wake of this.wake.splice(0)) wake();
    await Promise.all(this.loops);
  }

  /** One pass over a connector's due records (tests and the CLI drive it directly). */
  async runOnce(name: ConnectorName): Promise<number> {
    const lane = this.lanes.find((l) => l.connector.name === name);
    if (!lane) throw new Error(`connector ${name} is not registered`);
    return this.pass(lane);
  }

  private async loop(lane: Lane<unknown>): Promise<void> {
    while (this.running) {
      let claimed = 0;
      try {
        claimed = await this.pass(lane);
      } catch (error) {
        logFailure(this.logger, error, { connector: lane.connector.name }, 'sync pass failed');
      }
      if (claimed === 0 && this.running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.pollIntervalMs);
          this.wake.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    }
  }

  private async pass(lane: Lane<unknown>): Promise<number> {
    const { connector } = lane;
    const claimBatch =
      typeof this.options.claimBatch === 'number'
        ? this.options.claimBatch
        : this.options.claimBatch(connector.name);
    const records = await this.store.claim(connector.name, claimBatch, this.options.leaseMs);
    if (records.length === 0) return 0;
    const outbound: Array<OutboundRecord<unknown>> = [];
    const revisions = new Map<string, bigint>();
    for (const record of records) {
      try {
        outbound.push({ syncRecordId: record.id, key: record.recordKey, payload: await lane.load(record) });
        revisions.set(record.id, record.revision);
      } catch (error) {
        await this.store.markDead(
          record.id,
          `cannot build the ${connector.name} payload: ${(error as Error).message}`,
        );
        this.stats[connector.name]!.dead += 1;
      }
    }
    let results: WriteResult[];
    try {
      results = await connector.writeBatch(outbound);
    } catch (error) {
      const message = `${connector.name} write failed: ${(error as Error).message}`;
      results = outbound.map(() => ({ status: 'retry' as const, error: message, throttled: false }));
    }
    if (results.length !== outbound.length)
      throw new Error(`${connector.name} returned ${results.length} results for ${outbound.length} records`);
    await Promise.all(
      outbound.map((record, i) =>
        this.settle(
          connector.name,
          records.find((r) => r.id === record.syncRecordId)!,
          results[i]!,
          revisions.get(record.syncRecordId)!,
        ),
      ),
    );
    return records.length;
  }

  private async settle(
    name: ConnectorName,
    record: SyncRecord,
    result: WriteResult,
    revision: bigint,
  ): Promise<void> {
    const stats = this.stats[name]!;
    const log = this.logger.child({ connector: name, syncRecordId: record.id, key: record.recordKey });
    switch (result.status) {
      case 'ok':
        stats.written += 1;
        await this.store.markSynced(
          record.id,
          revision,
          result.externalId,
          this.options.requeueDelayMs(name),
        );
        return;
      case 'retry': {
        const backoff = backoffMs(record.attempts, this.options.retryBaseMs, this.options.retryMaxMs);
        const delay = Math.max(backoff, result.retryAfterMs ?? 0);
        const state = await this.store.markFailed(record.id, result.error, delay, {
          countsAsAttempt: !result.throttled,
          maxAttempts: this.options.maxAttempts,
        });
        if (result.throttled) stats.throttled += 1;
        else stats.retried += 1;
        if (state === 'dead') {
          stats.dead += 1;
          log.error({ error: result.error }, 'sync record dead-lettered after its last attempt');
        } else if (!result.throttled)
          log.warn({ error: result.error, retryInMs: delay }, 'sync write failed; will retry');
        return;
      }
      case 'reject':
        stats.dead += 1;
        await this.store.markDead(record.id, result.error);
        log.error({ error: result.error }, 'vendor refused the record: dead-lettered');
        return;
    }
  }
}
