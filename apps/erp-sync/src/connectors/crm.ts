import { formatMinor } from '@saldo/ledger-domain';
import type { ChangePage, Connector, ConnectorSchema, OutboundRecord, WriteResult } from './connector';
import { classifyStatus, VendorNetworkError, type VendorHttp, type VendorResponse } from './vendor-http';

/** The newest balance of one wallet, as the ingest kept it (sync_records.payload of a crm_balance). */
export interface BalancePayload {
  walletId: string;
  ownerId: string;
  ownerType: string;
  currency: string;
  assetScale: number;
  postedBalanceMinor: string;
  availableBalanceMinor: string;
  version: string;
  usageAt: string | null;
  /** Filled by the worker from the tenant's configuration. */
  contactEmail?: string;
}

const CRM_PRIORITY = 5;

function retryOrReject(vendor: string, response: VendorResponse, detail: string): WriteResult {
  const error = `${vendor} ${response.status}: ${detail}`;
  const kind = classifyStatus(response.status);
  if (kind === 'reject') return { status: 'reject', error };
  return { status: 'retry', error, retryAfterMs: response.retryAfterMs, throttled: kind === 'throttled' };
}

async function guarded(call: () => Promise<WriteResult>): Promise<WriteResult> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof VendorNetworkError)
      return { status: 'retry', error: error.message, throttled: false };
    throw error;
  }
}

/**
 * Zendesk Support: `POST /api/v2/users/create_or_update` keyed by `external_id` (the wallet owner),
 * with user fields `saldo_balance`, `saldo_currency`, `saldo_last_usage_at`, `saldo_wallet_id`.
 * API token auth (`{email}/token:{token}`, Basic). About 1 request/s per account on this endpoint.
 */
export class ZendeskConnector implements Connector<BalancePayload> {
  readonly name = 'zendesk' as const;
  private readonly authorization: string;

  constructor(
    private readonly http: VendorHttp,
    credentials: { email: string; apiToken: string },
  ) {
    this.authorization = `Basic ${Buffer.from(`${credentials.email}/token:${credentials.apiToken}`).toString('base64')}`;
  }

  async authenticate(): Promise<void> {
    const response = await this.http.send({
      method: 'GET',
      path: '/api/v2/users/me',
      headers: this.headers(),
      priority: CRM_PRIORITY,
    });
    const me =
      response.status === 200
        ? (JSON.parse(response.text) as { user?: { id?: number | null } }).user
        : undefined;
    if (!me?.id)
      throw new Error(`Zendesk refused the API token (${response.status}): ${response.text.slice(0, 300)}`);
  }

  describeSchema(): ConnectorSchema {
    return {
      connector: 'zendesk',
      recordType: 'user',
      key: 'external_id = wallet owner id',
      fields: [
        {
          name: 'name',
          type: 'text',
          required: true,
          description: 'Saldo customer <owner id> (Zendesk requires a name)',
        },
        {
          name: 'user_fields.saldo_balance',
          type: 'decimal',
          required: true,
          description: 'posted balance, major units',
        },
        { name: 'user_fields.saldo_currency', type: 'text', required: true, description: 'asset code' },
        { name: 'user_fields.saldo_wallet_id', type: 'text', required: true, description: 'wallet id' },
        {
          name: 'user_fields.saldo_last_usage_at',
          type: 'date',
          required: false,
          description: 'last usage (UTC)',
        },
      ],
    };
  }

  writeBatch(records: ReadonlyArray<OutboundRecord<BalancePayload>>): Promise<WriteResult[]> {
    return Promise.all(records.map((record) => guarded(() => this.write(record))));
  }

