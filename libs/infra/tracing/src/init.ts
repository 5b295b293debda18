import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { setRemembering } from './messaging';

/**
 * Tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set or
 * SALDO_TRACING=on (then the exporter's default, http://localhost:4318: a Datadog agent with OTLP
 * intake, or an OpenTelemetry collector). SALDO_TRACING=off wins over an endpoint. Off: nothing is
 * registered, the API's no-op tracer stays in place, and a span costs one function call.
 */
export interface TracingSettings {
  enabled: boolean;
  serviceName: string;
  /** Where spans go (for the start log line); undefined when off. */
  endpoint: string | undefined;
}

export function tracingSettings(service: string, env: NodeJS.ProcessEnv = process.env): TracingSettings {
  const endpoint = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  const switchValue = (env['SALDO_TRACING'] ?? '').toLowerCase();
  if (switchValue !== '' && switchValue !== 'on' && switchValue !== 'off')
    throw new Error(`SALDO_TRACING: expected on or off, got "${env['SALDO_TRACING']}"`);
  const enabled = switchValue === 'on' || (switchValue !== 'off' && Boolean(endpoint));
  return {
    enabled,
    serviceName: env['OTEL_SERVICE_NAME'] || service,
    endpoint: enabled ? (endpoint ?? 'http://localhost:4318') : undefined,
  };
}

export interface Tracing extends TracingSettings {
  /** Exports the spans still buffered, then stops; a no-op when tracing is off. */
  shutdown(): Promise<void>;
}

/**
 * Call first thing in main.ts, before anything makes a call worth tracing. Registers the tracer
 * provider (OTLP over HTTP; the exporter reads the standard OTEL_EXPORTER_OTLP_* variables, such as
 * OTEL_EXPORTER_OTLP_HEADERS), the W3C trace-context propagator and the AsyncLocalStorage context
 * manager (sdk-trace-node), so the active span follows async calls.
 */
export function initTracing(service: string, env: NodeJS.ProcessEnv = process.env): Tracing {
  const settings = tracingSettings(service, env);
  if (!settings.enabled) return { ...settings, shutdown: async () => undefined };
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': settings.serviceName,
      ...(env['DD_ENV'] ? { 'deployment.environment': env['DD_ENV'] } : {}),
      ...(env['DD_VERSION'] ? { 'service.version': env['DD_VERSION'] } : {}),
    }),
    // Bounded: at most 2,048 spans wait for export; beyond that they are dropped, never queued.
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter(), {
        maxQueueSize: 2_048,
        maxExportBatchSize: 512,
        scheduledDelayMillis: Number(env['OTEL_BSP_SCHEDULE_DELAY'] ?? 1_000),
      }),
    ],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  setRemembering(true);
  return {
    ...settings,
    shutdown: async () => {
      setRemembering(false);
      await provider.shutdown().catch(() => undefined);
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
