import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';

export { SpanKind };

/** Header-like key/value pairs: HTTP headers, Pub/Sub attributes, gRPC metadata as an object. */
export type Carrier = Record<string, string>;

const TRACER_NAME = '@saldo/tracing';

/**
 * The active trace context as W3C headers (`traceparent`, `tracestate`), to add to an outgoing
 * HTTP request, gRPC call or Pub/Sub message; {} when no span is active or tracing is off.
 */
export function injectContext(carrier: Carrier = {}, from: Context = context.active()): Carrier {
  propagation.inject(from, carrier);
  return carrier;
}

/** The trace context a caller sent (by its `traceparent`), as the parent for this side's span. */
export function extractContext(get: (key: string) => string | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, undefined, {
    keys: () => ['traceparent', 'tracestate'],
    get: (_carrier, key) => get(key),
  });
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent: an extracted remote context; default: the active one. */
  parent?: Context;
  links?: Link[];
}

/**
 * Runs fn inside a new active span (so nested calls, logs and propagation see it) and ends it when
 * fn settles; an error marks the span and is rethrown unchanged. With tracing off the span is a
 * no-op and this is one extra function call.
 */
export function withSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  const tracer = trace.getTracer(TRACER_NAME);
  const parent = options.parent ?? context.active();
  return tracer.startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** `trace_id` and `span_id` of the active span, for log lines (a pino mixin); {} when none. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}
