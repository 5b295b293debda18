import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What every stand-in shares: a tiny HTTP server, JSON replies, concurrency and rate accounting. */
export interface StandinRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface StandinReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface StandinStats {
  requests: number;
  inFlight: number;
  maxInFlight: number;
  throttled: number;
}

export abstract class StandinServer {
  private server: Server | undefined;
  private forced: { remaining: number; retryAfterS: number | null } = { remaining: 0, retryAfterS: null };
  private failing = { remaining: 0, status: 503 };
  protected latencyMs = 0;
  /** True when the subclass waits out the latency itself (inside its own concurrency accounting). */
  protected latencyInHandler = false;
  readonly counters: StandinStats = { requests: 0, inFlight: 0, maxInFlight: 0, throttled: 0 };
  url = '';

  protected abstract handle(request: StandinRequest): Promise<StandinReply> | StandinReply;
  /** The vendor's 429 body. */
  protected abstract throttleBody(): unknown;

  async listen(port = 0, host = '127.0.0.1'): Promise<this> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    this.url = `http://${host}:${address.port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The next `count` requests get 429 (with Retry-After when given): a throttling storm. */
  throttleNext(count: number, retryAfterS: number | null = 1): void {
    this.forced = { remaining: count, retryAfterS };
  }

  /** The next `count` requests fail with `status` (a 5xx storm: the vendor is down for a while). */
  failNext(count: number, status = 503): void {
    this.failing = { remaining: count, status };
  }

  /** Added to every request's handling time, so concurrent requests really overlap. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  resetCounters(): void {
    Object.assign(this.counters, { requests: 0, maxInFlight: this.counters.inFlight, throttled: 0 });
  }

  protected delay(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.latencyMs));
  }

  protected throttled(retryAfterS: number | null): StandinReply {
    this.counters.throttled += 1;
    return {
      status: 429,
      headers: retryAfterS === null ? {} : { 'retry-after': String(retryAfterS) },
      body: this.throttleBody(),
    };
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests += 1;
    this.counters.inFlight += 1;
    this.counters.maxInFlight = Math.max(this.counters.maxInFlight, this.counters.inFlight);
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const url = new URL(req.url ?? '/', 'http://standin');
      const request = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      let reply: StandinReply;
      if (this.forced.remaining > 0) {
        this.forced.remaining -= 1;
        reply = this.throttled(this.forced.retryAfterS);
      } else if (this.failing.remaining > 0) {
        this.failing.remaining -= 1;
        reply = {
          status: this.failing.status,
          body: { error: 'Service Unavailable', description: 'try again later' },
        };
      } else {
        reply = await this.handle(request);
      }
      if (this.latencyMs > 0 && !this.latencyInHandler) await this.delay();
      const text =
        reply.body === undefined
          ? ''
          : typeof reply.body === 'string'
            ? reply.body
            : JSON.stringify(reply.body);
      res.writeHead(reply.status, {
        ...(text ? { 'content-type': 'application/json' } : {}),
        ...reply.headers,
      });
      res.end(text);
    } catch (error) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'standin failure', detail: (error as Error).message }));
    } finally {
      this.counters.inFlight -= 1;
    }
  }
}

/** A token bucket: `perSecond` requests a second with a burst of `burst`; answers the wait in seconds. */
export class RateLimit {
  private tokens: number;
  private updatedAt = Date.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** null when allowed, else the Retry-After in whole seconds. */
  take(): number | null {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return null;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond));
  }
}

/**
 * JSON.parse that keeps every number as its exact source text (a string): the stand-ins check money
 * the way a vendor does, never through a float.
 */
export function parseJsonExact(text: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i;
      while (j < text.length && /[-+0-9.eE]/.test(text[j]!)) j += 1;
      out += JSON.stringify(text.slice(i, j));
      i = j - 1;
    } else out += c;
  }
  return JSON.parse(out);
}

/** Decimal text with at most `scale` places → scaled bigint; null if not a plain decimal. */
export function decimalToScaled(text: string, scale: number): bigint | null {
  const m = /^(-)?(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return null;
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  if (fraction.length > scale) return null;
  const v = BigInt(`${m[2]}${fraction.padEnd(scale, '0')}`);
  return m[1] ? -v : v;
}

/** Scaled bigint → the shortest decimal text ("1500", "15.5"), as SuiteQL prints numbers. */
export function scaledToDecimal(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}
