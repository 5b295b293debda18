import { initTracing, SpanKind, withRequestId, withSpan } from '@saldo/tracing';
import pino from 'pino';
import { createLogger, logContext } from './logger';

describe('createLogger', () => {
  it('adds trace_id and span_id of the active span to every line (tracing on), nothing otherwise', async () => {
    const logger = createLogger('logging-spec', 'silent');
    const mixin = (logger as unknown as Record<symbol, () => Record<string, string>>)[pino.symbols.mixinSym];
    expect(mixin).toBe(logContext);
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

describe('request ids in logs', () => {
  it("carries the caller's request id, or a new one, on every line written while handling it", () => {
    const lines: string[] = [];
    const logger = pino({ mixin: logContext }, { write: (line: string) => lines.push(line) });
    withRequestId('req-42', () => logger.info('inside'));
    withRequestId('not valid!', () => logger.info('generated'));
    logger.info('outside');
    const [inside, generated, outside] = lines.map((line) => JSON.parse(line) as Record<string, string>);
    expect(inside?.['request_id']).toBe('req-42');
    expect(generated?.['request_id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(outside?.['request_id']).toBeUndefined();
  });
});
