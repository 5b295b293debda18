import type { Logger } from '@saldo/logging';
import type { LedgerService } from './ledger.service';

/**
 * Voids holds past their expiry, every interval. Every instance runs one: each expiry is voided
 * under the deterministic idempotency key `saldo:hold-expiry:<hold id>` and the hold's row lock,
 * so two sweepers (or a sweeper and a capture) can never both resolve the same hold.
 */
export class HoldExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly ledger: LedgerService,
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
      const { voided, skipped } = await this.ledger.voidExpiredHolds(this.batchSize);
      if (voided > 0 || skipped > 0) this.logger.info({ voided, skipped }, 'expired holds voided');
    } catch (error) {
      this.logger.warn({ err: error }, 'hold expiry sweep failed; will retry');
    }
  }
}
