import { readFileSync } from 'node:fs';
import type { Logger } from '@saldo/logging';
import type { ErpSyncConfig } from './config';
import { ActiveCampaignConnector, type BalancePayload, ZendeskConnector } from './connectors/crm';
import { AdaptiveLimiter } from './connectors/limiter';
import { NetSuiteTokenSource } from './connectors/netsuite/netsuite-auth';
import { NetSuiteConnector } from './connectors/netsuite/netsuite-connector';
import { VendorHttp } from './connectors/vendor-http';
import { loadTenantsConfig, type TenantsConfig } from './mapping/tenant-config';
import { SyncStore, type ConnectorName } from './store/sync-store';
import { SyncWorker } from './sync/sync-worker';
import { HubEngine } from './hub/hub-engine';
import { HubService } from './hub/hub-service';
import { HubStore } from './hub/hub-store';
import type { HubConnector } from './hub/mapping';
import {
  ActiveCampaignCustomers,
  NetSuiteCustomers,
  ZendeskCustomers,
  type CustomerSource,
} from './hub/sources';
import type { DataSource } from 'typeorm';

export interface Connectors {
  netsuite?: NetSuiteConnector;
  zendesk?: ZendeskConnector;
  activecampaign?: ActiveCampaignConnector;
  limiters: Partial<Record<ConnectorName, AdaptiveLimiter>>;
  /** Each vendor's HTTP door (its limiter, audit): the integration hub speaks through the same one. */
  http: Partial<Record<ConnectorName, VendorHttp>>;
}

export function loadTenants(config: ErpSyncConfig): TenantsConfig {
  return loadTenantsConfig({ json: config.ERP_SYNC_TENANTS_JSON, file: config.ERP_SYNC_TENANTS_FILE });
}

function privateKey(config: ErpSyncConfig): string {
  if (config.NETSUITE_PRIVATE_KEY) return config.NETSUITE_PRIVATE_KEY.replace(/\\n/g, '\n');
  if (config.NETSUITE_PRIVATE_KEY_FILE) return readFileSync(config.NETSUITE_PRIVATE_KEY_FILE, 'utf8');
  throw new Error('NETSUITE_PRIVATE_KEY or NETSUITE_PRIVATE_KEY_FILE is required when NETSUITE_ENABLED=true');
}

/** The connectors the configuration enables, each with its own limiter. */
export function createConnectors(config: ErpSyncConfig, store: SyncStore): Connectors {
  const audit = (write: Parameters<SyncStore['audit']>[0]) => store.audit(write);
  const limiters: Connectors['limiters'] = {};
  const result: Connectors = { limiters, http: {} };
  if (config.NETSUITE_ENABLED) {
    const limiter = (limiters.netsuite = new AdaptiveLimiter({
      name: 'netsuite',
      maxConcurrency: config.NETSUITE_CONCURRENCY,
    }));
    const http = (result.http.netsuite = new VendorHttp({
      connector: 'netsuite',
      baseUrl: config.NETSUITE_BASE_URL,
      limiter,
      timeoutMs: config.ERP_SYNC_HTTP_TIMEOUT_MS,
      audit,
    }));
    const tokens = new NetSuiteTokenSource(
      {
        baseUrl: config.NETSUITE_BASE_URL,
        clientId: config.NETSUITE_CLIENT_ID,
        certificateId: config.NETSUITE_CERTIFICATE_ID,
        privateKeyPem: privateKey(config),
        scopes: ['rest_webservices'],
      },
      config.ERP_SYNC_HTTP_TIMEOUT_MS,
    );
    result.netsuite = new NetSuiteConnector(http, tokens);
  }
  if (config.ZENDESK_ENABLED) {
    const limiter = (limiters.zendesk = new AdaptiveLimiter({
      name: 'zendesk',
      maxConcurrency: config.ZENDESK_CONCURRENCY,
      minIntervalMs: config.ZENDESK_MIN_INTERVAL_MS,
    }));
    const http = (result.http.zendesk = new VendorHttp({
      connector: 'zendesk',
      baseUrl: config.ZENDESK_BASE_URL,
      limiter,
      timeoutMs: config.ERP_SYNC_HTTP_TIMEOUT_MS,
      audit,
    }));
    result.zendesk = new ZendeskConnector(
      http,
      { email: config.ZENDESK_EMAIL, apiToken: config.ZENDESK_API_TOKEN },
      {
        size: config.ZENDESK_BULK_SIZE,
        pollIntervalMs: config.ERP_SYNC_BULK_POLL_MS,
        timeoutMs: config.ERP_SYNC_BULK_TIMEOUT_MS,
      },
    );
  }
  if (config.ACTIVECAMPAIGN_ENABLED) {
    const limiter = (limiters.activecampaign = new AdaptiveLimiter({
      name: 'activecampaign',
      maxConcurrency: config.ACTIVECAMPAIGN_CONCURRENCY,
      minIntervalMs: config.ACTIVECAMPAIGN_MIN_INTERVAL_MS,
    }));
    const http = (result.http.activecampaign = new VendorHttp({
      connector: 'activecampaign',
      baseUrl: config.ACTIVECAMPAIGN_BASE_URL,
      limiter,
      timeoutMs: config.ERP_SYNC_HTTP_TIMEOUT_MS,
      audit,
    }));
    result.activecampaign = new ActiveCampaignConnector(http, {
      apiToken: config.ACTIVECAMPAIGN_API_TOKEN,
      fields: {
        balance: config.ACTIVECAMPAIGN_FIELD_BALANCE,
        currency: config.ACTIVECAMPAIGN_FIELD_CURRENCY,
        lastUsageAt: config.ACTIVECAMPAIGN_FIELD_LAST_USAGE,
      },
      bulk: {
        size: config.ACTIVECAMPAIGN_BULK_SIZE,
        pollIntervalMs: config.ERP_SYNC_BULK_POLL_MS,
        timeoutMs: config.ERP_SYNC_BULK_TIMEOUT_MS,
      },
    });
  }
  return result;
}

