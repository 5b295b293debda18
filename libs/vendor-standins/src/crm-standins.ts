import { RateLimit, StandinServer, type StandinReply, type StandinRequest } from './http-kit';

/**
 * Zendesk Support API for users: `POST /api/v2/users/create_or_update` (201 created, 200 updated),
 * `POST /api/v2/users/create_or_update_many` (up to 100 users; answers a queued `job_status`, the
 * users are written in the background and `GET /api/v2/job_statuses/{id}` reports one result per
 * user in request order: `Created`, `Updated` or `Failed` with `error` and `details`),
 * `GET /api/v2/users/me`, `GET /api/v2/incremental/users/cursor`. API token auth
 * (`Authorization: Basic base64({email}/token:{token})`), 429 with Retry-After past the rate limit
 * (the write endpoints share one bucket; at most 30 queued jobs per account, then 429 TooManyJobs),
 * 422 RecordInvalid for unknown user fields.
 */
export interface ZendeskUser {
  id: number;
  name: string;
  email: string | null;
  phone: string | null;
  external_id: string | null;
  user_fields: Record<string, string | null>;
  updated_at: string;
  seq: number;
  writes: number;
}

export interface ZendeskJobResult {
  id?: number;
  index: number;
  status: 'Created' | 'Updated' | 'Failed';
  external_id?: string | null;
  email?: string | null;
  error?: string;
  details?: string;
}

interface ZendeskJob {
  id: string;
  status: 'queued' | 'working' | 'completed' | 'failed';
  total: number;
  progress: number;
  results: ZendeskJobResult[];
}

const ZENDESK_MAX_BULK = 100;
const ZENDESK_MAX_QUEUED_JOBS = 30;

export class ZendeskStandin extends StandinServer {
  readonly users = new Map<string, ZendeskUser>();
  readonly jobs = new Map<string, ZendeskJob>();
  /** How long a queued job waits before it runs (real Zendesk: seconds; here short). */
  jobDelayMs = 20;
  private nextId = 360_000_000;
  private seq = 0;
  private jobSeq = 0;
  private readonly limit: RateLimit;
  private readonly readLimit = new RateLimit(20, 40);
  /** The incremental exports: 10 requests a minute. */
  private exportLimit = new RateLimit(10 / 60, 10);
  /** The account's custom user fields (`GET /api/v2/user_fields`); a test may rename or retype one. */
  userFieldDefs: Array<{
    key: string;
    type: 'text' | 'decimal' | 'date' | 'dropdown' | 'integer';
    title: string;
  }> = [];

  constructor(
    private readonly options: {
      email: string;
      apiToken: string;
      userFields?: readonly string[];
      requestsPerSecond?: number;
      burst?: number;
    },
  ) {
    super();
    this.limit = new RateLimit(options.requestsPerSecond ?? 1, options.burst ?? 3);
    this.userFieldDefs = (options.userFields ?? []).map((key) => ({
      key,
      type: 'text',
      title: key.replace(/_/g, ' '),
    }));
  }

  /** Creates or edits a user "inside Zendesk" (an agent's change): a new `updated_at` and export position. */
  editUser(
    externalId: string,
    change: Partial<Pick<ZendeskUser, 'name' | 'email' | 'phone'>> & {
      user_fields?: Record<string, string | null>;
    },
    at?: string,
  ): ZendeskUser {
    const existing = this.users.get(`x:${externalId}`);
    const user: ZendeskUser = existing ?? {
      id: (this.nextId += 1),
      name: change.name ?? externalId,
      email: null,
      phone: null,
      external_id: externalId,
      user_fields: {},
      updated_at: '',
      seq: 0,
      writes: 0,
    };
    if (change.name !== undefined) user.name = change.name;
    if (change.email !== undefined) user.email = change.email;
    if (change.phone !== undefined) user.phone = change.phone;
    Object.assign(user.user_fields, change.user_fields ?? {});
    user.updated_at = at ?? this.stamp();
    if (user.updated_at > this.lastStamp) this.lastStamp = user.updated_at;
    user.seq = this.seq += 1;
    this.users.set(`x:${externalId}`, user);
    return user;
  }

