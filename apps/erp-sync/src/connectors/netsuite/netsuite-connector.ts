import { formatMinor } from '@saldo/ledger-domain';
import type { JournalContent } from '../../store/sync-store';
import type { ChangePage, Connector, ConnectorSchema, OutboundRecord, WriteResult } from '../connector';
import { classifyStatus, VendorNetworkError, type VendorHttp, type VendorResponse } from '../vendor-http';
import type { NetSuiteTokenSource } from './netsuite-auth';

const RECORD_PATH = '/services/rest/record/v1/journalEntry';
const SUITEQL_PATH = '/services/rest/query/v1/suiteql';
const SUITEQL_PAGE = 1_000;
const SUITEQL_MAX_PAGES = 100;

/**
 * NetSuite REST record API v1: journal entries upserted by external id
 * (`PUT /record/v1/journalEntry/eid:{externalId}?replace=line`: the line sublist is replaced, so a
 * summary that grew is rewritten whole, and a retry can never post twice), and SuiteQL reads.
 * Amounts go out as JSON numbers written from the exact decimal text (never through a float).
 */
export class NetSuiteConnector implements Connector<JournalContent> {
  readonly name = 'netsuite' as const;

  constructor(
    private readonly http: VendorHttp,
    private readonly tokens: NetSuiteTokenSource,
  ) {}

  async authenticate(): Promise<void> {
    this.tokens.invalidate();
    await this.tokens.get();
  }

  describeSchema(): ConnectorSchema {
    return {
      connector: 'netsuite',
      recordType: 'journalEntry',
      key: 'externalId (saldo-<tenant>-usage-<asset>-<product>-<period> or saldo-<tenant>-tx-<transaction>)',
      fields: [
        { name: 'subsidiary', type: 'ref', required: true, description: 'tenant subsidiary' },
        {
          name: 'currency',
          type: 'ref',
          required: true,
          description: 'NetSuite currency of the ledger asset',
        },
        {
          name: 'trandate',
          type: 'date',
          required: true,
          description: 'transaction day, or summary period start (UTC)',
        },
        { name: 'memo', type: 'text', required: false, description: 'what the entry records' },
        {
          name: 'custbody_saldo_tenant',
          type: 'text',
          required: true,
          description: 'Saldo tenant (reconciliation key)',
        },
        { name: 'line.items[].account', type: 'ref', required: true, description: 'ERP account of the line' },
        {
          name: 'line.items[].debit|credit',
          type: 'currency',
          required: true,
          description: 'amount in major units',
        },
        { name: 'line.items[].department', type: 'ref', required: false, description: 'tenant department' },
        {
          name: 'line.items[].custcol_saldo_customer',
          type: 'text',
          required: false,
          description: 'wallet owner of a prepayment line',
        },
        {
          name: 'line.items[].custcol_saldo_item',
          type: 'text',
          required: false,
          description: 'item of the product (revenue, cost lines)',
        },
      ],
    };
  }

  async writeBatch(records: ReadonlyArray<OutboundRecord<JournalContent>>): Promise<WriteResult[]> {
    // Concurrency is the limiter's business: every record is sent at once and queues there.
    return Promise.all(records.map((record) => this.upsert(record)));
  }

  private async upsert(record: OutboundRecord<JournalContent>): Promise<WriteResult> {
    const journal = record.payload;
    if (journal.lines.length < 2)
      return {
        status: 'reject',
        error: `journal ${journal.externalId} has ${journal.lines.length} non-zero line(s)`,
      };
    const body = journalEntryBody(journal);
    const path = `${RECORD_PATH}/eid:${encodeURIComponent(journal.externalId)}?replace=line`;
    let response: VendorResponse;
    try {
      response = await this.authorized((token) =>
        this.http.send({
          method: 'PUT',
          path,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body: body.text,
          priority: 0,
          audit: { syncRecordId: record.syncRecordId, requestBody: body.audit, externalIdOf: internalIdOf },
        }),
      );
    } catch (error) {
      if (error instanceof VendorNetworkError)
        return { status: 'retry', error: error.message, throttled: false };
      throw error;
    }
    if (response.status >= 200 && response.status < 300) {
      const id = internalIdOf(response);
      return id
        ? { status: 'ok', externalId: id }
        : { status: 'retry', error: 'NetSuite answered without a Location header', throttled: false };
    }
    const error = `NetSuite ${response.status} on journal ${journal.externalId}: ${describeNetSuiteError(response.text)}`;
    const kind = classifyStatus(response.status);
    if (kind === 'reject') return { status: 'reject', error };
    return { status: 'retry', error, retryAfterMs: response.retryAfterMs, throttled: kind === 'throttled' };
  }

  /** One page of a SuiteQL query (the hub reads customers page by page, below the ERP's priority). */
  async suiteqlPage(
    query: string,
    offset: number,
    limit: number,
    priority: number,
  ): Promise<{ items: Array<Record<string, string | null>>; hasMore: boolean }> {
    const response = await this.request(
      'POST',
      `${SUITEQL_PATH}?limit=${limit}&offset=${offset}`,
      { q: query },
      priority,
      {
        prefer: 'transient',
      },
    );
    if (response.status !== 200)
      throw new Error(`NetSuite SuiteQL ${response.status}: ${describeNetSuiteError(response.text)}`);
    const json = JSON.parse(response.text) as { items?: Array<Record<string, unknown>>; hasMore?: boolean };
    return {
      items: (json.items ?? []).map((item) =>
        Object.fromEntries(
          Object.entries(item)
            .filter(([k]) => k !== 'links')
            .map(([k, v]) => [k, v === null ? null : String(v)]),
        ),
      ),
      hasMore: json.hasMore === true,
    };
  }

