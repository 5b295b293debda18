import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class MirrorMetrics {
  readonly lagSeconds: Histogram;
  readonly backlogWallets: Gauge;
  readonly oldestAgeSeconds: Gauge;
  readonly writes: Counter;
  readonly failures: Counter;

  constructor(registry: Registry) {
    this.lagSeconds = new Histogram({
      name: 'saldo_mirror_lag_seconds',
      help: 'From the oldest change of a wallet not yet in Firestore to the Firestore commit that shows it',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.backlogWallets = new Gauge({
      name: 'saldo_mirror_backlog_wallets',
      help: 'Wallets whose newest version is not yet in Firestore',
      registers: [registry],
    });
    this.oldestAgeSeconds = new Gauge({
      name: 'saldo_mirror_oldest_pending_age_seconds',
      help: 'Age of the oldest wallet change not yet in Firestore (0 when none)',
      registers: [registry],
    });
    this.writes = new Counter({
      name: 'saldo_mirror_writes_total',
      help: 'Wallet mirror writes by outcome: written, or stale (Firestore already had that version or newer)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'saldo_mirror_failures_total',
      help: 'Wallet mirror attempts that failed (retried with backoff)',
      registers: [registry],
    });
  }
}