  /** A user without an owner id (an agent created it by hand), keyed by e-mail or its own id. */
  addUser(
    change: {
      name: string;
      email: string | null;
      phone: string | null;
      user_fields?: Record<string, string | null>;
    },
    at?: string,
  ): ZendeskUser {
    const user: ZendeskUser = {
      id: (this.nextId += 1),
      name: change.name,
      email: change.email,
      phone: change.phone,
      external_id: null,
      user_fields: { ...change.user_fields },
      updated_at: at ?? this.stamp(),
      seq: (this.seq += 1),
      writes: 0,
    };
    if (user.updated_at > this.lastStamp) this.lastStamp = user.updated_at;
    this.users.set(change.email ? `e:${change.email}` : `i:${user.id}`, user);
    return user;
  }

  /** Schema drift: renames or retypes a custom user field (stored values move along with a rename). */
  changeUserField(
    key: string,
    change: { rename?: string; type?: 'text' | 'decimal' | 'date' | 'dropdown' | 'integer' },
  ): void {
    const field = this.userFieldDefs.find((f) => f.key === key);
    if (!field) throw new Error(`no user field ${key}`);
    if (change.type) field.type = change.type;
    if (change.rename) {
      field.key = change.rename;
      for (const u of this.users.values()) {
        if (key in u.user_fields) {
          u.user_fields[change.rename] = u.user_fields[key] ?? null;
          delete u.user_fields[key];
        }
      }
    }
  }

  protected throttleBody(): unknown {
    return {
      error: 'APIRateLimitExceeded',
      description: 'Number of allowed API requests per minute exceeded',
    };
  }

  protected handle(request: StandinRequest): StandinReply {
    const expected = `Basic ${Buffer.from(`${this.options.email}/token:${this.options.apiToken}`).toString('base64')}`;
    if (request.headers.authorization !== expected)
      return { status: 401, body: { error: "Couldn't authenticate you" } };
    if (request.method === 'GET' && request.path === '/api/v2/users/me') {
      return {
        status: 200,
        body: { user: { id: 1, name: 'Saldo integration', email: this.options.email, role: 'admin' } },
      };
    }
    if (
      request.method === 'POST' &&
      request.path.replace(/\.json$/, '') === '/api/v2/users/create_or_update'
    ) {
      const wait = this.limit.take();
      if (wait !== null) return this.throttled(wait);
      return this.createOrUpdate(request.body);
    }
    if (
      request.method === 'POST' &&
      request.path.replace(/\.json$/, '') === '/api/v2/users/create_or_update_many'
    ) {
      const wait = this.limit.take();
      if (wait !== null) return this.throttled(wait);
      return this.createOrUpdateMany(request.body);
    }
    if (request.method === 'PUT' && request.path.replace(/\.json$/, '') === '/api/v2/users/update_many') {
      const wait = this.limit.take();
      if (wait !== null) return this.throttled(wait);
      return this.updateMany(request.body);
    }
    const job = /^\/api\/v2\/job_statuses\/([A-Za-z0-9-]+)(?:\.json)?$/.exec(request.path);
    if (request.method === 'GET' && job) {
      const wait = this.readLimit.take();
      if (wait !== null) return this.throttled(wait);
      const found = this.jobs.get(job[1]!);
      if (!found) return { status: 404, body: { error: 'RecordNotFound', description: 'Not found' } };
      return { status: 200, body: { job_status: this.jobBody(found) } };
    }
    if (request.method === 'GET' && request.path.replace(/\.json$/, '') === '/api/v2/user_fields') {
      return {
        status: 200,
        body: {
          user_fields: this.userFieldDefs.map((f, i) => ({
            id: 9000 + i,
            key: f.key,
            type: f.type,
            title: f.title,
            active: true,
          })),
          count: this.userFieldDefs.length,
        },
      };
    }
    if (request.method === 'GET' && request.path === '/api/v2/incremental/users/cursor') {
      const exportWait = this.exportLimit.take();
      if (exportWait !== null) return this.throttled(exportWait);
      const after = request.query.get('cursor')
        ? Number(Buffer.from(request.query.get('cursor')!, 'base64url').toString())
        : 0;
      const perPage = Math.min(1000, Number(request.query.get('per_page') ?? 1000));
      const users = [...this.users.values()]
        .filter((u) => u.seq > after)
        .sort((a, b) => a.seq - b.seq)
        .slice(0, perPage);
      const last = users[users.length - 1];
      return {
        status: 200,
        body: {
          users: users.map(({ seq: _seq, writes: _w, ...u }) => u),
          after_cursor: last
            ? Buffer.from(String(last.seq)).toString('base64url')
            : (request.query.get('cursor') ?? null),
          end_of_stream: users.length < perPage,
        },
      };
    }
    return { status: 404, body: { error: 'InvalidEndpoint', description: 'Not found' } };
  }