  private async write(record: OutboundRecord<BalancePayload>): Promise<WriteResult> {
    const b = record.payload;
    const body = {
      user: {
        name: `Saldo customer ${b.ownerId}`,
        external_id: b.ownerId,
        user_fields: {
          saldo_balance: formatMinor(BigInt(b.postedBalanceMinor), b.assetScale),
          saldo_currency: b.currency,
          saldo_wallet_id: b.walletId,
          ...(b.usageAt ? { saldo_last_usage_at: b.usageAt } : {}),
        },
      },
    };
    const response = await this.http.send({
      method: 'POST',
      path: '/api/v2/users/create_or_update',
      headers: { ...this.headers(), 'content-type': 'application/json' },
      body: JSON.stringify(body),
      priority: CRM_PRIORITY,
      audit: {
        syncRecordId: record.syncRecordId,
        requestBody: body,
        externalIdOf: (r) => zendeskUserId(r.text),
      },
    });
    if (response.status === 200 || response.status === 201) {
      const id = zendeskUserId(response.text);
      return id
        ? { status: 'ok', externalId: id }
        : { status: 'retry', error: 'Zendesk answered without a user id', throttled: false };
    }
    return retryOrReject('Zendesk', response, describeZendeskError(response.text));
  }

  async readChanges(cursor: string | null, limit: number): Promise<ChangePage> {
    const query = cursor ? `cursor=${encodeURIComponent(cursor)}` : 'start_time=0';
    const response = await this.http.send({
      method: 'GET',
      path: `/api/v2/incremental/users/cursor?${query}&per_page=${Math.min(limit, 1000)}`,
      headers: this.headers(),
      priority: CRM_PRIORITY,
    });
    if (response.status !== 200)
      throw new Error(
        `Zendesk incremental export ${response.status}: ${describeZendeskError(response.text)}`,
      );
    const json = JSON.parse(response.text) as {
      users: Array<{ id: number; external_id: string | null; updated_at: string }>;
      after_cursor: string | null;
    };
    return {
      records: json.users.map((u) => ({
        externalId: String(u.id),
        key: u.external_id,
        changedAt: u.updated_at,
        fields: u as unknown as Record<string, unknown>,
      })),
      cursor: json.after_cursor ?? cursor,
    };
  }

  private headers(): Record<string, string> {
    return { authorization: this.authorization, accept: 'application/json' };
  }
}

function zendeskUserId(text: string): string | null {
  try {
    const id = (JSON.parse(text) as { user?: { id?: number } }).user?.id;
    return id === undefined ? null : String(id);
  } catch {
    return null;
  }
}

function describeZendeskError(text: string): string {
  try {
    const json = JSON.parse(text) as {
      error?: string | { title?: string; message?: string };
      description?: string;
      details?: unknown;
    };
    const error = typeof json.error === 'string' ? json.error : (json.error?.title ?? json.error?.message);
    return (
      [error, json.description, json.details ? JSON.stringify(json.details) : undefined]
        .filter(Boolean)
        .join(': ') || text.slice(0, 500)
    );
  } catch {
    return text.slice(0, 500) || '(empty body)';
  }
}

/**
 * ActiveCampaign v3: `POST /api/3/contact/sync` (create or update by e-mail) with custom field
 * values for the balance, currency and last usage; header `Api-Token`. 5 requests/s per account.
 */
export class ActiveCampaignConnector implements Connector<BalancePayload> {
  readonly name = 'activecampaign' as const;

  constructor(
    private readonly http: VendorHttp,
    private readonly options: {
      apiToken: string;
      fields: { balance: string; currency: string; lastUsageAt: string };
    },
  ) {}

  async authenticate(): Promise<void> {
    const response = await this.http.send({
      method: 'GET',
      path: '/api/3/users/me',
      headers: this.headers(),
      priority: CRM_PRIORITY,
    });
    if (response.status !== 200)
      throw new Error(
        `ActiveCampaign refused the API token (${response.status}): ${response.text.slice(0, 300)}`,
      );
  }

