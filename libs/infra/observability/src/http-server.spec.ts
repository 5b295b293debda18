import { Counter } from 'prom-client';
import { createMetricsRegistry, startObservabilityServer, type HealthCheck } from './index';

describe('startObservabilityServer', () => {
  it('serves /metrics, /healthz and /readyz, and is not ready only when a critical check fails', async () => {
    const registry = createMetricsRegistry('test-service', { defaultMetrics: false });
    new Counter({ name: 'saldo_test_things_total', help: 'things', registers: [registry] }).inc(3);
    let databaseUp = true;
    let pubsubUp = true;
    const checks: HealthCheck[] = [
      {
        name: 'database',
        critical: true,
        check: async () => ({ ok: databaseUp, detail: databaseUp ? 'reachable' : 'down' }),
      },
      {
        name: 'relay',
        critical: false,
        check: async () => ({ ok: pubsubUp, detail: pubsubUp ? 'leader' : 'retrying' }),
      },
      { name: 'slow', critical: false, check: () => new Promise(() => undefined) },
    ];
    const server = await startObservabilityServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      readiness: checks,
      checkTimeoutMs: 100,
    });
    try {
      const metrics = await fetch(`${server.url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('saldo_test_things_total{service="test-service"} 3');
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

      const degraded = await fetch(`${server.url}/readyz`);
      expect(degraded.status).toBe(200);
      const body = (await degraded.json()) as {
        status: string;
        checks: Record<string, { ok: boolean; detail: string }>;
      };
      expect(body.status).toBe('degraded'); // the hanging check timed out, but it is not critical
      expect(body.checks['slow']).toMatchObject({ ok: false, detail: 'no answer within 100 ms' });

      pubsubUp = false;
      databaseUp = false;
      const notReady = await fetch(`${server.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect(((await notReady.json()) as { status: string }).status).toBe('not_ready');

      expect((await fetch(`${server.url}/other`)).status).toBe(404);
      expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
  });
});
