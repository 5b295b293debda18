import type { LedgerGateway } from '../ledger/ledger-gateway';
import type { LegacySource } from '../source/legacy-source';
import type { Mapping } from '../source/mapping';
import type { MigrationMetrics } from './metrics';
import type { MigrationStore } from './migration-store';

/** Limits of one run (TIGER_STYLE: a bound on everything). */
export interface RunOptions {
  /** Legacy wallets or changes read per page (1..10 000). */
  readonly pageSize: number;
  /** Ledger calls in flight (1..256). */
  readonly concurrency: number;
  /** Wallets (import) or changes (catch-up) per second; 0: unthrottled. */
  readonly ratePerSecond: number;
  /** No progress lines on stderr. */
  readonly quiet: boolean;
}

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  pageSize: 1_000,
  concurrency: 16,
  ratePerSecond: 0,
  quiet: false,
};

export interface MigrationContext {
  readonly store: MigrationStore;
  readonly ledger: LedgerGateway;
  readonly source: LegacySource;
  readonly mapping: Mapping;
  readonly options: RunOptions;
  readonly metrics?: MigrationMetrics;
}

/** Refusals an operator can act on (exit 1 with the message), as opposed to bugs and outages. */
export class MigrationRefused extends Error {
  constructor(
    message: string,
    readonly report?: unknown,
  ) {
    super(message);
  }
}

/** Ledger idempotency keys of a migration: what makes each posting happen once, and what a rollback finds. */
export const keys = {
  opening: (migrationId: string, legacyId: string) => `mig:${migrationId}:open:${legacyId}`,
  change: (migrationId: string, changeId: bigint) => `mig:${migrationId}:chg:${changeId}`,
  rollback: (migrationId: string, transactionId: string) => `mig:${migrationId}:rollback:${transactionId}`,
};
