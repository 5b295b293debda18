import { describeNetSuiteError, type NetSuiteConnector } from '../connectors/netsuite/netsuite-connector';
import type { VendorHttp, VendorResponse } from '../connectors/vendor-http';
import type { HubConnector, SchemaField } from './mapping';

/**
 * The hub's side of each vendor: customer records read with a durable cursor and written back in
 * bulk. Raw records are flat: a field is named as describe() names it (`user_fields.saldo_tier`,
 * `fields.4`, `companyName`).
 */
export interface VendorCustomer {
  externalId: string;
  /** The wallet owner id the vendor carries (NetSuite externalId, Zendesk external_id), if any. */
  key: string | null;
  modifiedAt: Date;
  raw: Record<string, string | null>;
}

export interface CustomerPage {
  records: VendorCustomer[];
  /** Pass back to continue (durable: stored after the page is committed). */
  cursor: string | null;
  /** Nothing more right now. */
  done: boolean;
}

export interface CustomerWrite {
  externalId: string;
  key: string | null;
  /** The identity the vendor matches on where it upserts (Zendesk, ActiveCampaign: e-mail). */
  email: string | null;
  fields: Record<string, string | null>;
}

export interface CustomerWriteResult {
  ok: boolean;
  error?: string;
}

export interface CustomerSource {
  readonly connector: HubConnector;
  describe(): Promise<SchemaField[]>;
  /** Records changed since `cursor` (null: everything, the initial full sync), oldest first. */
  read(cursor: string | null, limit: number, fields: readonly string[]): Promise<CustomerPage>;
  /** One result per record, in order; never throws for one record's refusal. */
  write(records: readonly CustomerWrite[]): Promise<CustomerWriteResult[]>;
}

/** Below the ERP's money (0) and the CRM balances (5): the hub waits its turn at each vendor's limiter. */
export const HUB_PRIORITY = 7;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const MAX_TRIES = 8;

/** A call that throws on a failed answer (SuiteQL), tried again with backoff at most MAX_TRIES times. */
async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= MAX_TRIES) throw error;
      await sleep(Math.random() * Math.min(8_000, 250 * 2 ** attempt));
    }
  }
}

/**
 * A hub call that rides out throttling and vendor failures: a 429 waits its Retry-After, a 5xx or
 * a network failure backs off (full jitter), at most MAX_TRIES times; then the last answer stands.
 */
async function patiently(call: () => Promise<VendorResponse>): Promise<VendorResponse> {
  for (let attempt = 1; ; attempt += 1) {
    let response: VendorResponse | undefined;
    try {
      response = await call();
    } catch (error) {
      if (attempt >= MAX_TRIES) throw error;
    }
    if (response && response.status !== 429 && response.status < 500) return response;
    if (response && attempt >= MAX_TRIES) return response;
    const backoff = Math.random() * Math.min(8_000, 250 * 2 ** attempt);
    await sleep(Math.max(response?.retryAfterMs ?? 0, backoff));
  }
}

function failed(vendor: string, response: VendorResponse): Error {
  return new Error(`${vendor} ${response.status}: ${response.text.slice(0, 300)}`);
}

/**
 * NetSuite customers: the record metadata catalog for the schema, SuiteQL on `lastmodifieddate`
 * with a (time, id) keyset cursor for reads, `PATCH /record/v1/customer/{id}` for writes.
 */
export class NetSuiteCustomers implements CustomerSource {
  readonly connector = 'netsuite' as const;

  constructor(private readonly netsuite: NetSuiteConnector) {}

  async describe(): Promise<SchemaField[]> {
    const response = await patiently(() =>
      this.netsuite.request(
        'GET',
        '/services/rest/record/v1/metadata-catalog/customer',
        undefined,
        HUB_PRIORITY,
        { accept: 'application/schema+json' },
      ),
    );
    if (response.status !== 200) throw failed('NetSuite metadata-catalog', response);
    const json = JSON.parse(response.text) as {
      properties?: Record<string, { type?: string; title?: string }>;
    };
    return Object.entries(json.properties ?? {})
      .filter(([name]) => !['id', 'externalId', 'lastModifiedDate'].includes(name))
      .map(([name, p]) => ({ name, type: p.type ?? 'string', label: p.title ?? name }));
  }