  /** An authorized REST call (token renewed once on 401), for the hub's customer records. */
  request(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH',
    path: string,
    body: unknown,
    priority: number,
    headers: Record<string, string> = {},
  ): Promise<VendorResponse> {
    return this.authorized((token) =>
      this.http.send({
        method,
        path,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        priority,
        ...(method === 'GET' || path.includes('/suiteql')
          ? {}
          : { audit: { syncRecordId: null, requestBody: body } }),
      }),
    );
  }

  /** Runs a SuiteQL query (`Prefer: transient`), following pages; values come back as strings. */
  async suiteql(query: string): Promise<Array<Record<string, string | null>>> {
    const items: Array<Record<string, string | null>> = [];
    for (let page = 0; page < SUITEQL_MAX_PAGES; page += 1) {
      const response = await this.authorized((token) =>
        this.http.send({
          method: 'POST',
          path: `${SUITEQL_PATH}?limit=${SUITEQL_PAGE}&offset=${page * SUITEQL_PAGE}`,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json',
            prefer: 'transient',
          },
          body: JSON.stringify({ q: query }),
          priority: 0,
        }),
      );
      if (response.status !== 200)
        throw new Error(`NetSuite SuiteQL ${response.status}: ${describeNetSuiteError(response.text)}`);
      const json = JSON.parse(response.text) as { items?: Array<Record<string, unknown>>; hasMore?: boolean };
      for (const item of json.items ?? []) {
        items.push(
          Object.fromEntries(
            Object.entries(item)
              .filter(([k]) => k !== 'links')
              .map(([k, v]) => [k, v === null ? null : String(v)]),
          ),
        );
      }
      if (!json.hasMore) return items;
    }
    throw new Error(`SuiteQL result larger than ${SUITEQL_PAGE * SUITEQL_MAX_PAGES} rows: narrow the query`);
  }

  async readChanges(cursor: string | null, limit: number): Promise<ChangePage> {
    const since = cursor ?? '1970-01-01 00:00:00';
    if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(since))
      throw new Error(`bad NetSuite cursor "${since}"`);
    const rows = await this.suiteql(
      `SELECT t.id AS id, t.externalid AS externalid, TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodified ` +
        `FROM transaction t WHERE t.type = 'Journal' AND t.lastmodifieddate > TO_TIMESTAMP('${since}', 'YYYY-MM-DD HH24:MI:SS') ` +
        `ORDER BY t.lastmodifieddate, t.id`,
    );
    const page = rows.slice(0, limit);
    return {
      records: page.map((r) => ({
        externalId: r['id'] ?? '',
        key: r['externalid'] ?? null,
        changedAt: r['lastmodified'] ?? '',
        fields: r,
      })),
      cursor: page.length ? (page[page.length - 1]!['lastmodified'] ?? since) : cursor,
    };
  }

  /** One retry with a fresh token after a 401 (the token was revoked or expired early). */
  private async authorized(call: (token: string) => Promise<VendorResponse>): Promise<VendorResponse> {
    const first = await call(await this.tokens.get());
    if (first.status !== 401) return first;
    this.tokens.invalidate();
    return call(await this.tokens.get());
  }
}

function internalIdOf(response: VendorResponse): string | null {
  const location = response.headers.get('location');
  const match = location?.match(/\/journalEntry\/(\d+)$/);
  return match?.[1] ?? null;
}

/** The journal entry's JSON with amounts as exact decimal literals, and the same for the audit log. */
export function journalEntryBody(journal: JournalContent): { text: string; audit: unknown } {
  const items = journal.lines.map((line) => ({
    account: { id: line.account },
    ...(line.debitMinor > 0n
      ? { debit: decimal(line.debitMinor, journal.assetScale) }
      : { credit: decimal(line.creditMinor, journal.assetScale) }),
    memo: [line.role, line.customer, line.item].filter(Boolean).join(' '),
    ...(journal.department ? { department: { id: journal.department } } : {}),
    ...(line.customer ? { custcol_saldo_customer: line.customer } : {}),
    ...(line.item ? { custcol_saldo_item: line.item } : {}),
  }));
  const audit = {
    subsidiary: { id: journal.subsidiary },
    currency: { id: journal.currencyId },
    trandate: journal.tranDate,
    memo: journal.memo,
    custbody_saldo_tenant: journal.tenantId,
    line: { items },
  };
  const text = JSON.stringify(audit, (_key, value: unknown) =>
    value instanceof Decimal ? `\u0000${value.text}\u0000` : value,
  ).replace(/"\\u0000(-?\d+(?:\.\d+)?)\\u0000"/g, '$1');
  return {
    text,
    audit: JSON.parse(JSON.stringify(audit, (_k, v: unknown) => (v instanceof Decimal ? v.text : v))),
  };
}

class Decimal {
  constructor(readonly text: string) {}
}

function decimal(minor: bigint, scale: number): Decimal {
  return new Decimal(formatMinor(minor, scale));
}

/** NetSuite's RFC 9457 problem body with `o:errorDetails`, as one readable line. */
export function describeNetSuiteError(text: string): string {
  try {
    const json = JSON.parse(text) as {
      title?: string;
      'o:errorDetails'?: Array<{ detail?: string; 'o:errorCode'?: string; 'o:errorPath'?: string }>;
    };
    const details = (json['o:errorDetails'] ?? []).map((d) =>
      `${d['o:errorCode'] ?? 'ERROR'}${d['o:errorPath'] ? ` at ${d['o:errorPath']}` : ''}: ${d.detail ?? ''}`.trim(),
    );
    return details.length ? details.join('; ') : (json.title ?? text.slice(0, 500));
  } catch {
    return text.slice(0, 500) || '(empty body)';
  }
}