  private createOrUpdate(text: string): StandinReply {
    let user: unknown;
    try {
      user = (JSON.parse(text) as { user?: unknown }).user;
    } catch {
      return { status: 400, body: { error: 'Unprocessable Entity', description: 'Invalid JSON' } };
    }
    const result = this.upsertUser(user);
    if ('invalid' in result) {
      return {
        status: 422,
        body: {
          error: 'RecordInvalid',
          description: 'Record validation errors',
          details: { [result.invalid]: [{ description: result.description, error: 'InvalidValue' }] },
        },
      };
    }
    const { seq: _seq, writes: _writes, ...body } = result.stored;
    return { status: result.created ? 201 : 200, body: { user: body } };
  }

  private createOrUpdateMany(text: string): StandinReply {
    let users: unknown;
    try {
      users = (JSON.parse(text) as { users?: unknown }).users;
    } catch {
      return { status: 400, body: { error: 'Unprocessable Entity', description: 'Invalid JSON' } };
    }
    if (!Array.isArray(users) || users.length === 0) {
      return {
        status: 400,
        body: { error: 'InvalidValue', description: 'users: an array of at least one user is required' },
      };
    }
    if (users.length > ZENDESK_MAX_BULK) {
      return {
        status: 400,
        body: { error: 'TooManyValues', description: `users: at most ${ZENDESK_MAX_BULK} users per request` },
      };
    }
    const queued = [...this.jobs.values()].filter(
      (j) => j.status === 'queued' || j.status === 'working',
    ).length;
    if (queued >= ZENDESK_MAX_QUEUED_JOBS) {
      this.counters.throttled += 1;
      return {
        status: 429,
        headers: { 'retry-after': '1' },
        body: {
          error: 'TooManyJobs',
          description: `Number of queued jobs exceeds ${ZENDESK_MAX_QUEUED_JOBS}`,
        },
      };
    }
    const job: ZendeskJob = {
      id: `V3-${(this.jobSeq += 1).toString(16)}${randomHex()}`,
      status: 'queued',
      total: users.length,
      progress: 0,
      results: [],
    };
    this.jobs.set(job.id, job);
    setTimeout(() => {
      job.status = 'working';
      job.results = users.map((user, index) => {
        const result = this.upsertUser(user);
        job.progress += 1;
        if ('invalid' in result) {
          const u = (user ?? {}) as { external_id?: unknown; email?: unknown };
          return {
            index,
            status: 'Failed' as const,
            ...(typeof u.external_id === 'string' ? { external_id: u.external_id } : {}),
            ...(typeof u.email === 'string' ? { email: u.email } : {}),
            error: 'UserUpdateError',
            details: `${result.invalid}: ${result.description}`,
          };
        }
        return {
          id: result.stored.id,
          index,
          status: result.created ? ('Created' as const) : ('Updated' as const),
          external_id: result.stored.external_id,
          email: result.stored.email,
        };
      });
      job.status = 'completed';
    }, this.jobDelayMs).unref();
    return { status: 200, body: { job_status: this.jobBody(job) } };
  }

