import { RateLimit, StandinServer, type StandinReply, type StandinRequest } from './http-kit';

/**
 * Zendesk Support API for users: `POST /api/v2/users/create_or_update` (201 created, 200 updated),
 * `GET /api/v2/users/me`, `GET /api/v2/incremental/users/cursor`. API token auth
 * (`Authorization: Basic base64({email}/token:{token})`), 429 with Retry-After past the rate limit,
 * 422 RecordInvalid for unknown user fields.
 */
export interface ZendeskUser {
  id: number;
  name: string;
  email: string | null;
  external_id: string | null;
  user_fields: Record<string, string | null>;
  updated_at: string;
  seq: number;
  writes: number;
}

export class ZendeskStandin extends StandinServer {
  readonly users = new Map<string, ZendeskUser>();
  private nextId = 360_000_000;
  private seq = 0;
  private readonly limit: RateLimit;

  constructor(
    private readonly options: { email: string; apiToken: string; userFields?: readonly string[]; requestsPerSecond?: number; burst?: number },
  ) {
    super();
    this.limit = new RateLimit(options.requestsPerSecond ?? 1, options.burst ?? 3);
  }

  protected throttleBody(): unknown {
    return { error: 'APIRateLimitExceeded', description: 'Number of allowed API requests per minute exceeded' };
  }

  protected handle(request: StandinRequest): StandinReply {
    const expected = `Basic ${Buffer.from(`${this.options.email}/token:${this.options.apiToken}`).toString('base64')}`;
    if (request.headers.authorization !== expected) return { status: 401, body: { error: "Couldn't authenticate you" } };
    if (request.method === 'GET' && request.path === '/api/v2/users/me') {
      return { status: 200, body: { user: { id: 1, name: 'Saldo integration', email: this.options.email, role: 'admin' } } };
    }
    if (request.method === 'POST' && request.path.replace(/\.json$/, '') === '/api/v2/users/create_or_update') {
      const wait = this.limit.take();
      if (wait !== null) return this.throttled(wait);
      return this.createOrUpdate(request.body);
    }
    if (request.method === 'GET' && request.path === '/api/v2/incremental/users/cursor') {
      const after = request.query.get('cursor') ? Number(Buffer.from(request.query.get('cursor')!, 'base64url').toString()) : 0;
      const perPage = Math.min(1000, Number(request.query.get('per_page') ?? 1000));
      const users = [...this.users.values()].filter((u) => u.seq > after).sort((a, b) => a.seq - b.seq).slice(0, perPage);
      const last = users[users.length - 1];
      return {
        status: 200,
        body: {
          users: users.map(({ seq: _seq, writes: _w, ...u }) => u),
          after_cursor: last ? Buffer.from(String(last.seq)).toString('base64url') : (request.query.get('cursor') ?? null),
          end_of_stream: users.length < perPage,
        },
      };
    }
    return { status: 404, body: { error: 'InvalidEndpoint', description: 'Not found' } };
  }

  private createOrUpdate(text: string): StandinReply {
    let user: { name?: unknown; email?: unknown; external_id?: unknown; user_fields?: Record<string, unknown> } | undefined;
    try {
      user = (JSON.parse(text) as { user?: typeof user }).user;
    } catch {
      return { status: 400, body: { error: 'Unprocessable Entity', description: 'Invalid JSON' } };
    }
    const invalid = (field: string, description: string): StandinReply => ({
      status: 422,
      body: { error: 'RecordInvalid', description: 'Record validation errors', details: { [field]: [{ description, error: 'InvalidValue' }] } },
    });
    if (!user || typeof user.name !== 'string' || user.name === '') return invalid('name', 'Name: cannot be blank');
    const externalId = typeof user.external_id === 'string' ? user.external_id : null;
    const email = typeof user.email === 'string' ? user.email : null;
    if (!externalId && !email) return invalid('email', 'Email or external_id is required to match a user');
    const fields = user.user_fields ?? {};
    for (const [key, value] of Object.entries(fields)) {
      if (this.options.userFields && !this.options.userFields.includes(key)) return invalid('user_fields', `${key} is not a user field`);
      if (value !== null && typeof value !== 'string' && typeof value !== 'number') return invalid('user_fields', `${key}: invalid value`);
    }
    const key = externalId ? `x:${externalId}` : `e:${email}`;
    const existing = this.users.get(key);
    const stored: ZendeskUser = {
      id: existing?.id ?? (this.nextId += 1),
      name: user.name,
      email: email ?? existing?.email ?? null,
      external_id: externalId ?? existing?.external_id ?? null,
      user_fields: { ...existing?.user_fields, ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v === null ? null : String(v)])) },
      updated_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      seq: (this.seq += 1),
      writes: (existing?.writes ?? 0) + 1,
    };
    this.users.set(key, stored);
    const { seq: _seq, writes: _writes, ...body } = stored;
    return { status: existing ? 200 : 201, body: { user: body } };
  }
}