  async read(cursor: string | null, limit: number, fields: readonly string[]): Promise<CustomerPage> {
    const [since, afterId] = (cursor ?? '1970-01-01 00:00:00|0').split('|') as [string, string];
    if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(since) || !/^\d+$/.test(afterId))
      throw new Error(`NetSuite customer cursor "${cursor}" is not <YYYY-MM-DD HH24:MI:SS>|<id>`);
    for (const f of fields)
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(f)) throw new Error(`bad NetSuite field ${f}`);
    const columns = fields.map((f) => `${f.toLowerCase()}, `).join('');
    const time = (t: string) => `TO_TIMESTAMP('${t}', 'YYYY-MM-DD HH24:MI:SS')`;
    // Keyset on (lastmodifieddate, id): one second may hold thousands of changes, none is lost or read twice.
    const query =
      `SELECT id, externalid, ${columns}TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodified FROM customer ` +
      `WHERE (lastmodifieddate > ${time(since)} OR (lastmodifieddate = ${time(since)} AND id > ${Number(afterId)})) ` +
      `ORDER BY lastmodifieddate, id`;
    const page = await retrying(() =>
      this.netsuite.suiteqlPage(query, 0, Math.min(1_000, limit), HUB_PRIORITY),
    );
    const records = page.items.map((item) => ({
      externalId: String(item['id']),
      key: item['externalid'] || null,
      modifiedAt: new Date(`${(item['lastmodified'] ?? since).replace(' ', 'T')}Z`),
      raw: Object.fromEntries(fields.map((f) => [f, item[f.toLowerCase()] ?? null])),
    }));
    const last = page.items[page.items.length - 1];
    return {
      records,
      cursor: last ? `${last['lastmodified']}|${last['id']}` : cursor,
      done: !page.hasMore,
    };
  }

  async write(records: readonly CustomerWrite[]): Promise<CustomerWriteResult[]> {
    return Promise.all(
      records.map(async (r) => {
        try {
          const response = await patiently(() =>
            this.netsuite.request(
              'PATCH',
              `/services/rest/record/v1/customer/${encodeURIComponent(r.externalId)}`,
              r.fields,
              HUB_PRIORITY,
            ),
          );
          return response.status === 204 || response.status === 200
            ? { ok: true }
            : { ok: false, error: `NetSuite ${response.status}: ${describeNetSuiteError(response.text)}` };
        } catch (error) {
          return { ok: false, error: (error as Error).message };
        }
      }),
    );
  }
}

/**
 * Zendesk users: `GET /api/v2/user_fields` for the schema, the incremental user export
 * (`/api/v2/incremental/users/cursor`, its `after_cursor`) for reads, `create_or_update_many` and
 * `job_statuses` for writes (matched by external_id, else e-mail).
 */
export class ZendeskCustomers implements CustomerSource {
  readonly connector = 'zendesk' as const;
  private readonly authorization: string;

  constructor(
    private readonly http: VendorHttp,
    credentials: { email: string; apiToken: string },
    private readonly pollIntervalMs = 1_000,
  ) {
    this.authorization = `Basic ${Buffer.from(`${credentials.email}/token:${credentials.apiToken}`).toString('base64')}`;
  }

  private headers(): Record<string, string> {
    return { authorization: this.authorization, accept: 'application/json' };
  }