  /** `PUT /api/v2/users/update_many` `{users: [{id, …}]}`: by Zendesk id, as a job (up to 100). */
  private updateMany(text: string): StandinReply {
    let users: unknown;
    try {
      users = (JSON.parse(text) as { users?: unknown }).users;
    } catch {
      return { status: 400, body: { error: 'Unprocessable Entity', description: 'Invalid JSON' } };
    }
    if (!Array.isArray(users) || users.length === 0 || users.length > ZENDESK_MAX_BULK)
      return {
        status: 400,
        body: { error: 'InvalidValue', description: `users: 1 to ${ZENDESK_MAX_BULK} users with an id` },
      };
    const job: ZendeskJob = {
      id: `V3-${(this.jobSeq += 1).toString(16)}${randomHex()}`,
      status: 'queued',
      total: users.length,
      progress: 0,
      results: [],
    };
    this.jobs.set(job.id, job);
    setTimeout(() => {
      job.results = (users as Array<Record<string, unknown>>).map((u, index) => {
        const existing = [...this.users.entries()].find(([, x]) => x.id === Number(u['id']));
        job.progress += 1;
        if (!existing)
          return {
            index,
            status: 'Failed' as const,
            error: 'RecordNotFound',
            details: `no user ${String(u['id'])}`,
          };
        const [key, user] = existing;
        if (typeof u['name'] === 'string') user.name = u['name'];
        if (typeof u['email'] === 'string' || u['email'] === null) user.email = u['email'] as string | null;
        if (typeof u['phone'] === 'string' || u['phone'] === null) user.phone = u['phone'] as string | null;
        Object.assign(user.user_fields, (u['user_fields'] ?? {}) as Record<string, string | null>);
        user.updated_at = this.stamp();
        user.seq = this.seq += 1;
        user.writes += 1;
        this.users.set(key, user);
        return { id: user.id, index, status: 'Updated' as const };
      });
      job.status = 'completed';
    }, this.jobDelayMs).unref();
    return { status: 200, body: { job_status: this.jobBody(job) } };
  }

  private jobBody(job: ZendeskJob): unknown {
    return {
      id: job.id,
      url: `${this.url}/api/v2/job_statuses/${job.id}.json`,
      total: job.total,
      progress: job.progress,
      status: job.status,
      message: job.status === 'completed' ? `Completed at ${new Date().toISOString()}` : null,
      results: job.status === 'completed' ? job.results : null,
      job_type: 'Bulk Create or Update Users',
    };
  }

  /** One user of `create_or_update(_many)`: matched by external_id, else e-mail. */
  private upsertUser(
    input: unknown,
  ): { stored: ZendeskUser; created: boolean } | { invalid: string; description: string } {
    const user = (input ?? {}) as {
      name?: unknown;
      email?: unknown;
      phone?: unknown;
      external_id?: unknown;
      user_fields?: Record<string, unknown>;
    };
    const externalId = typeof user.external_id === 'string' ? user.external_id : null;
    const email = typeof user.email === 'string' ? user.email : null;
    if (!externalId && !email)
      return { invalid: 'email', description: 'Email or external_id is required to match a user' };
    if (email !== null && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
      return { invalid: 'email', description: `Email: ${email} is not properly formatted` };
    const key = externalId ? `x:${externalId}` : `e:${email}`;
    const existing =
      this.users.get(key) ?? (email ? [...this.users.values()].find((u) => u.email === email) : undefined);
    const name = typeof user.name === 'string' && user.name !== '' ? user.name : existing?.name;
    if (!name) return { invalid: 'name', description: 'Name: cannot be blank' };
    const fields = user.user_fields ?? {};
    for (const [field, value] of Object.entries(fields)) {
      if (this.options.userFields && !this.userFieldKeys().includes(field))
        return { invalid: 'user_fields', description: `${field} is not a user field` };
      if (value !== null && typeof value !== 'string' && typeof value !== 'number')
        return { invalid: 'user_fields', description: `${field}: invalid value` };
    }
    const stored: ZendeskUser = {
      id: existing?.id ?? (this.nextId += 1),
      name,
      email: email ?? existing?.email ?? null,
      phone: typeof user.phone === 'string' ? user.phone : (existing?.phone ?? null),
      external_id: externalId ?? existing?.external_id ?? null,
      user_fields: {
        ...existing?.user_fields,
        ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v === null ? null : String(v)])),
      },
      updated_at: this.stamp(),
      seq: (this.seq += 1),
      writes: (existing?.writes ?? 0) + 1,
    };
    if (existing) for (const [k, u] of this.users) if (u === existing) this.users.delete(k);
    this.users.set(stored.external_id ? `x:${stored.external_id}` : `e:${stored.email}`, stored);
    return { stored, created: !existing };
  }

  protected userFieldKeys(): readonly string[] {
    return this.userFieldDefs.map((f) => f.key);
  }

  /** Never before a time a test set (the vendor's clock only moves forward). */
  private lastStamp = '';
  protected stamp(): string {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    return now > this.lastStamp ? now : this.lastStamp;
  }

  /** The incremental export's limit (Zendesk: 10 requests a minute); tests that sync often raise it. */
  setExportRate(perMinute: number, burst: number): void {
    this.exportLimit = new RateLimit(perMinute / 60, burst);
  }
}

