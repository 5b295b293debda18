// docker/healthcheck.js, the images' HEALTHCHECK, against a real gRPC health service and a real
// HTTP server on this machine: healthy only on SERVING / HTTP 200, unhealthy otherwise.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const SERVICE = 'saldo.ledger.v1.LedgerService';

function runCheck(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['docker/healthcheck.js', ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 20_000 },
      (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
    );
  });
}

describe('docker/healthcheck.js', () => {
  describe('grpc', () => {
    const health = new HealthImplementation({ '': 'SERVING', [SERVICE]: 'SERVING' });
    const server = new Server();
    let port = 0;

    beforeAll(async () => {
      health.addToServer(server);
      port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      );
    });
    afterAll(() => server.forceShutdown());

    it('is healthy when the service is SERVING, at the address of the variable (0.0.0.0 → 127.0.0.1)', async () => {
      const result = await runCheck(['grpc', 'LEDGER_GRPC_URL', '0.0.0.0:1', SERVICE], {
        LEDGER_GRPC_URL: `0.0.0.0:${port}`,
      });
      expect(result).toEqual({ code: 0, stdout: `127.0.0.1:${port} ${SERVICE}: SERVING\n` });
    });

    it('falls back to the default address when the variable is unset', async () => {
      const result = await runCheck(['grpc', 'SALDO_TEST_UNSET_VARIABLE', `0.0.0.0:${port}`]);
      expect(result.code).toBe(0);
    });

    it('is unhealthy while the service is NOT_SERVING (draining), or unknown', async () => {
      health.setStatus(SERVICE, 'NOT_SERVING');
      try {
        const draining = await runCheck(['grpc', 'X', `127.0.0.1:${port}`, SERVICE]);
        expect(draining).toEqual({ code: 1, stdout: `127.0.0.1:${port} ${SERVICE}: NOT_SERVING\n` });
      } finally {
        health.setStatus(SERVICE, 'SERVING');
      }
      const unknown = await runCheck(['grpc', 'X', `127.0.0.1:${port}`, 'saldo.nope.v1.Nope']);
      expect(unknown.code).toBe(1);
    });

    it('is unhealthy when nothing answers', async () => {
      const closed = new Server();
      const freePort = await new Promise<number>((resolve, reject) =>
        closed.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      );
      closed.forceShutdown();
      const result = await runCheck(['grpc', 'X', `127.0.0.1:${freePort}`]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/no answer/);
    });
  });

  describe('http', () => {
    let status = 200;
    const server = http.createServer((request, response) => {
      response.writeHead(request.url === '/healthz' ? status : 404);
      response.end();
    });
    let port = 0;

    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('is healthy on 200 from the path, on the port of the variable', async () => {
      const result = await runCheck(['http', 'ERP_SYNC_HTTP_PORT', '1', '/healthz'], {
        ERP_SYNC_HTTP_PORT: String(port),
      });
      expect(result).toEqual({ code: 0, stdout: `127.0.0.1:${port} /healthz: HTTP 200\n` });
    });

    it('is unhealthy on any other status or another path', async () => {
      status = 503;
      try {
        expect((await runCheck(['http', 'X', String(port), '/healthz'])).code).toBe(1);
      } finally {
        status = 200;
      }
      expect((await runCheck(['http', 'X', String(port), '/nope'])).code).toBe(1);
    });
  });

  it('refuses bad usage with exit 2', async () => {
    expect((await runCheck([])).code).toBe(2);
    expect((await runCheck(['http', 'X', '9466', 'no-slash'])).code).toBe(2);
  });
});
