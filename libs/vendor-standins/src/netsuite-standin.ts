import { constants, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import {
  decimalToScaled,
  parseJsonExact,
  scaledToDecimal,
  StandinServer,
  type StandinReply,
  type StandinRequest,
} from './http-kit';

/**
 * NetSuite REST web services, for the endpoints Saldo uses: OAuth 2.0 client credentials (JWT
 * assertion, PS256/ES256, checked against the certificate's public key), journalEntry upsert by
 * external id (with `?replace=line`), GET by external id, and SuiteQL (`Prefer: transient`) for
 * the queries erp-sync issues. Errors are RFC 9457 bodies with `o:errorDetails`. At most
 * `concurrencyLimit` requests in flight per account; the next one gets 429
 * CONCURRENCY_LIMIT_EXCEEDED (no Retry-After, as NetSuite does).
 */
export interface NetSuiteStandinOptions {
  clientId: string;
  certificateId: string;
  publicKeyPem: string;
  concurrencyLimit?: number;
  /** Known account internal ids; a line on another account is refused (INVALID_KEY_OR_REF). */
  accounts?: readonly string[];
}

export interface StoredJournalLine {
  account: string;
  debit: string | null;
  credit: string | null;
  memo: string | null;
  department: string | null;
  customer: string | null;
  item: string | null;
}

export interface StoredDocument {
  type: 'CustInvc' | 'SalesOrd';
  tranid: string;
  status: string;
  lastModified: string;
}

export interface StoredJournal {
  id: number;
  externalId: string;
  subsidiary: string;
  currency: string;
  trandate: string;
  memo: string | null;
  tenant: string | null;
  lines: StoredJournalLine[];
  lastModified: string;
  writes: number;
}

/** A customer record (the hub's NetSuite side): body fields by REST name, `lastModifiedDate` to the second. */
export interface StoredCustomer {
  id: number;
  externalId: string | null;
  fields: Record<string, string | null>;
  lastModified: string;
  writes: number;
}

export interface CustomerFieldDef {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date';
  title: string;
}

/** Body fields of `customer` the stand-in knows (a test may rename or retype one: schema drift). */
export const NETSUITE_CUSTOMER_FIELDS: readonly CustomerFieldDef[] = [
  { name: 'companyName', type: 'string', title: 'Company Name' },
  { name: 'email', type: 'string', title: 'Email' },
  { name: 'phone', type: 'string', title: 'Phone' },
  { name: 'custentity_saldo_tier', type: 'string', title: 'Saldo Tier' },
  { name: 'subsidiary', type: 'string', title: 'Subsidiary' },
];

const SCALE = 2; // NetSuite currency amounts: two decimal places
const CUSTOMER_PATH = /^\/services\/rest\/record\/v1\/customer\/(eid:[A-Za-z0-9_.:@-]+|\d+)$/;
const TOKEN_PATH = '/services/rest/auth/oauth2/v1/token';
const JOURNAL_PATH = /^\/services\/rest\/record\/v1\/journalEntry\/eid:([A-Za-z0-9_-]+)$/;

export function netsuiteError(
  status: number,
  title: string,
  code: string,
  detail: string,
  path?: string,
): StandinReply {
  return {
    status,
    body: {
      type: `https://www.rfc-editor.org/rfc/rfc9110.html#section-15.${status >= 500 ? 6 : 5}.${(status % 100) + 1}`,
      title,
      status,
      'o:errorDetails': [{ detail, 'o:errorCode': code, ...(path ? { 'o:errorPath': path } : {}) }],
    },
  };
}

export class NetSuiteStandin extends StandinServer {
  readonly journals = new Map<string, StoredJournal>();
  /** Invoices and sales orders by `<type>/<tranid>` (what shadow confirmation polls). */
  readonly documents = new Map<string, StoredDocument>();
  /** Customers by internal id. */
  readonly customers = new Map<number, StoredCustomer>();
  customerFields: CustomerFieldDef[] = NETSUITE_CUSTOMER_FIELDS.map((f) => ({ ...f }));
  private readonly tokens = new Map<string, number>();
  private readonly publicKey: KeyObject;
  private readonly accounts: Set<string> | null;
  private nextId = 1000;
  private active = 0;
  concurrencyLimit: number;
  protected override latencyInHandler = true;

  constructor(private readonly options: NetSuiteStandinOptions) {
    super();
    this.publicKey = createPublicKey(options.publicKeyPem);
    this.accounts = options.accounts ? new Set(options.accounts) : null;
    this.concurrencyLimit = options.concurrencyLimit ?? 5;
  }

  addAccount(id: string): void {
    this.accounts?.add(id);
  }

  /**
   * Creates or changes an invoice (CustInvc) or sales order (SalesOrd) as an accountant would:
   * status is NetSuite's letter (invoice D Pending Approval, A Open, E Rejected, V Voided; sales
   * order A Pending Approval, B Pending Fulfillment, C Cancelled, ...).
   */
  setDocument(type: 'CustInvc' | 'SalesOrd', tranid: string, status: string): void {
    this.documents.set(`${type}/${tranid}`, { type, tranid, status, lastModified: this.stamp() });
  }

  /** Changes a stored journal behind Saldo's back (an accountant's edit): for reconciliation tests. */
  tamper(externalId: string, change: (journal: StoredJournal) => void): void {
    const journal = this.journals.get(externalId);
    if (!journal) throw new Error(`no journal ${externalId}`);
    change(journal);
    journal.lastModified = this.stamp();
  }

  /** Creates or edits a customer "inside NetSuite" (an accountant's change); returns it. */
  editCustomer(
    key: { id?: number; externalId?: string },
    fields: Record<string, string | null>,
    at?: string,
  ): StoredCustomer {
    const existing =
      key.id !== undefined
        ? this.customers.get(key.id)
        : [...this.customers.values()].find((c) => c.externalId === key.externalId);
    const customer: StoredCustomer = existing ?? {
      id: (this.nextId += 1),
      externalId: key.externalId ?? null,
      fields: {},
      lastModified: '',
      writes: 0,
    };
    Object.assign(customer.fields, fields);
    customer.lastModified = at ?? this.stamp();
    if (customer.lastModified > this.lastStamp) this.lastStamp = customer.lastModified;
    this.customers.set(customer.id, customer);
    return customer;
  }

  /** Schema drift: renames (or retypes) a customer body field; stored values move along. */
  changeCustomerField(name: string, change: { rename?: string; type?: CustomerFieldDef['type'] }): void {
    const field = this.customerFields.find((f) => f.name === name);
    if (!field) throw new Error(`no customer field ${name}`);
    if (change.type) field.type = change.type;
    if (change.rename) {
      field.name = change.rename;
      for (const c of this.customers.values()) {
        if (name in c.fields) {
          c.fields[change.rename] = c.fields[name] ?? null;
          delete c.fields[name];
        }
      }
    }
  }

  protected throttleBody(): unknown {
    return netsuiteError(
      429,
      'Too Many Requests',
      'CONCURRENCY_LIMIT_EXCEEDED',
      'Request blocked by the concurrency limit: too many concurrent requests for this account.',
    ).body;
  }

  protected async handle(request: StandinRequest): Promise<StandinReply> {
    if (request.method === 'POST' && request.path === TOKEN_PATH) return this.token(request);
    if (!request.path.startsWith('/services/rest/'))
      return netsuiteError(404, 'Not Found', 'NONEXISTENT_ID', `No resource at ${request.path}.`);
    const auth = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''));
    const expiry = auth ? this.tokens.get(auth[1]!) : undefined;
    if (!expiry || expiry < Date.now()) {
      return netsuiteError(
        401,
        'Unauthorized',
        'INVALID_LOGIN',
        'Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI.',
      );
    }
    if (this.active >= this.concurrencyLimit) return this.throttled(null);
    this.active += 1;
    try {
      // The write is stored at once and answered after the latency: a client that dies meanwhile
      // never learns that it landed (what a crash between request and response looks like).
      const reply = this.route(request);
      if (this.latencyMs > 0) await this.delay();
      return reply;
    } finally {
      this.active -= 1;
    }
  }

  private route(request: StandinRequest): StandinReply {
    const journal = JOURNAL_PATH.exec(request.path);
    if (journal && request.method === 'PUT') return this.upsert(journal[1]!, request);
    if (journal && request.method === 'GET') {
      const found = this.journals.get(journal[1]!);
      return found
        ? { status: 200, body: this.toRecord(found) }
        : netsuiteError(
            404,
            'Not Found',
            'NONEXISTENT_ID',
            `Record journalEntry eid:${journal[1]} was not found.`,
          );
    }
    if (request.method === 'POST' && request.path === '/services/rest/query/v1/suiteql')
      return this.suiteql(request);
    if (request.method === 'GET' && request.path === '/services/rest/record/v1/metadata-catalog/customer')
      return this.customerCatalog();
    const customer = CUSTOMER_PATH.exec(request.path);
    if (customer && (request.method === 'PATCH' || request.method === 'PUT'))
      return this.writeCustomer(customer[1]!, request);
    if (customer && request.method === 'GET') {
      const found = this.findCustomer(customer[1]!);
      return found
        ? { status: 200, body: this.customerRecord(found) }
        : netsuiteError(404, 'Not Found', 'NONEXISTENT_ID', `Record customer ${customer[1]} was not found.`);
    }
    return netsuiteError(
      404,
      'Not Found',
      'NONEXISTENT_ID',
      `No resource at ${request.method} ${request.path}.`,
    );
  }

  private token(request: StandinRequest): StandinReply {
    const form = new URLSearchParams(request.body);
    const invalid = (error: string, description: string): StandinReply => ({
      status: 400,
      body: { error, error_description: description },
    });
    if (form.get('grant_type') !== 'client_credentials')
      return invalid('unsupported_grant_type', 'grant_type must be client_credentials');
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
      return invalid('invalid_request', 'bad client_assertion_type');
    const parts = (form.get('client_assertion') ?? '').split('.');
    if (parts.length !== 3) return invalid('invalid_request', 'client_assertion is not a JWT');
    let header: { alg?: string; kid?: string };
    let payload: { iss?: string; aud?: string; exp?: number; iat?: number; scope?: string[] | string };
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
      payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    } catch {
      return invalid('invalid_request', 'client_assertion is not a JWT');
    }
    if (header.kid !== this.options.certificateId)
      return invalid('invalid_client', 'unknown certificate id (kid)');
    const data = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signature = Buffer.from(parts[2]!, 'base64url');
    const valid =
      header.alg === 'PS256'
        ? verify(
            'sha256',
            data,
            {
              key: this.publicKey,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
            },
            signature,
          )
        : header.alg === 'ES256'
          ? verify('sha256', data, { key: this.publicKey, dsaEncoding: 'ieee-p1363' }, signature)
          : false;
    if (!valid)
      return invalid(
        'invalid_grant',
        'signature of the client assertion does not verify (or the algorithm is not PS256/ES256)',
      );
    const now = Math.floor(Date.now() / 1000);
    if (payload.iss !== this.options.clientId)
      return invalid('invalid_client', 'iss is not a known client id');
    if (!payload.aud?.endsWith(TOKEN_PATH)) return invalid('invalid_grant', 'aud must be the token endpoint');
    if (
      !payload.exp ||
      payload.exp < now ||
      !payload.iat ||
      payload.iat > now + 60 ||
      payload.exp - payload.iat > 3600
    ) {
      return invalid(
        'invalid_grant',
        'the assertion is expired, from the future or valid for more than an hour',
      );
    }
    const scopes = Array.isArray(payload.scope) ? payload.scope : String(payload.scope ?? '').split(/[ ,]/);
    if (!scopes.includes('rest_webservices'))
      return invalid('invalid_scope', 'scope must include rest_webservices');
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, Date.now() + 3600_000);
    return { status: 200, body: { access_token: token, token_type: 'bearer', expires_in: '3600' } };
  }

  private upsert(externalId: string, request: StandinRequest): StandinReply {
    let body: Record<string, unknown>;
    try {
      body = parseJsonExact(request.body) as Record<string, unknown>;
    } catch {
      return netsuiteError(400, 'Bad Request', 'INVALID_CONTENT', 'The request body is not valid JSON.');
    }
    const ref = (value: unknown): string | null => {
      const id = (value as { id?: unknown } | undefined)?.id;
      return typeof id === 'string' && id !== '' ? id : null;
    };
    const subsidiary = ref(body['subsidiary']);
    const currency = ref(body['currency']);
    if (!subsidiary)
      return netsuiteError(
        400,
        'Bad Request',
        'USER_ERROR',
        'Please enter value(s) for: Subsidiary',
        'subsidiary',
      );
    if (!currency)
      return netsuiteError(
        400,
        'Bad Request',
        'USER_ERROR',
        'Please enter value(s) for: Currency',
        'currency',
      );
    const trandate = body['trandate'];
    if (typeof trandate !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(trandate))
      return netsuiteError(400, 'Bad Request', 'INVALID_FLD_VALUE', 'Invalid trandate', 'trandate');
    const items = ((body['line'] as { items?: unknown[] } | undefined)?.items ?? []) as Array<
      Record<string, unknown>
    >;
    const lines: StoredJournalLine[] = [];
    for (const [i, item] of items.entries()) {
      const account = ref(item['account']);
      if (!account || (this.accounts && !this.accounts.has(account))) {
        return netsuiteError(
          400,
          'Bad Request',
          'INVALID_KEY_OR_REF',
          `Invalid account reference key ${account ?? '(none)'}.`,
          `line.items[${i}].account`,
        );
      }
      const debit = item['debit'] === undefined ? null : String(item['debit']);
      const credit = item['credit'] === undefined ? null : String(item['credit']);
      const amount = debit ?? credit;
      const scaled = amount === null ? null : decimalToScaled(amount, SCALE);
      if ((debit === null) === (credit === null) || scaled === null || scaled <= 0n) {
        return netsuiteError(
          400,
          'Bad Request',
          'INVALID_FLD_VALUE',
          'Each line needs exactly one positive debit or credit with at most 2 decimals.',
          `line.items[${i}]`,
        );
      }
      lines.push({
        account,
        debit,
        credit,
        memo: typeof item['memo'] === 'string' ? item['memo'] : null,
        department: ref(item['department']),
        customer: typeof item['custcol_saldo_customer'] === 'string' ? item['custcol_saldo_customer'] : null,
        item: typeof item['custcol_saldo_item'] === 'string' ? item['custcol_saldo_item'] : null,
      });
    }
    const existing = this.journals.get(externalId);
    // Without ?replace=line NetSuite keeps the existing lines and adds the sent ones.
    const allLines =
      existing && request.query.get('replace') !== 'line' ? [...existing.lines, ...lines] : lines;
    if (allLines.length < 2)
      return netsuiteError(
        400,
        'Bad Request',
        'USER_ERROR',
        'You must enter at least two line items for this transaction.',
        'line',
      );
    const total = (side: 'debit' | 'credit') =>
      allLines.reduce((s, l) => s + (l[side] ? decimalToScaled(l[side]!, SCALE)! : 0n), 0n);
    if (total('debit') !== total('credit')) {
      return netsuiteError(
        400,
        'Bad Request',
        'USER_ERROR',
        'The transaction is out of balance: total debits must equal total credits.',
        'line',
      );
    }
    const journal: StoredJournal = {
      id: existing?.id ?? (this.nextId += 1),
      externalId,
      subsidiary,
      currency,
      trandate,
      memo: typeof body['memo'] === 'string' ? body['memo'] : null,
      tenant: typeof body['custbody_saldo_tenant'] === 'string' ? body['custbody_saldo_tenant'] : null,
      lines: allLines,
      lastModified: this.stamp(),
      writes: (existing?.writes ?? 0) + 1,
    };
    this.journals.set(externalId, journal);
    return {
      status: 204,
      headers: { location: `${this.url}/services/rest/record/v1/journalEntry/${journal.id}` },
    };
  }

  private suiteql(request: StandinRequest): StandinReply {
    if (!/transient/i.test(String(request.headers.prefer ?? ''))) {
      return netsuiteError(
        400,
        'Bad Request',
        'INVALID_PARAMETER',
        'SuiteQL queries need the header Prefer: transient.',
      );
    }
    let q: string;
    try {
      q = String((JSON.parse(request.body) as { q?: unknown }).q ?? '');
    } catch {
      return netsuiteError(400, 'Bad Request', 'INVALID_CONTENT', 'The request body is not valid JSON.');
    }
    const limit = Math.min(1000, Number(request.query.get('limit') ?? 1000));
    const offset = Number(request.query.get('offset') ?? 0);
    const normalized = q.replace(/\s+/g, ' ').trim();
    const customers = this.customerQuery(normalized);
    if (customers === 'unknown-column')
      return netsuiteError(
        400,
        'Bad Request',
        'INVALID_SEARCH',
        `Invalid search query: Unknown identifier in ${q.slice(0, 200)}`,
      );
    const rows = customers ?? this.runQuery(normalized);
    if (!rows)
      return netsuiteError(400, 'Bad Request', 'INVALID_SEARCH', `Invalid search query: ${q.slice(0, 200)}`);
    const page = rows.slice(offset, offset + limit);
    return {
      status: 200,
      body: {
        links: [],
        count: page.length,
        hasMore: offset + page.length < rows.length,
        items: page.map((r) => ({ links: [], ...r })),
        offset,
        totalResults: rows.length,
      },
    };
  }

  /** The SuiteQL shapes erp-sync issues (reconciliation totals, changes since a time, document statuses); null for anything else. */
  private runQuery(q: string): Array<Record<string, string>> | null {
    const totals =
      /^SELECT t\.currency AS currency, tl\.account AS account, SUM\(tl\.debitforeignamount\) AS debit, SUM\(tl\.creditforeignamount\) AS credit FROM transaction t INNER JOIN transactionline tl ON tl\.transaction = t\.id WHERE t\.type = 'Journal' AND t\.custbody_saldo_tenant = '((?:[^']|'')*)' AND t\.trandate = TO_DATE\('(\d{4}-\d{2}-\d{2})', 'YYYY-MM-DD'\) GROUP BY t\.currency, tl\.account$/.exec(
        q,
      );
    if (totals) {
      const tenant = totals[1]!.replace(/''/g, "'");
      const sums = new Map<string, { currency: string; account: string; debit: bigint; credit: bigint }>();
      for (const j of this.journals.values()) {
        if (j.tenant !== tenant || j.trandate !== totals[2]) continue;
        for (const l of j.lines) {
          const key = `${j.currency}/${l.account}`;
          const sum = sums.get(key) ?? { currency: j.currency, account: l.account, debit: 0n, credit: 0n };
          sum.debit += l.debit ? decimalToScaled(l.debit, SCALE)! : 0n;
          sum.credit += l.credit ? decimalToScaled(l.credit, SCALE)! : 0n;
          sums.set(key, sum);
        }
      }
      return [...sums.values()].map((s) => ({
        currency: s.currency,
        account: s.account,
        debit: scaledToDecimal(s.debit, SCALE),
        credit: scaledToDecimal(s.credit, SCALE),
      }));
    }
    const documents =
      /^SELECT t\.tranid AS tranid, t\.type AS type, t\.status AS status FROM transaction t WHERE t\.type IN \('CustInvc', 'SalesOrd'\) AND t\.tranid IN \(((?:'[^']*'(?:, )?)+)\)$/.exec(
        q,
      );
    if (documents) {
      const ids = new Set([...documents[1]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!));
      return [...this.documents.values()]
        .filter((d) => ids.has(d.tranid))
        .map((d) => ({ tranid: d.tranid, type: d.type, status: d.status }));
    }
    const changes =
      /^SELECT t\.id AS id, t\.externalid AS externalid, TO_CHAR\(t\.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS'\) AS lastmodified FROM transaction t WHERE t\.type = 'Journal' AND t\.lastmodifieddate > TO_TIMESTAMP\('([\d :-]+)', 'YYYY-MM-DD HH24:MI:SS'\) ORDER BY t\.lastmodifieddate, t\.id$/.exec(
        q,
      );
    if (changes) {
      return [...this.journals.values()]
        .filter((j) => j.lastModified > changes[1]!)
        .sort((a, b) => a.lastModified.localeCompare(b.lastModified) || a.id - b.id)
        .map((j) => ({ id: String(j.id), externalid: j.externalId, lastmodified: j.lastModified }));
    }
    return null;
  }

  private customerCatalog(): StandinReply {
    const properties: Record<string, unknown> = {
      id: { type: 'string', title: 'Internal ID' },
      externalId: { type: 'string', title: 'External ID' },
      lastModifiedDate: { type: 'string', format: 'date-time', title: 'Last Modified Date' },
    };
    for (const f of this.customerFields)
      properties[f.name] = { type: f.type, title: f.title, nullable: true };
    return { status: 200, body: { type: 'object', properties } };
  }

  private findCustomer(ref: string): StoredCustomer | undefined {
    if (ref.startsWith('eid:'))
      return [...this.customers.values()].find((c) => c.externalId === ref.slice(4));
    return this.customers.get(Number(ref));
  }

  /** PATCH customer/{id} (update), PUT customer/eid:{externalId} (upsert): 204 with Location. */
  private writeCustomer(ref: string, request: StandinRequest): StandinReply {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(request.body) as Record<string, unknown>;
    } catch {
      return netsuiteError(400, 'Bad Request', 'INVALID_CONTENT', 'The request body is not valid JSON.');
    }
    for (const [name, value] of Object.entries(body)) {
      if (name === 'externalId') continue;
      const field = this.customerFields.find((f) => f.name === name);
      if (!field)
        return netsuiteError(
          400,
          'Bad Request',
          'INVALID_KEY_OR_REF',
          `Invalid field ${name}: not a field of customer.`,
          name,
        );
      if (value !== null && typeof value !== 'string')
        return netsuiteError(
          400,
          'Bad Request',
          'INVALID_FLD_VALUE',
          `Invalid value for field ${name}.`,
          name,
        );
    }
    let found = this.findCustomer(ref);
    if (!found && !ref.startsWith('eid:'))
      return netsuiteError(404, 'Not Found', 'NONEXISTENT_ID', `Record customer ${ref} was not found.`);
    const fields = Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'externalId')) as Record<
      string,
      string | null
    >;
    found = this.editCustomer(found ? { id: found.id } : { externalId: ref.slice(4) }, fields);
    found.writes += 1;
    return { status: 204, headers: { location: `${this.url}/services/rest/record/v1/customer/${found.id}` } };
  }

  private customerRecord(c: StoredCustomer): unknown {
    return {
      id: String(c.id),
      externalId: c.externalId,
      lastModifiedDate: `${c.lastModified.replace(' ', 'T')}Z`,
      ...c.fields,
    };
  }

  /**
   * `SELECT id, externalid, <columns>, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodified
   *  FROM customer WHERE (lastmodifieddate > TO_TIMESTAMP('t', …) OR (lastmodifieddate = TO_TIMESTAMP('t', …) AND id > n))
   *  ORDER BY lastmodifieddate, id` (a keyset):
   * columns are field names in lower case; an unknown one is an invalid query, as in NetSuite.
   */
  private customerQuery(q: string): Array<Record<string, string>> | null | 'unknown-column' {
    const m =
      /^SELECT id, externalid, ((?:[a-z_0-9]+, )*)TO_CHAR\(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS'\) AS lastmodified FROM customer WHERE \(lastmodifieddate > TO_TIMESTAMP\('([\d :-]+)', 'YYYY-MM-DD HH24:MI:SS'\) OR \(lastmodifieddate = TO_TIMESTAMP\('([\d :-]+)', 'YYYY-MM-DD HH24:MI:SS'\) AND id > (\d+)\)\) ORDER BY lastmodifieddate, id$/.exec(
        q,
      );
    if (!m || m[2] !== m[3]) return null;
    const afterId = Number(m[4]);
    const columns = m[1]!.split(', ').filter(Boolean);
    const byColumn = new Map(this.customerFields.map((f) => [f.name.toLowerCase(), f.name]));
    if (columns.some((c) => !byColumn.has(c))) return 'unknown-column';
    return [...this.customers.values()]
      .filter((c) => c.lastModified > m[2]! || (c.lastModified === m[2]! && c.id > afterId))
      .sort((a, b) => a.lastModified.localeCompare(b.lastModified) || a.id - b.id)
      .map((c) => ({
        id: String(c.id),
        externalid: c.externalId ?? '',
        ...Object.fromEntries(columns.map((col) => [col, c.fields[byColumn.get(col)!] ?? ''])),
        lastmodified: c.lastModified,
      }));
  }

  private toRecord(j: StoredJournal): unknown {
    return {
      id: String(j.id),
      externalId: j.externalId,
      subsidiary: { id: j.subsidiary },
      currency: { id: j.currency },
      trandate: j.trandate,
      memo: j.memo,
      custbody_saldo_tenant: j.tenant,
      line: { items: j.lines },
    };
  }

  /** Second resolution, as SuiteQL's TO_CHAR prints it; never before a time a test set (its clock only moves forward). */
  private lastStamp = '';
  private stamp(): string {
    const now = new Date().toISOString().slice(0, 19).replace('T', ' ');
    return now > this.lastStamp ? now : this.lastStamp;
  }
}