/**
 * ActiveCampaign API v3 for contacts: `POST /api/3/contact/sync` (create or update by e-mail; 201
 * created, 200 updated) with fieldValues, `GET /api/3/contacts` (filters[updated_after]),
 * `GET /api/3/users/me`. Header `Api-Token`; 5 requests/s per account, then 429 with Retry-After.
 */
export interface ActiveCampaignContact {
  id: string;
  email: string;
  udate: string;
  fieldValues: Record<string, string>;
  writes: number;
}

export class ActiveCampaignStandin extends StandinServer {
  readonly contacts = new Map<string, ActiveCampaignContact>();
  private nextId = 100;
  private readonly limit: RateLimit;

  constructor(private readonly options: { apiToken: string; fieldIds?: readonly string[]; requestsPerSecond?: number; burst?: number }) {
    super();
    this.limit = new RateLimit(options.requestsPerSecond ?? 5, options.burst ?? 5);
  }

  protected throttleBody(): unknown {
    return { message: 'Too Many Requests' };
  }

  protected handle(request: StandinRequest): StandinReply {
    if (request.headers['api-token'] !== this.options.apiToken) return { status: 403, body: { message: 'No Result found for User with id 0' } };
    const wait = this.limit.take();
    if (wait !== null) return this.throttled(wait);
    if (request.method === 'GET' && request.path === '/api/3/users/me') return { status: 200, body: { user: { id: '1', username: 'saldo' } } };
    if (request.method === 'POST' && request.path === '/api/3/contact/sync') return this.sync(request.body);
    if (request.method === 'GET' && request.path === '/api/3/contacts') {
      const after = request.query.get('filters[updated_after]') ?? '';
      const limit = Math.min(100, Number(request.query.get('limit') ?? 20));
      const contacts = [...this.contacts.values()].filter((c) => c.udate > after).sort((a, b) => a.udate.localeCompare(b.udate)).slice(0, limit);
      return { status: 200, body: { contacts: contacts.map(({ writes: _w, fieldValues: _f, ...c }) => c), meta: { total: String(contacts.length) } } };
    }
    return { status: 404, body: { message: 'Not Found' } };
  }

  private sync(text: string): StandinReply {
    let contact: { email?: unknown; fieldValues?: Array<{ field?: unknown; value?: unknown }> } | undefined;
    try {
      contact = (JSON.parse(text) as { contact?: typeof contact }).contact;
    } catch {
      return { status: 400, body: { message: 'Invalid JSON' } };
    }
    const error = (title: string, code: string, pointer: string): StandinReply => ({ status: 422, body: { errors: [{ title, detail: '', code, source: { pointer } }] } });
    if (!contact || typeof contact.email !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(contact.email)) {
      return error('Contact Email Address is not valid.', 'email_invalid', '/data/attributes/email');
    }
    const values: Record<string, string> = {};
    for (const fv of contact.fieldValues ?? []) {
      const field = String(fv.field ?? '');
      if (this.options.fieldIds && !this.options.fieldIds.includes(field)) return error(`Field ${field} does not exist.`, 'field_missing', '/data/attributes/fieldValues');
      values[field] = String(fv.value ?? '');
    }
    const existing = this.contacts.get(contact.email.toLowerCase());
    const stored: ActiveCampaignContact = {
      id: existing?.id ?? String((this.nextId += 1)),
      email: contact.email,
      udate: new Date().toISOString(),
      fieldValues: { ...existing?.fieldValues, ...values },
      writes: (existing?.writes ?? 0) + 1,
    };
    this.contacts.set(contact.email.toLowerCase(), stored);
    return {
      status: existing ? 200 : 201,
      body: {
        fieldValues: Object.entries(stored.fieldValues).map(([field, value]) => ({ contact: stored.id, field, value })),
        contact: { id: stored.id, email: stored.email, udate: stored.udate },
      },
    };
  }
}
