import { Counter, Gauge, type Registry } from 'prom-client';

/** What /metrics of a running migrator step shows: progress of the import, and the catch-up lag. */
export class MigrationMetrics {
  private readonly walletsImported: Counter<'migration' | 'tenant'>;
  private readonly changesApplied: Counter<'migration' | 'tenant' | 'outcome'>;
  private readonly appliedCursor: Gauge<'migration' | 'tenant'>;
  private readonly sourceCursor: Gauge<'migration' | 'tenant'>;
  private readonly lagChanges: Gauge<'migration' | 'tenant'>;
  private readonly lagSeconds: Gauge<'migration' | 'tenant'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.walletsImported = new Counter({
      name: 'saldo_migration_wallets_imported_total',
      help: 'Legacy wallets opened in Saldo (with their opening balance) by this process',
      labelNames: ['migration', 'tenant'],
      registers,
    });
    this.changesApplied = new Counter({
      name: 'saldo_migration_changes_total',
      help: 'Legacy changes replayed by the catch-up (outcome applied | skipped)',
      labelNames: ['migration', 'tenant', 'outcome'],
      registers,
    });
    this.appliedCursor = new Gauge({
      name: 'saldo_migration_applied_cursor',
      help: 'The newest legacy change applied to the ledger',
      labelNames: ['migration', 'tenant'],
      registers,
    });
    this.sourceCursor = new Gauge({
      name: 'saldo_migration_source_cursor',
      help: 'The newest legacy change seen in the source',
      labelNames: ['migration', 'tenant'],
      registers,
    });
    this.lagChanges = new Gauge({
      name: 'saldo_migration_lag_changes',
      help: 'Legacy changes not yet applied',
      labelNames: ['migration', 'tenant'],
      registers,
    });
    this.lagSeconds = new Gauge({
      name: 'saldo_migration_lag_seconds',
      help: 'Age of the oldest legacy change not yet applied (0 when caught up)',
      labelNames: ['migration', 'tenant'],
      registers,
    });
  }

  imported(migration: string, tenant: string, wallets: number): void {
    this.walletsImported.inc({ migration, tenant }, wallets);
  }

  caughtUp(
    migration: string,
    tenant: string,
    applied: bigint,
    source: bigint,
    lagSeconds: number,
    changes = 0,
    skipped = 0,
  ): void {
    const labels = { migration, tenant };
    this.appliedCursor.set(labels, Number(applied));
    this.sourceCursor.set(labels, Number(source));
    this.lagChanges.set(labels, Number(source > applied ? source - applied : 0n));
    this.lagSeconds.set(labels, lagSeconds);
    if (changes) this.changesApplied.inc({ ...labels, outcome: 'applied' }, changes);
    if (skipped) this.changesApplied.inc({ ...labels, outcome: 'skipped' }, skipped);
  }
}
