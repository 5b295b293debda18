import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@saldo/logging';
import { HubError, type HubService } from './hub-service';
import { HUB_CONNECTORS, MappingError, type HubConnector } from './mapping';

/**
 * The hub's operator API over HTTP/JSON (for the console): the same use cases as `saldo hub …`.
 * Served on its own port only when a token is configured; every request carries
 * `Authorization: Bearer <ERP_SYNC_HUB_API_TOKEN>` (compared in constant time). Routes and bodies:
 * docs/integration-hub.md "Operator API".
 */
const MAX_BODY_BYTES = 1_000_000;

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  handle(
    match: RegExpExecArray,
    query: URLSearchParams,
    body: Record<string, unknown>,
  ): Promise<[number, unknown]>;
}

const T = '([A-Za-z0-9_.:-]{1,128})';

export class HubApi {
  private server: Server | undefined;
  private readonly routes: Route[];
  url = '';

  constructor(
    hub: HubService,
    private readonly token: string,
    private readonly logger: Logger,
  ) {
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    const connector = (v: unknown): HubConnector => {
      if (typeof v !== 'string' || !(HUB_CONNECTORS as readonly string[]).includes(v))
        throw new HubError('INVALID', `connector must be one of ${HUB_CONNECTORS.join(', ')}`);
      return v as HubConnector;
    };
    const by = (body: Record<string, unknown>) => str(body['by']) ?? str(body['author']) ?? 'console';
    this.routes = [
      {
        method: 'GET',
        pattern: /^\/hub\/v1\/status$/,
        handle: async (_m, q) => [
          200,
          {
            ...(await hub.status(q.get('tenant') ?? undefined)),
            paused: await hub.paused(q.get('tenant') ?? undefined),
          },
        ],
      },
      { method: 'GET', pattern: /^\/hub\/v1\/schemas$/, handle: async () => [200, await hub.schemas()] },
      {
        method: 'GET',
        pattern: new RegExp(`^/hub/v1/tenants/${T}/mappings$`),
        handle: async (m) => [200, (await hub.listMappings(m[1]!)).map(({ mapping: _x, ...v }) => v)],
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/hub/v1/tenants/${T}/mappings/diff$`),
        handle: async (m, q) => [
          200,
          { lines: await hub.diff(m[1]!, Number(q.get('from')), Number(q.get('to'))) },
        ],
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/hub/v1/tenants/${T}/mappings/(active|\\d+)$`),
        handle: async (m) => [
          200,
          await hub.showMapping(m[1]!, m[2] === 'active' ? undefined : Number(m[2])),
        ],
      },
      {
        method: 'POST',
        pattern: new RegExp(`^/hub/v1/tenants/${T}/mappings$`),
        handle: async (m, _q, body) => [
          201,
          await hub.saveMapping(m[1]!, body['mapping'], by(body), str(body['comment']) ?? null),
        ],
      },
      {
        method: 'POST',
        pattern: new RegExp(`^/hub/v1/tenants/${T}/mappings/(\\d+)/restore$`),
        handle: async (m, _q, body) => [201, await hub.restore(m[1]!, Number(m[2]), by(body))],
      },
      {
        method: 'POST',
        pattern: new RegExp(`^/hub/v1/tenants/${T}/preview$`),
        handle: async (m, _q, body) => [
          200,
          await hub.preview(
            m[1]!,
            connector(body['connector']),
            String(body['externalId'] ?? ''),
            body['mapping'],
          ),
        ],
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/hub/v1/tenants/${T}/suggestions$`),
        handle: async (m, q) => {
          const to = q.get('to') ?? 'hub';
          return [
            200,
            await hub.suggest(m[1]!, connector(q.get('connector')), to === 'hub' ? 'hub' : connector(to)),
          ];
        },
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/hub/v1/tenants/${T}/customers/([^/]{1,256})$`),
        handle: async (m) => {
          const found = await hub.customer(m[1]!, decodeURIComponent(m[2]!));
          if (!found) throw new HubError('NOT_FOUND', `no customer ${m[2]}`);
          return [200, found];
        },
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/hub/v1/tenants/${T}/conflicts$`),
        handle: async (m, q) => [
          200,
          await hub.conflicts(
            m[1]!,
            q.get('customer') ?? undefined,
            Math.min(1_000, Number(q.get('limit') ?? 200)),
          ),
        ],
      },
      {
        method: 'GET',
        pattern: /^\/hub\/v1\/reviews$/,
        handle: async (_m, q) => [200, await hub.reviews(q.get('tenant'))],
      },
      {
        method: 'POST',
        pattern: /^\/hub\/v1\/reviews\/(\d+)\/(merge|split)$/,
        handle: async (m, _q, body) =>
          m[2] === 'merge'
            ? [200, await hub.reviewMerge(m[1]!, by(body))]
            : [200, (await hub.reviewSplit(m[1]!, by(body)), { id: m[1], state: 'split' })],
      },
      {
        method: 'GET',
        pattern: /^\/hub\/v1\/quarantine$/,
        handle: async (_m, q) => [200, await hub.quarantine(q.get('tenant'))],
      },
      {
        method: 'POST',
        pattern: /^\/hub\/v1\/quarantine\/(\d+)\/retry$/,
        handle: async (m) => [200, await hub.quarantineRetry(m[1]!)],
      },
      {
        method: 'POST',
        pattern: new RegExp(`^/hub/v1/tenants/${T}/sync$`),
        handle: async (m, _q, body) => {
          const list = Array.isArray(body['connectors']) ? body['connectors'].map(connector) : undefined;
          return [200, await hub.syncNow(m[1]!, list)];
        },
      },
    ];
  }

  async listen(port: number, host: string): Promise<this> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    this.url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private authorized(req: IncomingMessage): boolean {
    const given = Buffer.from(String(req.headers.authorization ?? ''));
    const expected = Buffer.from(`Bearer ${this.token}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (!this.authorized(req))
        return reply(401, { error: 'UNAUTHENTICATED', message: 'a valid bearer token is required' });
      const url = new URL(req.url ?? '/', 'http://hub');
      const route = this.routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
      if (!route)
        return reply(404, { error: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` });
      let body: Record<string, unknown> = {};
      if (req.method === 'POST') {
        let size = 0;
        const chunks: Buffer[] = [];
        for await (const chunk of req) {
          size += (chunk as Buffer).length;
          if (size > MAX_BODY_BYTES)
            return reply(413, { error: 'TOO_LARGE', message: `at most ${MAX_BODY_BYTES} bytes` });
          chunks.push(chunk as Buffer);
        }
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {
          return reply(400, { error: 'INVALID', message: 'the body is not JSON' });
        }
      }
      const [status, result] = await route.handle(route.pattern.exec(url.pathname)!, url.searchParams, body);
      reply(status, result);
    } catch (error) {
      if (error instanceof MappingError)
        return reply(422, { error: 'INVALID_MAPPING', problems: error.problems });
      if (error instanceof HubError)
        return reply(error.code === 'NOT_FOUND' ? 404 : error.code === 'BUSY' ? 409 : 400, {
          error: error.code,
          message: error.message,
        });
      this.logger.error({ err: error }, 'hub api failure');
      reply(500, { error: 'INTERNAL', message: (error as Error).message });
    }
  }
}
