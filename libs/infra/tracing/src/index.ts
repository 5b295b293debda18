// @saldo/tracing: OpenTelemetry distributed tracing for every service, off unless configured.
export { initTracing, tracingSettings, type Tracing, type TracingSettings } from './init';
export {
  extractContext,
  injectContext,
  traceFields,
  withSpan,
  SpanKind,
  type Carrier,
  type SpanOptions,
} from './propagation';
export { GrpcTracingInterceptor } from './grpc-interceptor';
export { producerAttributes, rememberTraceContext, startConsumerSpan, withConsumerSpan } from './messaging';
export { REQUEST_ID_KEY, currentRequestId, requestFields, withRequestId } from './request-id';
