import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const LAG_BUCKETS_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export class RelayMetrics {
  readonly backlogRows: Gauge;
  readonly oldestAgeSeconds: Gauge;
  readonly publishLagSeconds: Histogram;
  readonly eventsPublished: Counter;
  readonly rowsPublished: Counter;
  readonly publishFailures: Counter;
  readonly batchFailures: Counter;
  readonly leader: Gauge;

  constructor(registry: Registry) {
    this.backlogRows = new Gauge({
      name: 'saldo_outbox_backlog_rows',
      help: 'Outbox rows committed but not yet published to Pub/Sub',
      registers: [registry],
    });
    this.oldestAgeSeconds = new Gauge({
      name: 'saldo_outbox_oldest_unpublished_age_seconds',
      help: 'Age of the oldest unpublished outbox row (0 when none)',
      registers: [registry],
    });
    this.publishLagSeconds = new Histogram({
      name: 'saldo_outbox_publish_lag_seconds',
      help: 'From the ledger change (outbox row written) to its events accepted by Pub/Sub',
      buckets: LAG_BUCKETS_S,
      registers: [registry],
    });
    this.eventsPublished = new Counter({
      name: 'saldo_outbox_events_published_total',
      help: 'Messages accepted by Pub/Sub (redeliveries included)',
      registers: [registry],
    });
    this.rowsPublished = new Counter({
      name: 'saldo_outbox_rows_published_total',
      help: 'Outbox rows marked published',
      registers: [registry],
    });
    this.publishFailures = new Counter({
      name: 'saldo_outbox_publish_failures_total',
      help: 'Messages Pub/Sub did not accept (retried)',
      registers: [registry],
    });
    this.batchFailures = new Counter({
      name: 'saldo_outbox_relay_failures_total',
      help: 'Relay batches that failed (database, Pub/Sub or event building), by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.leader = new Gauge({
      name: 'saldo_outbox_relay_leader',
      help: '1 when this instance holds the relay lease and publishes, 0 on standby',
      registers: [registry],
    });
  }
}
