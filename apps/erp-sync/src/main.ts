import { ConfigError, describeConfig } from '@saldo/config';
import { createLogger } from '@saldo/logging';
import { createMetricsRegistry, startObservabilityServer } from '@saldo/observability';
import { initTracing } from '@saldo/tracing';
import { Counter, Gauge } from 'prom-client';
import { loadErpSyncConfig } from './config';
import { LedgerEventsConsumer } from './consumer/ledger-events.consumer';
import { createErpSyncDataSource } from './database/erp-sync-data-source';
import { TenantConfigError } from './mapping/tenant-config';
import { RetentionJob, retentionPolicyOf } from './retention/retention';
import type { LimiterStats } from './connectors/limiter';
import { HubApi } from './hub/hub-api';
import { HubJobs } from './hub/hub-jobs';
import { createConnectors, createHub, createWorker, crmConnectorsOf, loadTenants } from './runtime';
import { AggregatorGateway, parseTenantKeys } from './shadow/aggregator-gateway';
import { DocumentStore } from './shadow/document-store';
import { ShadowConfirmer } from './shadow/shadow-confirmer';
import { SyncStore } from './store/sync-store';
import { startWebhookServer } from './webhooks/webhook-server';

async function main(): Promise<void> {
  const tracing = initTracing('erp-sync'); // first: spans from here on are exported
  const config = loadErpSyncConfig();
  const tenants = loadTenants(config);
  const logger = createLogger('erp-sync', config.LOG_LEVEL);
  const db = await createErpSyncDataSource(config.DATABASE_URL, config.ERP_SYNC_DB_POOL_SIZE).initialize();
  const store = new SyncStore(db);
  const connectors = createConnectors(config, store);
  const timing = {
    journalDelayMs: config.ERP_SYNC_SUMMARY_DELAY_MS,
    balanceDelayMs: config.ERP_SYNC_BALANCE_DELAY_MS,
  };
  const worker = createWorker(config, store, connectors, tenants, logger);
  const aggregatorKeys = parseTenantKeys(config.ERP_SYNC_AGGREGATOR_API_KEYS);
  const shadowOn =
    config.ERP_SYNC_SHADOW_ENABLED && connectors.netsuite !== undefined && aggregatorKeys.size > 0;
  const documents = shadowOn ? new DocumentStore(db) : undefined;
  const aggregator = shadowOn
    ? new AggregatorGateway(
        config.ERP_SYNC_AGGREGATOR_TARGET,
        aggregatorKeys,
        config.ERP_SYNC_AGGREGATOR_DEADLINE_MS,
      )
    : undefined;
  const confirmer =
    documents && aggregator && connectors.netsuite
      ? new ShadowConfirmer(
          documents,
          connectors.netsuite,
          aggregator,
          {
            pollIntervalMs: config.ERP_SYNC_SHADOW_POLL_INTERVAL_MS,
            batch: config.ERP_SYNC_SHADOW_POLL_BATCH,
          },
          logger,
        )
      : undefined;
  const consumer = new LedgerEventsConsumer(
    store,
    tenants,
    {
      projectId: config.GOOGLE_CLOUD_PROJECT,
      topic: config.LEDGER_EVENTS_TOPIC,
      subscription: config.ERP_SYNC_SUBSCRIPTION,
      createSubscription: config.ERP_SYNC_CREATE_SUBSCRIPTION,
      ackDeadlineSeconds: config.ERP_SYNC_ACK_DEADLINE_S,
      maxMessages: config.ERP_SYNC_MAX_MESSAGES,
      batchSize: config.ERP_SYNC_INGEST_BATCH,
      lingerMs: config.ERP_SYNC_INGEST_LINGER_MS,
      timing,
      crmConnectors: crmConnectorsOf(connectors),
    },
    logger,
    documents,
  );

  const hub =
    config.ERP_SYNC_HUB_ENABLED || config.ERP_SYNC_HUB_API_TOKEN
      ? createHub(config, db, connectors, logger)
      : undefined;
  const hubJobs =
    hub && config.ERP_SYNC_HUB_ENABLED
      ? new HubJobs(
          hub.engine,
          hub.store,
          {
            redisUrl: config.REDIS_URL,
            queueName: config.ERP_SYNC_HUB_QUEUE,
            concurrency: config.ERP_SYNC_HUB_CONCURRENCY,
            everyMs: {
              ...(connectors.netsuite ? { netsuite: config.ERP_SYNC_HUB_NETSUITE_EVERY_MS } : {}),
              ...(connectors.zendesk ? { zendesk: config.ERP_SYNC_HUB_ZENDESK_EVERY_MS } : {}),
              ...(connectors.activecampaign
                ? { activecampaign: config.ERP_SYNC_HUB_ACTIVECAMPAIGN_EVERY_MS }
                : {}),
            },
          },
          logger.child({ component: 'hub-jobs' }),
        )
      : undefined;

  const registry = createMetricsRegistry('erp-sync');
  new Gauge({
    name: 'saldo_erp_sync_hub_records',
    help: 'Integration hub: customers by state, quarantined records, open reviews, paused fields (schema drift)',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      if (!hub) return;
      const status = await hub.store.status();
      for (const [state, n] of Object.entries(status.customers)) this.set({ kind: `customers_${state}` }, n);
      this.set({ kind: 'quarantined' }, status.quarantined);
      this.set({ kind: 'in_review' }, status.inReview);
      this.set({ kind: 'paused_fields' }, status.paused);
    },
  });
  new Gauge({
    name: 'saldo_erp_sync_records',
    help: 'Sync records by connector and state',
    labelNames: ['connector', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [key, n] of Object.entries(await store.counts())) {
        const [connector, state] = key.split(':');
        this.set({ connector, state }, n);
      }
    },
  });
  new Gauge({
    name: 'saldo_erp_sync_limiter_in_flight',
    help: 'Vendor requests in flight, by connector',
    labelNames: ['connector'],
    registers: [registry],
    collect() {
      for (const [name, limiter] of Object.entries(connectors.limiters))
        this.set({ connector: name }, limiter.stats().inFlight);
    },
  });
  // The limiter's state besides requests in flight (the Console's sync page shows them).
  const limiterGauge = (name: string, help: string, value: (stats: LimiterStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['connector'],
      registers: [registry],
      collect() {
        for (const [connector, limiter] of Object.entries(connectors.limiters))
          this.set({ connector }, value(limiter.stats()));
      },
    });
  limiterGauge(
    'saldo_erp_sync_limiter_limit',
    'Vendor requests allowed at once, by connector',
    (s) => s.limit,
  );
  limiterGauge(
    'saldo_erp_sync_limiter_queued',
    'Vendor requests waiting for the limiter, by connector',
    (s) => s.queued,
  );
  limiterGauge(
    'saldo_erp_sync_limiter_paused_seconds',
    "Seconds the connector still waits after a vendor's Retry-After (0: not paused)",
    (s) => s.pausedForMs / 1000,
  );
  new Gauge({
    name: 'saldo_erp_sync_shadow_documents',
    help: 'ERP documents behind shadow top-ups, by state (rejected_unrecoverable needs an operator)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      if (!documents) return;
      for (const [state, n] of Object.entries(await documents.counts())) this.set({ state }, n);
    },
  });
  const retentionDeleted = new Counter({
    name: 'saldo_erp_sync_retention_deleted_total',
    help: 'Rows deleted by the retention purge, by table',
    labelNames: ['table'],
    registers: [registry],
  });
  const retention = config.ERP_SYNC_RETENTION_ENABLED
    ? new RetentionJob(
        db,
        retentionPolicyOf(config),
        config.ERP_SYNC_RETENTION_INTERVAL_MS,
        logger,
        (result) => {
          for (const [table, n] of Object.entries(result.deleted)) retentionDeleted.inc({ table }, n);
        },
      )
    : undefined;
  const http = await startObservabilityServer({
    host: config.ERP_SYNC_HTTP_HOST,
    port: config.ERP_SYNC_HTTP_PORT,
    registry,
    readiness: [
      {
        name: 'database',
        critical: true,
        check: async () => {
          await db.query('SELECT 1');
          return { ok: true, detail: 'up' };
        },
      },
      {
        name: 'dead_letters',
        critical: false,
        check: async () => {
          const dead = Object.entries(await store.counts())
            .filter(([k]) => k.endsWith(':dead'))
            .reduce((s, [, n]) => s + n, 0);
          return { ok: dead === 0, detail: `${dead} dead record(s)` };
        },
      },
      {
        name: 'hub',
        critical: false,
        check: async () => {
          if (!hub) return { ok: true, detail: 'integration hub off' };
          const paused = await hub.store.paused();
          const status = await hub.store.status();
          return {
            ok: paused.length === 0,
            detail:
              `${status.quarantined} quarantined, ${status.inReview} in review` +
              (paused.length
                ? `; paused by schema drift: ${paused.map((p) => `${p.tenantId} ${p.connector}.${p.sourceField}`).join(', ')}`
                : ''),
          };
        },
      },
      {
        name: 'shadow_documents',
        critical: false,
        check: async () => {
          if (!documents) return { ok: true, detail: 'shadow confirmation off' };
          const counts = await documents.counts();
          return {
            ok: counts.rejected_unrecoverable === 0,
            detail: `${counts.watching} watched, ${counts.rejected_unrecoverable} rejected but not reversible (operator)`,
          };
        },
      },
    ],
  });

  const webhooks =
    config.ERP_SYNC_WEBHOOK_SECRET || config.ZENDESK_WEBHOOK_SECRET
      ? await startWebhookServer(
          {
            host: config.ERP_SYNC_WEBHOOK_HOST,
            port: config.ERP_SYNC_WEBHOOK_PORT,
            toleranceS: config.ERP_SYNC_WEBHOOK_TOLERANCE_S,
            erpSecret: config.ERP_SYNC_WEBHOOK_SECRET,
            zendeskSecret: config.ZENDESK_WEBHOOK_SECRET,
            onZendeskEvent: hubJobs
              ? () =>
                  void hubJobs
                    .poke('zendesk')
                    .catch((error: unknown) => logger.warn({ err: error }, 'hub: Zendesk webhook not queued'))
              : undefined,
          },
          confirmer,
          logger,
        )
      : undefined;

  if (shadowOn)
    logger.info(
      { tenants: [...aggregatorKeys.keys()], aggregator: config.ERP_SYNC_AGGREGATOR_TARGET },
      'shadow balance confirmation on',
    );
  else
    logger.info(
      {
        reason: !config.ERP_SYNC_SHADOW_ENABLED
          ? 'ERP_SYNC_SHADOW_ENABLED=false'
          : !connectors.netsuite
            ? 'NetSuite is disabled'
            : 'ERP_SYNC_AGGREGATOR_API_KEYS is empty',
      },
      'shadow balance confirmation off',
    );
  const hubApi =
    hub && config.ERP_SYNC_HUB_API_TOKEN
      ? await new HubApi(hub.service, config.ERP_SYNC_HUB_API_TOKEN, logger).listen(
          config.ERP_SYNC_HUB_API_PORT,
          config.ERP_SYNC_HUB_API_HOST,
        )
      : undefined;
  await hubJobs?.start();
  if (config.ERP_SYNC_WORKER_ENABLED) worker.start();
  confirmer?.start();
  retention?.start();
  if (config.ERP_SYNC_CONSUMER_ENABLED) await consumer.start();
  logger.info(
    {
      config: describeConfig(config),
      tenants: Object.keys(tenants),
      http: http.url,
      webhooks: webhooks?.url,
      shadow: shadowOn,
      retention: retention !== undefined,
      hub: hubJobs !== undefined,
      hubApi: hubApi?.url,
    },
    'erp-sync is running',
  );

  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await webhooks?.close();
    await hubApi?.close();
    await hubJobs?.stop();
    await consumer.stop();
    await confirmer?.stop();
    await retention?.stop();
    aggregator?.close();
    await worker.stop();
    await http.close();
    await db.destroy();
    await tracing.shutdown();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof TenantConfigError) {
    process.stderr.write(`erp-sync cannot start.\n${error.message}\n`);
  } else {
    process.stderr.write(
      `erp-sync failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
  }
  process.exit(1);
});