  async describe(): Promise<SchemaField[]> {
    const response = await patiently(() =>
      this.http.send({
        method: 'GET',
        path: '/api/v2/user_fields',
        headers: this.headers(),
        priority: HUB_PRIORITY,
      }),
    );
    if (response.status !== 200) throw failed('Zendesk user_fields', response);
    const json = JSON.parse(response.text) as {
      user_fields: Array<{ key: string; type: string; title: string; active?: boolean }>;
    };
    return [
      { name: 'name', type: 'text', label: 'Name' },
      { name: 'email', type: 'text', label: 'Email' },
      { name: 'phone', type: 'text', label: 'Phone' },
      ...json.user_fields
        .filter((f) => f.active !== false)
        .map((f) => ({ name: `user_fields.${f.key}`, type: f.type, label: f.title })),
    ];
  }

  async read(cursor: string | null, limit: number, fields: readonly string[]): Promise<CustomerPage> {
    const query = cursor ? `cursor=${encodeURIComponent(cursor)}` : 'start_time=0';
    const response = await patiently(() =>
      this.http.send({
        method: 'GET',
        path: `/api/v2/incremental/users/cursor?${query}&per_page=${Math.min(limit, 1_000)}`,
        headers: this.headers(),
        priority: HUB_PRIORITY,
      }),
    );
    if (response.status !== 200) throw failed('Zendesk incremental export', response);
    const json = JSON.parse(response.text) as {
      users: Array<{
        id: number;
        name: string;
        email: string | null;
        phone: string | null;
        external_id: string | null;
        updated_at: string;
        user_fields?: Record<string, string | null>;
      }>;
      after_cursor: string | null;
      end_of_stream: boolean;
    };
    return {
      records: json.users.map((u) => {
        const flat: Record<string, string | null> = { name: u.name, email: u.email, phone: u.phone };
        for (const [k, v] of Object.entries(u.user_fields ?? {})) flat[`user_fields.${k}`] = v;
        return {
          externalId: String(u.id),
          key: u.external_id,
          modifiedAt: new Date(u.updated_at),
          raw: Object.fromEntries(fields.filter((f) => f in flat).map((f) => [f, flat[f] ?? null])),
        };
      }),
      cursor: json.after_cursor ?? cursor,
      done: json.end_of_stream !== false,
    };
  }

  /**
   * By owner id (external_id) through `create_or_update_many`; a user without one (created by an
   * agent, matched by the hub) by its Zendesk id through `update_many`.
   */
  async write(records: readonly CustomerWrite[]): Promise<CustomerWriteResult[]> {
    const results: CustomerWriteResult[] = records.map(() => ({ ok: false, error: 'not written' }));
    // A linked record without an owner id is updated by its Zendesk id (an upsert by e-mail could create a second user).
    const matched = records.map((r, i) => ({ r, i })).filter(({ r }) => r.key);
    const byId = records.map((r, i) => ({ r, i })).filter(({ r }) => !r.key);
    for (const [group, byZendeskId] of [
      [matched, false],
      [byId, true],
    ] as const) {
      for (let n = 0; n < group.length; n += 100) {
        const chunk = group.slice(n, n + 100);
        const out = await this.writeMany(
          chunk.map((c) => c.r),
          byZendeskId,
        );
        chunk.forEach((c, k) => (results[c.i] = out[k]!));
      }
    }
    return results;
  }

