import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ActiveCampaignStandin, ZendeskStandin } from './crm-standins';
import { NetSuiteStandin } from './netsuite-standin';

export interface StartStandinsOptions {
  host?: string;
  /** 0 (default) picks free ports; `npm start` passes 4010, 4011, 4012. */
  ports?: { netsuite?: number; zendesk?: number; activecampaign?: number };
  netsuiteConcurrency?: number;
  /** Known NetSuite account ids (default: any id is accepted). */
  netsuiteAccounts?: readonly string[];
  zendeskRequestsPerSecond?: number;
  activeCampaignRequestsPerSecond?: number;
}

export interface RunningStandins {
  netsuite: NetSuiteStandin;
  zendesk: ZendeskStandin;
  activecampaign: ActiveCampaignStandin;
  /** The erp-sync environment that points at these stand-ins, credentials included. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export const ZENDESK_USER_FIELDS = [
  'saldo_balance',
  'saldo_currency',
  'saldo_wallet_id',
  'saldo_last_usage_at',
] as const;
export const ACTIVECAMPAIGN_FIELD_IDS = { balance: '1', currency: '2', lastUsageAt: '3' } as const;
/** Custom fields the integration hub maps (customer records): Zendesk user fields, ActiveCampaign field ids. */
export const ZENDESK_HUB_USER_FIELDS = ['saldo_tier', 'company', 'saldo_tenant'] as const;
export const ACTIVECAMPAIGN_HUB_FIELDS = { tier: '4', company: '5', tenant: '6' } as const;

/**
 * Starts the three vendor stand-ins with fresh credentials (a new RSA key pair for NetSuite's
 * OAuth 2.0 client credentials, random API tokens) and returns the env for erp-sync.
 */
export async function startStandins(options: StartStandinsOptions = {}): Promise<RunningStandins> {
  const host = options.host ?? '127.0.0.1';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientId = `saldo-${randomBytes(6).toString('hex')}`;
  const certificateId = `cert-${randomBytes(6).toString('hex')}`;
  const zendeskToken = randomBytes(16).toString('hex');
  const acToken = randomBytes(16).toString('hex');
  const netsuite = new NetSuiteStandin({
    clientId,
    certificateId,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    concurrencyLimit: options.netsuiteConcurrency ?? 5,
    accounts: options.netsuiteAccounts,
  });
  const zendesk = new ZendeskStandin({
    email: 'saldo@example.com',
    apiToken: zendeskToken,
    userFields: [...ZENDESK_USER_FIELDS, ...ZENDESK_HUB_USER_FIELDS],
    requestsPerSecond: options.zendeskRequestsPerSecond ?? 1,
  });
  const activecampaign = new ActiveCampaignStandin({
    apiToken: acToken,
    fieldIds: [...Object.values(ACTIVECAMPAIGN_FIELD_IDS), ...Object.values(ACTIVECAMPAIGN_HUB_FIELDS)],
    fieldTitles: {
      '1': 'Saldo Balance',
      '2': 'Saldo Currency',
      '3': 'Saldo Last Usage',
      '4': 'Tier',
      '5': 'Company',
      '6': 'Saldo Tenant',
    },
    requestsPerSecond: options.activeCampaignRequestsPerSecond ?? 5,
  });
  const started: Array<{ close(): Promise<void> }> = [];
  try {
    started.push(await netsuite.listen(options.ports?.netsuite ?? 0, host));
    started.push(await zendesk.listen(options.ports?.zendesk ?? 0, host));
    started.push(await activecampaign.listen(options.ports?.activecampaign ?? 0, host));
  } catch (error) {
    await Promise.all(started.map((s) => s.close()));
    throw error;
  }
  return {
    netsuite,
    zendesk,
    activecampaign,
    env: {
      NETSUITE_BASE_URL: netsuite.url,
      NETSUITE_CLIENT_ID: clientId,
      NETSUITE_CERTIFICATE_ID: certificateId,
      NETSUITE_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      ZENDESK_BASE_URL: zendesk.url,
      ZENDESK_EMAIL: 'saldo@example.com',
      ZENDESK_API_TOKEN: zendeskToken,
      ACTIVECAMPAIGN_BASE_URL: activecampaign.url,
      ACTIVECAMPAIGN_API_TOKEN: acToken,
      ACTIVECAMPAIGN_FIELD_BALANCE: ACTIVECAMPAIGN_FIELD_IDS.balance,
      ACTIVECAMPAIGN_FIELD_CURRENCY: ACTIVECAMPAIGN_FIELD_IDS.currency,
      ACTIVECAMPAIGN_FIELD_LAST_USAGE: ACTIVECAMPAIGN_FIELD_IDS.lastUsageAt,
    },
    stop: async () => {
      await Promise.all([netsuite.close(), zendesk.close(), activecampaign.close()]);
    },
  };
}
