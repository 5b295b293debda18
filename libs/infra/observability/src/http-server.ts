import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { evaluateReadiness, type HealthCheck } from './health';

export interface ObservabilityServerOptions {
  host: string;
  /** 0 picks a free port (tests); see `port` on the result. */
  port: number;
  registry: Registry;
  readiness: readonly HealthCheck[];
  /** Bound on each readiness check; default 2 000 ms. */
  checkTimeoutMs?: number;
}

export interface ObservabilityServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

const MAX_CONNECTIONS = 64;

/**
 * GET /metrics (Prometheus text format), /healthz (liveness: the process answers), /readyz
 * (readiness: every check, JSON; 503 when a critical check fails). Nothing else is served.
 */
export async function startObservabilityServer(
  options: ObservabilityServerOptions,
): Promise<ObservabilityServer> {
  const checkTimeoutMs = options.checkTimeoutMs ?? 2_000;
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return send(response, 405, 'text/plain', 'method not allowed\n');
    switch (path) {
      case '/metrics':
        return send(response, 200, options.registry.contentType, await options.registry.metrics());
      case '/healthz':
        return send(response, 200, 'application/json', `${JSON.stringify({ status: 'alive' })}\n`);
      case '/readyz': {
        const report = await evaluateReadiness(options.readiness, checkTimeoutMs);
        return send(
          response,
          report.status === 'not_ready' ? 503 : 200,
          'application/json',
          `${JSON.stringify(report)}\n`,
        );
      }
      default:
        return send(response, 404, 'text/plain', 'not found\n');
    }
  };
  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent)
        send(response, 500, 'text/plain', `${error instanceof Error ? error.message : String(error)}\n`);
      else response.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    port,
    url: `http://${shownHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(body);
}
