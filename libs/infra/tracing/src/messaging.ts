import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Attributes,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { extractContext, injectContext, withSpan, type Carrier } from './propagation';

const TRACER_NAME = '@saldo/tracing';

/**
 * Runs fn (the handling of one received message) in a CONSUMER span whose parent is the trace
 * context the producer put in the message attributes (`traceparent`); a new trace when none.
 */
export function withConsumerSpan<T>(
  name: string,
  attributes: Readonly<Record<string, string>> | undefined,
  spanAttributes: Attributes,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  const parent = extractContext((key) => attributes?.[key]);
  return withSpan(name, { kind: SpanKind.CONSUMER, parent, attributes: spanAttributes }, fn);
}

/** A CONSUMER span for a message only taken in here (stored for later work): the caller ends it. */
export function startConsumerSpan(
  name: string,
  attributes: Readonly<Record<string, string>> | undefined,
  spanAttributes: Attributes,
): Span {
  const parent = extractContext((key) => attributes?.[key]);
  return trace
    .getTracer(TRACER_NAME)
    .startSpan(name, { kind: SpanKind.CONSUMER, attributes: spanAttributes }, parent);
}

// Work that continues later in the same process without its context (the ledger's outbox: a
// posting commits in a gRPC call, the relay publishes its event moments later) finds the trace of
// the call that caused it here, by a key such as the transaction id. Bounded; only filled while
// tracing is on; an entry is gone after MAX_REMEMBERED newer ones (the relay then starts a trace
// of its own), and across instances (another instance's relay) it is simply not found.
const MAX_REMEMBERED = 10_000;
const remembered = new Map<string, SpanContext>();
let remembering = false;

/** Turned on by initTracing; off (the default) makes remember/producer helpers no-ops. */
export function setRemembering(on: boolean): void {
  remembering = on;
  if (!on) remembered.clear();
}

/** Keeps the active span's context under key, for producerAttributes(key) later. */
export function rememberTraceContext(
  key: string,
  spanContext = trace.getSpan(context.active())?.spanContext(),
): void {
  if (!remembering || !key || !spanContext) return;
  remembered.delete(key);
  remembered.set(key, spanContext);
  if (remembered.size > MAX_REMEMBERED) remembered.delete(remembered.keys().next().value as string);
}

/**
 * The W3C attributes for one message published on behalf of key: a PRODUCER span (child of the
 * remembered context of key, or of the active span, or a new trace) whose traceparent the
 * consumer continues. {} when tracing is off.
 */
export function producerAttributes(
  name: string,
  key: string | undefined,
  spanAttributes: Attributes,
): Carrier {
  if (!remembering) return {};
  const found = key ? remembered.get(key) : undefined;
  const parent = found ? trace.setSpanContext(ROOT_CONTEXT, found) : context.active();
  const span = trace
    .getTracer(TRACER_NAME)
    .startSpan(name, { kind: SpanKind.PRODUCER, attributes: spanAttributes }, parent);
  const carrier = injectContext({}, trace.setSpan(parent, span));
  span.end();
  return carrier;
}
