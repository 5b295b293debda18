// @saldo/observability: Prometheus metrics and the liveness/readiness HTTP endpoint every service exposes.
export { createMetricsRegistry } from './metrics';
export { startObservabilityServer } from './http-server';
export type { ObservabilityServer, ObservabilityServerOptions } from './http-server';
export { evaluateReadiness } from './health';
export type { HealthCheck, HealthCheckResult, ReadinessReport } from './health';
export { GrpcServerMetrics, GrpcMetricsInterceptor } from './grpc-metrics';
