import type { Logger } from '@saldo/logging';
import type { GrantsService } from '../grants/grants.service';
import type { LedgerService } from './ledger.service';

/** One bounded pass of expiries; the counts are logged when anything happened. */
type ExpiryPass = (limit: number) => Promise<Record<string, number>>;

/**
 * Runs one kind of expiry every interval. Every instance runs one: each expiry posts under a
 * deterministic idempotency key and the rows' locks, so sweepers of several instances (or a
 * sweeper and a caller) can never apply the same expiry twice.
 */
export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly what: string,
    private readonly pass: ExpiryPass,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly batchSize: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweepOnce(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One bounded pass; overlapping calls share the pass in progress. */
  sweepOnce(): Promise<void> {
    this.running ??= this.sweep().finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweep(): Promise<void> {
    try {
      const counts = await this.pass(this.batchSize);
      if (Object.values(counts).some((n) => n > 0)) this.logger.info(counts, `${this.what} swept`);
    } catch (error) {
      this.logger.warn({ err: error }, `${this.what} sweep failed; will retry`);
    }
  }
}

/** Voids holds past their expiry under `saldo:hold-expiry:<hold id>`. */
export class HoldExpirySweeper extends ExpirySweeper {
  constructor(ledger: LedgerService, logger: Logger, intervalMs: number, batchSize: number) {
    super('expired holds', (limit) => ledger.voidExpiredHolds(limit), logger, intervalMs, batchSize);
  }
}

/** Moves what is left of expired credit grants to breakage (docs/grants.md). */
export class GrantExpirySweeper extends ExpirySweeper {
  constructor(grants: GrantsService, logger: Logger, intervalMs: number, batchSize: number) {
    super('expired grants', (limit) => grants.expireGrants(limit), logger, intervalMs, batchSize);
  }
}