  describeSchema(): ConnectorSchema {
    const f = this.options.fields;
    return {
      connector: 'activecampaign',
      recordType: 'contact',
      key: 'email (tenant contactEmailTemplate with {ownerId})',
      fields: [
        { name: 'email', type: 'text', required: true, description: 'contact e-mail' },
        {
          name: `fieldValues[field=${f.balance}]`,
          type: 'text',
          required: true,
          description: 'posted balance, major units',
        },
        { name: `fieldValues[field=${f.currency}]`, type: 'text', required: true, description: 'asset code' },
        {
          name: `fieldValues[field=${f.lastUsageAt}]`,
          type: 'datetime',
          required: false,
          description: 'last usage (UTC)',
        },
      ],
    };
  }

  writeBatch(records: ReadonlyArray<OutboundRecord<BalancePayload>>): Promise<WriteResult[]> {
    return Promise.all(records.map((record) => guarded(() => this.write(record))));
  }

  private async write(record: OutboundRecord<BalancePayload>): Promise<WriteResult> {
    const b = record.payload;
    if (!b.contactEmail) return { status: 'reject', error: 'no contact e-mail for this wallet owner' };
    const f = this.options.fields;
    const body = {
      contact: {
        email: b.contactEmail,
        fieldValues: [
          { field: f.balance, value: formatMinor(BigInt(b.postedBalanceMinor), b.assetScale) },
          { field: f.currency, value: b.currency },
          ...(b.usageAt ? [{ field: f.lastUsageAt, value: b.usageAt }] : []),
        ],
      },
    };
    const response = await this.http.send({
      method: 'POST',
      path: '/api/3/contact/sync',
      headers: { ...this.headers(), 'content-type': 'application/json' },
      body: JSON.stringify(body),
      priority: CRM_PRIORITY,
      audit: { syncRecordId: record.syncRecordId, requestBody: body, externalIdOf: (r) => contactId(r.text) },
    });
    if (response.status === 200 || response.status === 201) {
      const id = contactId(response.text);
      return id
        ? { status: 'ok', externalId: id }
        : { status: 'retry', error: 'ActiveCampaign answered without a contact id', throttled: false };
    }
    return retryOrReject('ActiveCampaign', response, describeActiveCampaignError(response.text));
  }

  async readChanges(cursor: string | null, limit: number): Promise<ChangePage> {
    const since = cursor ?? '1970-01-01T00:00:00Z';
    const response = await this.http.send({
      method: 'GET',
      path: `/api/3/contacts?filters[updated_after]=${encodeURIComponent(since)}&orders[udate]=ASC&limit=${Math.min(limit, 100)}`,
      headers: this.headers(),
      priority: CRM_PRIORITY,
    });
    if (response.status !== 200)
      throw new Error(
        `ActiveCampaign contacts ${response.status}: ${describeActiveCampaignError(response.text)}`,
      );
    const json = JSON.parse(response.text) as {
      contacts: Array<{ id: string; email: string; udate: string }>;
    };
    const last = json.contacts[json.contacts.length - 1];
    return {
      records: json.contacts.map((c) => ({
        externalId: c.id,
        key: c.email,
        changedAt: c.udate,
        fields: c as unknown as Record<string, unknown>,
      })),
      cursor: last ? last.udate : cursor,
    };
  }

  private headers(): Record<string, string> {
    return { 'api-token': this.options.apiToken, accept: 'application/json' };
  }
}

function contactId(text: string): string | null {
  try {
    const id = (JSON.parse(text) as { contact?: { id?: string | number } }).contact?.id;
    return id === undefined ? null : String(id);
  } catch {
    return null;
  }
}

function describeActiveCampaignError(text: string): string {
  try {
    const json = JSON.parse(text) as {
      errors?: Array<{ title?: string; detail?: string; code?: string }>;
      message?: string;
    };
    const errors = (json.errors ?? []).map((e) => [e.code, e.title, e.detail].filter(Boolean).join(' '));
    return errors.length ? errors.join('; ') : (json.message ?? text.slice(0, 500));
  } catch {
    return text.slice(0, 500) || '(empty body)';
  }
}
