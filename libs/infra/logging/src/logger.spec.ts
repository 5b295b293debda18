import { initTracing, SpanKind, traceFields, withSpan } from '@saldo/tracing';
import pino from 'pino';
import { createLogger } from './logger';

describe('createLogger', () => {
  it('adds trace_id and span_id of the active span to every line (tracing on), nothing otherwise', async () => {
    const logger = createLogger('logging-spec', 'silent');
    const mixin = (logger as unknown as Record<symbol, () => Record<string, string>>)[pino.symbols.mixinSym];
    expect(mixin).toBe(traceFields);
    expect(mixin?.()).toEqual({});
    const tracing = initTracing('logging-spec', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    try {
      await withSpan('work', { kind: SpanKind.INTERNAL }, (span) => {
        const { traceId, spanId } = span.spanContext();
        expect(mixin?.()).toEqual({ trace_id: traceId, span_id: spanId });
      });
    } finally {
      await tracing.shutdown();
    }
  });
});