function randomHex(): string {
  return Math.floor(Math.random() * 0xffffff)
    .toString(16)
    .padStart(6, '0');
}

/**
 * ActiveCampaign API v3 for contacts: `POST /api/3/contact/sync` (create or update by e-mail; 201
 * created, 200 updated) with fieldValues, `GET /api/3/contacts` (filters[updated_after],
 * orders[udate], limit up to 100, offset), `GET /api/3/fields`, `GET /api/3/users/me`, and the bulk
 * importer: `POST /api/3/import/bulk_import` (up to 250 contacts, created or updated by e-mail;
 * answers `{success: 1, queued_contacts, batchId}` and imports in the background) with
 * `GET /api/3/import/info?batchId=` (`status` false until the batch has one, then waiting … completed;
 * `success` the contact ids, `failure` the e-mails refused). Header `Api-Token`; 5 requests/s per
 * account, then 429 with Retry-After; the importer also at most 100 requests a minute.
 */
export interface ActiveCampaignContact {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  phone: string;
  udate: string;
  fieldValues: Record<string, string>;
  writes: number;
}

interface ImportBatch {
  status: false | 'waiting' | 'active' | 'completed';
  success: string[];
  failure: string[];
}

const AC_MAX_BULK = 250;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export class ActiveCampaignStandin extends StandinServer {
  readonly contacts = new Map<string, ActiveCampaignContact>();
  readonly imports = new Map<string, ImportBatch>();
  /** How long a bulk import waits before it runs. */
  importDelayMs = 20;
  private nextId = 100;
  private batchSeq = 0;
  private readonly limit: RateLimit;
  private readonly importLimit = new RateLimit(100 / 60, 10);
  /** The account's custom fields (`GET /api/3/fields`); a test may retype or remove one. */
  fieldDefs: Array<{ id: string; title: string; type: 'text' | 'date' | 'dropdown' | 'textarea' }> = [];

  constructor(
    private readonly options: {
      apiToken: string;
      fieldIds?: readonly string[];
      fieldTitles?: Record<string, string>;
      requestsPerSecond?: number;
      burst?: number;
    },
  ) {
    super();
    this.limit = new RateLimit(options.requestsPerSecond ?? 5, options.burst ?? 5);
    this.fieldDefs = (options.fieldIds ?? []).map((id) => ({
      id,
      title: options.fieldTitles?.[id] ?? `Field ${id}`,
      type: 'text',
    }));
  }

  /** Creates or edits a contact "inside ActiveCampaign" (a marketer's change): a new `udate`. */
  editContact(
    email: string,
    change: { firstName?: string; lastName?: string; phone?: string; fieldValues?: Record<string, string> },
    at?: string,
  ): ActiveCampaignContact {
    if (at) this.lastStamp = Math.max(this.lastStamp, Date.parse(at) - 1);
    const { stored } = this.upsert(email, change, change.fieldValues ?? {});
    return stored;
  }

  /** Schema drift: retypes, renames (title) or removes a custom field. */
  changeField(
    id: string,
    change: { title?: string; type?: 'text' | 'date' | 'dropdown' | 'textarea'; remove?: boolean },
  ): void {
    const i = this.fieldDefs.findIndex((f) => f.id === id);
    if (i < 0) throw new Error(`no field ${id}`);
    if (change.remove) {
      this.fieldDefs.splice(i, 1);
      return;
    }
    if (change.title) this.fieldDefs[i]!.title = change.title;
    if (change.type) this.fieldDefs[i]!.type = change.type;
  }

  protected throttleBody(): unknown {
    return { message: 'Too Many Requests' };
  }

  protected handle(request: StandinRequest): StandinReply {
    if (request.headers['api-token'] !== this.options.apiToken)
      return { status: 403, body: { message: 'No Result found for User with id 0' } };
    const wait = this.limit.take();
    if (wait !== null) return this.throttled(wait);
    if (request.method === 'GET' && request.path === '/api/3/users/me')
      return { status: 200, body: { user: { id: '1', username: 'saldo' } } };
    if (request.method === 'POST' && request.path === '/api/3/contact/sync') return this.sync(request.body);
    if (request.method === 'POST' && request.path === '/api/3/import/bulk_import') {
      const importWait = this.importLimit.take();
      if (importWait !== null) return this.throttled(importWait);
      return this.bulkImport(request.body);
    }
    if (request.method === 'GET' && request.path === '/api/3/import/info') {
      const batchId = request.query.get('batchId');
      if (!batchId) return { status: 400, body: { success: 0, message: "'batchId' is a required field." } };
      const batch = this.imports.get(batchId);
      if (!batch) return { status: 404, body: { message: 'No Result found for Import with id ' + batchId } };
      return { status: 200, body: batch };
    }
    if (request.method === 'GET' && request.path === '/api/3/fields')
      return {
        status: 200,
        body: { fields: this.fieldList(), meta: { total: String(this.fieldList().length) } },
      };
    if (request.method === 'GET' && request.path === '/api/3/contacts') {
      const after = request.query.get('filters[updated_after]') ?? '';
      const limit = Math.min(100, Number(request.query.get('limit') ?? 20));
      const offset = Math.max(0, Number(request.query.get('offset') ?? 0));
      const all = [...this.contacts.values()]
        .filter((c) => c.udate > after)
        .sort((a, b) => a.udate.localeCompare(b.udate) || Number(a.id) - Number(b.id));
      const page = all.slice(offset, offset + limit);
      return {
        status: 200,
        body: {
          contacts: page.map(({ writes: _w, fieldValues: _f, ...c }) => c),
          fieldValues: page.flatMap((c) =>
            Object.entries(c.fieldValues).map(([field, value]) => ({ contact: c.id, field, value })),
          ),
          meta: { total: String(all.length) },
        },
      };
    }
    return { status: 404, body: { message: 'Not Found' } };
  }

  /** The account's custom fields (`GET /api/3/fields`). */
  protected fieldList(): Array<{ id: string; title: string; type: string; perstag: string }> {
    return this.fieldDefs.map((f) => ({
      id: f.id,
      title: f.title,
      type: f.type,
      perstag: f.title.toUpperCase().replace(/[^A-Z0-9]+/g, '_'),
    }));
  }

  protected fieldExists(id: string): boolean {
    return !this.options.fieldIds || this.fieldDefs.some((f) => f.id === id);
  }

  private sync(text: string): StandinReply {
    let contact:
      | {
          email?: unknown;
          firstName?: unknown;
          lastName?: unknown;
          phone?: unknown;
          fieldValues?: Array<{ field?: unknown; value?: unknown }>;
        }
      | undefined;
    try {
      contact = (JSON.parse(text) as { contact?: typeof contact }).contact;
    } catch {
      return { status: 400, body: { message: 'Invalid JSON' } };
    }
    const error = (title: string, code: string, pointer: string): StandinReply => ({
      status: 422,
      body: { errors: [{ title, detail: '', code, source: { pointer } }] },
    });
    if (!contact || typeof contact.email !== 'string' || !EMAIL.test(contact.email)) {
      return error('Contact Email Address is not valid.', 'email_invalid', '/data/attributes/email');
    }
    const values: Record<string, string> = {};
    for (const fv of contact.fieldValues ?? []) {
      const field = String(fv.field ?? '');
      if (!this.fieldExists(field))
        return error(`Field ${field} does not exist.`, 'field_missing', '/data/attributes/fieldValues');
      values[field] = String(fv.value ?? '');
    }
    const { stored, created } = this.upsert(
      contact.email,
      { firstName: contact.firstName, lastName: contact.lastName, phone: contact.phone },
      values,
    );
    return {
      status: created ? 201 : 200,
      body: {
        fieldValues: Object.entries(stored.fieldValues).map(([field, value]) => ({
          contact: stored.id,
          field,
          value,
        })),
        contact: { id: stored.id, email: stored.email, udate: stored.udate },
      },
    };
  }

  private bulkImport(text: string): StandinReply {
    let contacts: unknown;
    try {
      contacts = (JSON.parse(text) as { contacts?: unknown }).contacts;
    } catch {
      return { status: 400, body: { success: 0, message: 'Invalid JSON' } };
    }
    if (!Array.isArray(contacts) || contacts.length === 0)
      return { status: 400, body: { success: 0, message: "'contacts' is a required field." } };
    if (contacts.length > AC_MAX_BULK)
      return {
        status: 400,
        body: { success: 0, message: `A maximum of ${AC_MAX_BULK} contacts may be imported per request.` },
      };
    for (const c of contacts as Array<{ fields?: Array<{ id?: unknown }> }>) {
      for (const f of c?.fields ?? []) {
        if (!this.fieldExists(String(f.id ?? '')))
          return { status: 400, body: { success: 0, message: `Field ${String(f.id)} does not exist.` } };
      }
    }
    const batchId = `${(this.batchSeq += 1).toString(16).padStart(8, '0')}-${randomHexAc()}`;
    const batch: ImportBatch = { status: false, success: [], failure: [] };
    this.imports.set(batchId, batch);
    setTimeout(() => {
      batch.status = 'active';
      for (const raw of contacts as Array<Record<string, unknown>>) {
        const email = raw?.['email'];
        if (typeof email !== 'string' || !EMAIL.test(email)) {
          batch.failure.push(typeof email === 'string' ? email : '');
          continue;
        }
        const values = Object.fromEntries(
          ((raw['fields'] ?? []) as Array<{ id: unknown; value: unknown }>).map((f) => [
            String(f.id),
            String(f.value ?? ''),
          ]),
        );
        const { stored } = this.upsert(
          email,
          { firstName: raw['first_name'], lastName: raw['last_name'], phone: raw['phone'] },
          values,
        );
        batch.success.push(stored.id);
      }
      batch.status = 'completed';
    }, this.importDelayMs).unref();
    return { status: 200, body: { success: 1, queued_contacts: contacts.length, batchId } };
  }

  upsert(
    email: string,
    names: { firstName?: unknown; lastName?: unknown; phone?: unknown },
    values: Record<string, string>,
  ): { stored: ActiveCampaignContact; created: boolean } {
    const existing = this.contacts.get(email.toLowerCase());
    const text = (v: unknown, fallback: string) => (typeof v === 'string' ? v : fallback);
    const stored: ActiveCampaignContact = {
      id: existing?.id ?? String((this.nextId += 1)),
      email,
      firstName: text(names.firstName, existing?.firstName ?? ''),
      lastName: text(names.lastName, existing?.lastName ?? ''),
      phone: text(names.phone, existing?.phone ?? ''),
      udate: this.stamp(),
      fieldValues: { ...existing?.fieldValues, ...values },
      writes: (existing?.writes ?? 0) + 1,
    };
    this.contacts.set(email.toLowerCase(), stored);
    return { stored, created: !existing };
  }

  /** A modification time strictly after the previous one (so `updated_after` never loses a change). */
  private lastStamp = 0;
  protected stamp(): string {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return new Date(this.lastStamp).toISOString();
  }
}

function randomHexAc(): string {
  return Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .padStart(8, '0');
}
