import { injectContext, SpanKind, withSpan } from '@saldo/tracing';
import type { ConnectorName, ExternalWrite } from '../store/sync-store';
import { parseRetryAfter, type AdaptiveLimiter } from './limiter';

export interface VendorRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  /** Path and query, e.g. "/api/v2/users/create_or_update". */
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Writes are audited with this body (never with credentials); reads are not. */
  audit?: {
    syncRecordId: string | null;
    requestBody: unknown;
    externalIdOf?: (response: VendorResponse) => string | null;
  };
  priority?: number;
}

export interface VendorResponse {
  status: number;
  headers: Headers;
  text: string;
  retryAfterMs: number | undefined;
}

export class VendorNetworkError extends Error {}

/**
 * One HTTP call to a vendor, under its limiter: waits for a slot, sends with a timeout, feeds 429s
 * and Retry-After back to the limiter, and writes the audit row of every write (also failed ones).
 */
export class VendorHttp {
  constructor(
    private readonly options: {
      connector: ConnectorName;
      baseUrl: string;
      limiter: AdaptiveLimiter;
      timeoutMs: number;
      audit: (write: ExternalWrite) => Promise<void>;
    },
  ) {}

  async send(request: VendorRequest): Promise<VendorResponse> {
    const release = await this.options.limiter.acquire(request.priority ?? 0);
    const started = Date.now();
    let response: VendorResponse | undefined;
    let failure: string | null = null;
    try {
      const url = new URL(request.path, this.options.baseUrl);
      // A CLIENT span per vendor request; its traceparent goes along as a header.
      const res = await withSpan(
        `${this.options.connector} ${request.method}`,
        {
          kind: SpanKind.CLIENT,
          attributes: { 'http.request.method': request.method, 'url.full': url.toString() },
        },
        async (span) => {
          const answer = await fetch(url, {
            method: request.method,
            headers: injectContext({ ...request.headers }),
            body: request.body,
            signal: AbortSignal.timeout(this.options.timeoutMs),
          });
          span.setAttribute('http.response.status_code', answer.status);
          return answer;
        },
      );
      response = {
        status: res.status,
        headers: res.headers,
        text: await res.text(),
        retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
      };
      if (res.status === 429) this.options.limiter.onThrottle(response.retryAfterMs);
      else if (res.status < 500) this.options.limiter.onSuccess();
      return response;
    } catch (error) {
      failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new VendorNetworkError(`${this.options.connector} ${request.method} ${request.path}: ${failure}`);
    } finally {
      release();
      if (request.audit) {
        await this.options.audit({
          connector: this.options.connector,
          syncRecordId: request.audit.syncRecordId,
          method: request.method,
          path: request.path,
          requestBody: request.audit.requestBody,
          responseCode: response?.status ?? null,
          externalId:
            response && response.status < 300 ? (request.audit.externalIdOf?.(response) ?? null) : null,
          error: failure ?? (response && response.status >= 300 ? response.text.slice(0, 2_000) : null),
          durationMs: Date.now() - started,
        });
      }
    }
  }
}

/** How a non-2xx answer is treated: throttled, retryable, or a refusal of the record itself. */
export function classifyStatus(status: number): 'throttled' | 'retry' | 'reject' {
  if (status === 429) return 'throttled';
  if (status >= 500 || status === 408 || status === 409 || status === 401) return 'retry';
  return 'reject';
}
