// @saldo/tracing in one process: settings, W3C propagation in and out, spans and their parents
// (through their contexts), the log fields, and the relay's remembered context. The exporter
// points at a port nobody listens on; tools/tracing/propagation.e2e-spec.ts reads real exports.
import { context, trace } from '@opentelemetry/api';
import {
  extractContext,
  initTracing,
  injectContext,
  producerAttributes,
  rememberTraceContext,
  SpanKind,
  traceFields,
  tracingSettings,
  withSpan,
  type Tracing,
} from './index';

describe('tracingSettings', () => {
  it('is off by default, on with an endpoint or SALDO_TRACING=on, and off=off wins', () => {
    expect(tracingSettings('svc', {})).toEqual({ enabled: false, serviceName: 'svc', endpoint: undefined });
    expect(tracingSettings('svc', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://agent:4318' })).toMatchObject({
      enabled: true,
      endpoint: 'http://agent:4318',
    });
    expect(tracingSettings('svc', { SALDO_TRACING: 'on' })).toMatchObject({
      enabled: true,
      endpoint: 'http://localhost:4318',
    });
    expect(
      tracingSettings('svc', { SALDO_TRACING: 'off', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://agent:4318' })
        .enabled,
    ).toBe(false);
    expect(tracingSettings('svc', { OTEL_SERVICE_NAME: 'other' }).serviceName).toBe('other');
    expect(() => tracingSettings('svc', { SALDO_TRACING: 'yes' })).toThrow(
      /SALDO_TRACING: expected on or off/,
    );
  });

  it('off: no span, no headers, no log fields', async () => {
    const tracing = initTracing('svc', {});
    await withSpan('nothing', {}, () => {
      expect(injectContext()).toEqual({});
      expect(traceFields()).toEqual({});
    });
    expect(producerAttributes('publish', 'tx-1', {})).toEqual({});
    await tracing.shutdown();
  });
});

describe('on', () => {
  let tracing: Tracing;

  beforeAll(() => {
    tracing = initTracing('svc', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
  });
  afterAll(() => tracing.shutdown());

  const caller = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) };
  const traceparent = `00-${caller.traceId}-${caller.spanId}-01`;

  it("continues a caller's traceparent and sends its own span on", async () => {
    const parent = extractContext((key) => (key === 'traceparent' ? traceparent : undefined));
    await withSpan('server', { kind: SpanKind.SERVER, parent }, async (span) => {
      const own = span.spanContext();
      expect(own.traceId).toBe(caller.traceId);
      expect(own.spanId).not.toBe(caller.spanId);
      expect(traceFields()).toEqual({ trace_id: caller.traceId, span_id: own.spanId });
      await new Promise((resolve) => setTimeout(resolve, 1)); // the context follows async work
      expect(injectContext()['traceparent']).toBe(`00-${caller.traceId}-${own.spanId}-01`);
    });
    expect(trace.getSpan(context.active())).toBeUndefined();
  });

  it('marks a failing span and rethrows the error unchanged', async () => {
    const error = new Error('refused');
    await expect(withSpan('fails', {}, () => Promise.reject(error))).rejects.toBe(error);
  });

  it("publishes a remembered call's event in that call's trace", async () => {
    const parent = extractContext((key) => (key === 'traceparent' ? traceparent : undefined));
    let serverSpanId = '';
    await withSpan('server', { kind: SpanKind.SERVER, parent }, (span) => {
      serverSpanId = span.spanContext().spanId;
      rememberTraceContext('tx-42');
    });
    const attributes = producerAttributes('publish', 'tx-42', {});
    expect(attributes['traceparent']).toMatch(new RegExp(`^00-${caller.traceId}-[0-9a-f]{16}-01$`));
    expect(attributes['traceparent']).not.toContain(serverSpanId);
    // An unknown key starts a trace of its own.
    expect(producerAttributes('publish', 'tx-unknown', {})['traceparent']).not.toContain(caller.traceId);
  });
});