export function crmConnectorsOf(connectors: Connectors): ConnectorName[] {
  return (['zendesk', 'activecampaign'] as const).filter((name) => connectors[name] !== undefined);
}

export function createWorker(
  config: ErpSyncConfig,
  store: SyncStore,
  connectors: Connectors,
  tenants: TenantsConfig,
  logger: Logger,
): SyncWorker {
  const worker = new SyncWorker(
    store,
    {
      pollIntervalMs: config.ERP_SYNC_POLL_INTERVAL_MS,
      claimBatch: (name) =>
        name === 'zendesk'
          ? config.ZENDESK_BULK_SIZE
          : name === 'activecampaign'
            ? config.ACTIVECAMPAIGN_BULK_SIZE
            : config.ERP_SYNC_CLAIM_BATCH,
      leaseMs: config.ERP_SYNC_LEASE_MS,
      maxAttempts: config.ERP_SYNC_MAX_ATTEMPTS,
      retryBaseMs: config.ERP_SYNC_RETRY_BASE_MS,
      retryMaxMs: config.ERP_SYNC_RETRY_MAX_MS,
      requeueDelayMs: (name) =>
        name === 'netsuite' ? config.ERP_SYNC_SUMMARY_DELAY_MS : config.ERP_SYNC_BALANCE_DELAY_MS,
    },
    logger,
  );
  if (connectors.netsuite)
    worker.register(connectors.netsuite, (record) => store.journalContent(record.recordKey));
  const balanceOf = async (record: {
    payload: Record<string, unknown>;
    tenantId: string;
  }): Promise<BalancePayload> => {
    const payload = record.payload as unknown as BalancePayload;
    const template = tenants[record.tenantId]?.crm.contactEmailTemplate;
    return {
      ...payload,
      ...(template ? { contactEmail: template.replace('{ownerId}', payload.ownerId) } : {}),
    };
  };
  if (connectors.zendesk) worker.register(connectors.zendesk, balanceOf);
  if (connectors.activecampaign) worker.register(connectors.activecampaign, balanceOf);
  return worker;
}

/** The integration hub over the enabled connectors (docs/integration-hub.md). */
export function createHub(
  config: ErpSyncConfig,
  db: DataSource,
  connectors: Connectors,
  logger: Logger,
): {
  service: HubService;
  engine: HubEngine;
  store: HubStore;
  sources: Partial<Record<HubConnector, CustomerSource>>;
} {
  const sources: Partial<Record<HubConnector, CustomerSource>> = {};
  if (connectors.netsuite) sources.netsuite = new NetSuiteCustomers(connectors.netsuite);
  if (connectors.http.zendesk)
    sources.zendesk = new ZendeskCustomers(
      connectors.http.zendesk,
      { email: config.ZENDESK_EMAIL, apiToken: config.ZENDESK_API_TOKEN },
      config.ERP_SYNC_BULK_POLL_MS,
    );
  if (connectors.http.activecampaign)
    sources.activecampaign = new ActiveCampaignCustomers(
      connectors.http.activecampaign,
      config.ACTIVECAMPAIGN_API_TOKEN,
      config.ERP_SYNC_BULK_POLL_MS,
    );
  const store = new HubStore(db);
  const engine = new HubEngine(
    store,
    sources,
    { pageSize: config.ERP_SYNC_HUB_PAGE_SIZE, maxPagesPerRun: config.ERP_SYNC_HUB_MAX_PAGES },
    logger.child({ component: 'hub' }),
  );
  return { service: new HubService(store, engine, sources), engine, store, sources };
}