  private async writeMany(
    records: readonly CustomerWrite[],
    byZendeskId: boolean,
  ): Promise<CustomerWriteResult[]> {
    const all = (error: string) => records.map(() => ({ ok: false, error }));
    const users = records.map((r) => {
      const user: Record<string, unknown> = byZendeskId
        ? { id: Number(r.externalId) }
        : { external_id: r.key };
      const userFields: Record<string, string | null> = {};
      for (const [f, v] of Object.entries(r.fields)) {
        if (f.startsWith('user_fields.')) userFields[f.slice('user_fields.'.length)] = v;
        else user[f] = v;
      }
      if (Object.keys(userFields).length) user['user_fields'] = userFields;
      return user;
    });
    const response = await patiently(() =>
      this.http.send({
        method: byZendeskId ? 'PUT' : 'POST',
        path: byZendeskId ? '/api/v2/users/update_many' : '/api/v2/users/create_or_update_many',
        headers: { ...this.headers(), 'content-type': 'application/json' },
        body: JSON.stringify({ users }),
        priority: HUB_PRIORITY,
        audit: { syncRecordId: null, requestBody: { users } },
      }),
    );
    if (response.status !== 200) return all(`Zendesk ${response.status}: ${response.text.slice(0, 300)}`);
    const jobId = (JSON.parse(response.text) as { job_status?: { id?: string } }).job_status?.id;
    if (!jobId) return all('Zendesk queued no job');
    for (let poll = 0; poll < 120; poll += 1) {
      await sleep(this.pollIntervalMs);
      const status = await patiently(() =>
        this.http.send({
          method: 'GET',
          path: `/api/v2/job_statuses/${encodeURIComponent(jobId)}`,
          headers: this.headers(),
          priority: HUB_PRIORITY,
        }),
      );
      if (status.status !== 200) continue;
      const job = (
        JSON.parse(status.text) as {
          job_status: {
            status: string;
            results?: Array<{ index?: number; status: string; details?: string }> | null;
          };
        }
      ).job_status;
      if (job.status === 'failed' || job.status === 'killed')
        return all(`Zendesk job ${jobId} ${job.status}`);
      if (job.status !== 'completed') continue;
      return records.map((_r, i) => {
        const result = job.results?.find((x) => x.index === i) ?? job.results?.[i];
        return result && result.status !== 'Failed'
          ? { ok: true }
          : { ok: false, error: `Zendesk: ${result?.details ?? 'no result'}` };
      });
    }
    return all(`Zendesk job ${jobId} did not complete`);
  }
}

/**
 * ActiveCampaign contacts: `GET /api/3/fields` for the schema, `GET /api/3/contacts` with
 * `filters[updated_after]` and `orders[udate]=ASC` (cursor = the last `udate`) for reads, the bulk
 * importer (`import/bulk_import` + `import/info`) for writes, matched by e-mail.
 */
export class ActiveCampaignCustomers implements CustomerSource {
  readonly connector = 'activecampaign' as const;

  constructor(
    private readonly http: VendorHttp,
    private readonly apiToken: string,
    private readonly pollIntervalMs = 1_000,
  ) {}

  private headers(): Record<string, string> {
    return { 'api-token': this.apiToken, accept: 'application/json' };
  }

  async describe(): Promise<SchemaField[]> {
    const response = await patiently(() =>
      this.http.send({
        method: 'GET',
        path: '/api/3/fields?limit=100',
        headers: this.headers(),
        priority: HUB_PRIORITY,
      }),
    );
    if (response.status !== 200) throw failed('ActiveCampaign fields', response);
    const json = JSON.parse(response.text) as { fields: Array<{ id: string; title: string; type: string }> };
    return [
      { name: 'email', type: 'text', label: 'Email' },
      { name: 'firstName', type: 'text', label: 'First Name' },
      { name: 'lastName', type: 'text', label: 'Last Name' },
      { name: 'phone', type: 'text', label: 'Phone' },
      ...json.fields.map((f) => ({ name: `fields.${f.id}`, type: f.type, label: f.title })),
    ];
  }

