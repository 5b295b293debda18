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

/** How the bulk writers wait for the vendor's background job. */
export interface BulkOptions {
  /** Records per bulk request (Zendesk at most 100, ActiveCampaign at most 250). */
  size: number;
  /** Between two status polls of a queued job. */
  pollIntervalMs: number;
  /** Give up waiting (the records are retried: every write is an upsert by key). */
  timeoutMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function chunks<T>(items: ReadonlyArray<T>, size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Zendesk Support: `POST /api/v2/users/create_or_update_many` (up to 100 users a request) keyed by
 * `external_id` (the wallet owner), with user fields `saldo_balance`, `saldo_currency`,
 * `saldo_last_usage_at`, `saldo_wallet_id`; the request queues a job and
 * `GET /api/v2/job_statuses/{id}` gives one result per user, in request order (Created, Updated,
 * Failed with details). A single record goes through `POST /api/v2/users/create_or_update`.
 * API token auth (`{email}/token:{token}`, Basic). About 1 request/s per account on these endpoints.
 */
export class ZendeskConnector implements Connector<BalancePayload> {
  readonly name = 'zendesk' as const;
  private readonly authorization: string;

  constructor(
    private readonly http: VendorHttp,
    credentials: { email: string; apiToken: string },
    private readonly bulk: BulkOptions = { size: 100, pollIntervalMs: 1_000, timeoutMs: 60_000 },
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

  async writeBatch(records: ReadonlyArray<OutboundRecord<BalancePayload>>): Promise<WriteResult[]> {
    if (records.length === 1) return [await guarded(() => this.write(records[0]!))];
    const results = await Promise.all(
      chunks(records, Math.min(this.bulk.size, 100)).map((chunk) => this.writeMany(chunk)),
    );
    return results.flat();
  }

  private static userOf(b: BalancePayload) {
    return {
      name: `Saldo customer ${b.ownerId}`,
      external_id: b.ownerId,
      user_fields: {
        saldo_balance: formatMinor(BigInt(b.postedBalanceMinor), b.assetScale),
        saldo_currency: b.currency,
        saldo_wallet_id: b.walletId,
        ...(b.usageAt ? { saldo_last_usage_at: b.usageAt } : {}),
      },
    };
  }

  /** One bulk request and its job: a result per record, in order. */
  private async writeMany(records: ReadonlyArray<OutboundRecord<BalancePayload>>): Promise<WriteResult[]> {
    const all = (result: WriteResult) => records.map(() => result);
    try {
      const body = { users: records.map((r) => ZendeskConnector.userOf(r.payload)) };
      const response = await this.http.send({
        method: 'POST',
        path: '/api/v2/users/create_or_update_many',
        headers: { ...this.headers(), 'content-type': 'application/json' },
        body: JSON.stringify(body),
        priority: CRM_PRIORITY,
        audit: { syncRecordId: null, requestBody: body, externalIdOf: (r) => zendeskJobId(r.text) },
      });
      if (response.status !== 200)
        return all(retryOrReject('Zendesk', response, describeZendeskError(response.text)));
      const jobId = zendeskJobId(response.text);
      if (!jobId) return all({ status: 'retry', error: 'Zendesk queued no job', throttled: false });
      const job = await this.awaitJob(jobId);
      if ('error' in job)
        return all({
          status: 'retry',
          error: job.error,
          throttled: job.throttled ?? false,
          retryAfterMs: job.retryAfterMs,
        });
      return records.map((_record, index) => {
        const result = job.results.find((r) => r.index === index) ?? job.results[index];
        if (!result)
          return { status: 'retry', error: `Zendesk job ${jobId} has no result ${index}`, throttled: false };
        if (result.status === 'Failed' || result.id === undefined)
          return {
            status: 'reject',
            error: `Zendesk job ${jobId}: ${[result.error, result.details].filter(Boolean).join(': ')}`,
          };
        return { status: 'ok', externalId: String(result.id) };
      });
    } catch (error) {
      if (error instanceof VendorNetworkError)
        return all({ status: 'retry', error: error.message, throttled: false });
      throw error;
    }
  }

  /** Polls `job_statuses/{id}` until completed (or failed, or the timeout). */
  private async awaitJob(
    jobId: string,
  ): Promise<
    { results: ZendeskJobResult[] } | { error: string; throttled?: boolean; retryAfterMs?: number }
  > {
    const deadline = Date.now() + this.bulk.timeoutMs;
    for (;;) {
      await sleep(this.bulk.pollIntervalMs);
      const response = await this.http.send({
        method: 'GET',
        path: `/api/v2/job_statuses/${encodeURIComponent(jobId)}`,
        headers: this.headers(),
        priority: CRM_PRIORITY,
      });
      if (response.status === 200) {
        const job = (JSON.parse(response.text) as { job_status?: ZendeskJobStatus }).job_status;
        if (job?.status === 'completed') return { results: job.results ?? [] };
        if (job?.status === 'failed' || job?.status === 'killed')
          return { error: `Zendesk job ${jobId} ${job.status}: ${job.message ?? ''}` };
      } else if (response.status !== 429 && response.status < 500) {
        return { error: `Zendesk job status ${response.status}: ${describeZendeskError(response.text)}` };
      }
      if (Date.now() > deadline)
        return { error: `Zendesk job ${jobId} not completed after ${this.bulk.timeoutMs} ms` };
    }
  }

  private async write(record: OutboundRecord<BalancePayload>): Promise<WriteResult> {
    const body = { user: ZendeskConnector.userOf(record.payload) };
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

interface ZendeskJobResult {
  id?: number;
  index?: number;
  status: 'Created' | 'Updated' | 'Failed';
  error?: string;
  details?: string;
}

interface ZendeskJobStatus {
  id: string;
  status: 'queued' | 'working' | 'completed' | 'failed' | 'killed';
  message?: string | null;
  results?: ZendeskJobResult[] | null;
}

function zendeskJobId(text: string): string | null {
  try {
    return (JSON.parse(text) as { job_status?: { id?: string } }).job_status?.id ?? null;
  } catch {
    return null;
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
 * ActiveCampaign v3: the bulk importer `POST /api/3/import/bulk_import` (up to 250 contacts, created
 * or updated by e-mail) with custom field values for the balance, currency and last usage, then
 * `GET /api/3/import/info?batchId=` until the batch is completed (`failure` lists the e-mails it
 * refused); a single record goes through `POST /api/3/contact/sync`. Header `Api-Token`.
 * 5 requests/s per account.
 */
export class ActiveCampaignConnector implements Connector<BalancePayload> {
  readonly name = 'activecampaign' as const;

  constructor(
    private readonly http: VendorHttp,
    private readonly options: {
      apiToken: string;
      fields: { balance: string; currency: string; lastUsageAt: string };
      bulk?: BulkOptions;
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

  async writeBatch(records: ReadonlyArray<OutboundRecord<BalancePayload>>): Promise<WriteResult[]> {
    if (records.length === 1) return [await guarded(() => this.write(records[0]!))];
    const bulk = this.options.bulk ?? { size: 250, pollIntervalMs: 1_000, timeoutMs: 60_000 };
    const results: WriteResult[] = records.map(() => ({
      status: 'reject',
      error: 'no contact e-mail for this wallet owner',
    }));
    const sendable = records
      .map((record, index) => ({ record, index }))
      .filter((r) => r.record.payload.contactEmail);
    for (const chunk of chunks(sendable, Math.min(bulk.size, 250))) {
      const outcome = await this.importMany(
        chunk.map((c) => c.record),
        bulk,
      );
      chunk.forEach((c, i) => (results[c.index] = outcome[i]!));
    }
    return results;
  }

  private async importMany(
    records: ReadonlyArray<OutboundRecord<BalancePayload>>,
    bulk: BulkOptions,
  ): Promise<WriteResult[]> {
    const all = (result: WriteResult) => records.map(() => result);
    const f = this.options.fields;
    try {
      const body = {
        contacts: records.map((r) => {
          const b = r.payload;
          return {
            email: b.contactEmail!,
            fields: [
              { id: Number(f.balance), value: formatMinor(BigInt(b.postedBalanceMinor), b.assetScale) },
              { id: Number(f.currency), value: b.currency },
              ...(b.usageAt ? [{ id: Number(f.lastUsageAt), value: b.usageAt }] : []),
            ],
          };
        }),
      };
      const response = await this.http.send({
        method: 'POST',
        path: '/api/3/import/bulk_import',
        headers: { ...this.headers(), 'content-type': 'application/json' },
        body: JSON.stringify(body),
        priority: CRM_PRIORITY,
        audit: { syncRecordId: null, requestBody: body, externalIdOf: (r) => importBatchId(r.text) },
      });
      if (response.status !== 200)
        return all(retryOrReject('ActiveCampaign', response, describeActiveCampaignError(response.text)));
      const batchId = importBatchId(response.text);
      if (!batchId)
        return all({ status: 'retry', error: 'ActiveCampaign queued no import', throttled: false });
      const deadline = Date.now() + bulk.timeoutMs;
      for (;;) {
        await sleep(bulk.pollIntervalMs);
        const info = await this.http.send({
          method: 'GET',
          path: `/api/3/import/info?batchId=${encodeURIComponent(batchId)}`,
          headers: this.headers(),
          priority: CRM_PRIORITY,
        });
        if (info.status === 200) {
          const batch = JSON.parse(info.text) as {
            status: string | false;
            success?: string[];
            failure?: string[];
          };
          if (batch.status === 'completed') {
            const failed = new Set((batch.failure ?? []).map((e) => e.toLowerCase()));
            // `success` lists contact ids in import order; when it does not line up with what was
            // accepted (ActiveCampaign documents it for new contacts), the e-mail is the key.
            const accepted = records.filter((r) => !failed.has(r.payload.contactEmail!.toLowerCase())).length;
            const ids = batch.success?.length === accepted ? batch.success : [];
            let next = 0;
            return records.map((r) => {
              const email = r.payload.contactEmail!;
              if (failed.has(email.toLowerCase()))
                return { status: 'reject', error: `ActiveCampaign import ${batchId} refused ${email}` };
              const id = ids[next++];
              return { status: 'ok', externalId: id ?? `email:${email}` };
            });
          }
          if (batch.status === 'failed' || batch.status === 'interrupted')
            return all({
              status: 'retry',
              error: `ActiveCampaign import ${batchId} ${batch.status}`,
              throttled: false,
            });
        } else if (info.status !== 429 && info.status < 500) {
          return all(retryOrReject('ActiveCampaign', info, describeActiveCampaignError(info.text)));
        }
        if (Date.now() > deadline)
          return all({
            status: 'retry',
            error: `ActiveCampaign import ${batchId} not completed after ${bulk.timeoutMs} ms`,
            throttled: false,
          });
      }
    } catch (error) {
      if (error instanceof VendorNetworkError)
        return all({ status: 'retry', error: error.message, throttled: false });
      throw error;
    }
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

function importBatchId(text: string): string | null {
  try {
    return (JSON.parse(text) as { batchId?: string }).batchId ?? null;
  } catch {
    return null;
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