  async read(cursor: string | null, limit: number, fields: readonly string[]): Promise<CustomerPage> {
    const records: VendorCustomer[] = [];
    let since = cursor ?? '1970-01-01T00:00:00.000Z';
    while (records.length < limit) {
      const response = await patiently(() =>
        this.http.send({
          method: 'GET',
          path: `/api/3/contacts?filters[updated_after]=${encodeURIComponent(since)}&orders[udate]=ASC&include=fieldValues&limit=100`,
          headers: this.headers(),
          priority: HUB_PRIORITY,
        }),
      );
      if (response.status !== 200) throw failed('ActiveCampaign contacts', response);
      const json = JSON.parse(response.text) as {
        contacts: Array<{
          id: string;
          email: string;
          firstName: string;
          lastName: string;
          phone: string;
          udate: string;
        }>;
        fieldValues?: Array<{ contact: string; field: string; value: string }>;
      };
      const values = new Map<string, Record<string, string>>();
      for (const fv of json.fieldValues ?? []) {
        const of = values.get(fv.contact) ?? {};
        of[`fields.${fv.field}`] = fv.value;
        values.set(fv.contact, of);
      }
      for (const c of json.contacts) {
        const flat: Record<string, string | null> = {
          email: c.email,
          firstName: c.firstName,
          lastName: c.lastName,
          phone: c.phone,
          ...values.get(c.id),
        };
        records.push({
          externalId: c.id,
          key: null,
          modifiedAt: new Date(c.udate),
          raw: Object.fromEntries(fields.filter((f) => f in flat).map((f) => [f, flat[f] ?? null])),
        });
        since = c.udate;
      }
      if (json.contacts.length < 100) return { records, cursor: records.length ? since : cursor, done: true };
    }
    return { records, cursor: since, done: false };
  }

  async write(records: readonly CustomerWrite[]): Promise<CustomerWriteResult[]> {
    const results: CustomerWriteResult[] = [];
    for (let i = 0; i < records.length; i += 250)
      results.push(...(await this.importMany(records.slice(i, i + 250))));
    return results;
  }

  private async importMany(records: readonly CustomerWrite[]): Promise<CustomerWriteResult[]> {
    const all = (error: string) => records.map(() => ({ ok: false, error }));
    const contacts = records.map((r) => {
      const contact: Record<string, unknown> = { email: r.email };
      const fields: Array<{ id: number; value: string }> = [];
      for (const [f, v] of Object.entries(r.fields)) {
        if (f.startsWith('fields.')) fields.push({ id: Number(f.slice('fields.'.length)), value: v ?? '' });
        else if (f === 'firstName') contact['first_name'] = v ?? '';
        else if (f === 'lastName') contact['last_name'] = v ?? '';
        else if (f === 'phone') contact['phone'] = v ?? '';
      }
      if (fields.length) contact['fields'] = fields;
      return contact;
    });
    if (records.some((r) => !r.email)) return all('ActiveCampaign matches contacts by e-mail: none known');
    const response = await patiently(() =>
      this.http.send({
        method: 'POST',
        path: '/api/3/import/bulk_import',
        headers: { ...this.headers(), 'content-type': 'application/json' },
        body: JSON.stringify({ contacts }),
        priority: HUB_PRIORITY,
        audit: { syncRecordId: null, requestBody: { contacts } },
      }),
    );
    if (response.status !== 200)
      return all(`ActiveCampaign ${response.status}: ${response.text.slice(0, 300)}`);
    const batchId = (JSON.parse(response.text) as { batchId?: string }).batchId;
    if (!batchId) return all('ActiveCampaign queued no import');
    for (let poll = 0; poll < 120; poll += 1) {
      await sleep(this.pollIntervalMs);
      const info = await patiently(() =>
        this.http.send({
          method: 'GET',
          path: `/api/3/import/info?batchId=${encodeURIComponent(batchId)}`,
          headers: this.headers(),
          priority: HUB_PRIORITY,
        }),
      );
      if (info.status !== 200) continue;
      const batch = JSON.parse(info.text) as { status: string | false; failure?: string[] };
      if (batch.status === 'failed' || batch.status === 'interrupted')
        return all(`ActiveCampaign import ${batchId} ${batch.status}`);
      if (batch.status !== 'completed') continue;
      const refused = new Set((batch.failure ?? []).map((e) => e.toLowerCase()));
      return records.map((r) =>
        refused.has((r.email ?? '').toLowerCase())
          ? { ok: false, error: `ActiveCampaign refused ${r.email}` }
          : { ok: true },
      );
    }
    return all(`ActiveCampaign import ${batchId} did not complete`);
  }
}
