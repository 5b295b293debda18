import { z } from 'zod';

const optionalHttpUrl = z
  .string()
  .refine((value) => {
    try {
      return ['http:', 'https:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, 'expected an http(s) URL')
  .optional();

/**
 * The tracing variables every service reads (@saldo/tracing; the OTLP exporter reads the OTEL_*
 * ones itself). Spread into each app's schema so they are validated and the deployment checks
 * know them. Tracing is off unless an endpoint is set or SALDO_TRACING=on.
 */
export const tracingEnvShape = {
  /** OTLP/HTTP base URL (the Datadog agent's OTLP intake: http://<agent>:4318); spans to /v1/traces. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalHttpUrl,
  /** Full URL for spans only, when not <endpoint>/v1/traces. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalHttpUrl,
  /** Only OTLP over HTTP with JSON bodies is built in. */
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/json'], { error: 'expected http/json' }).optional(),
  /** The service name in the traces (default: the app's name). */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  /** on: trace to the default endpoint (http://localhost:4318); off: never trace. */
  SALDO_TRACING: z.enum(['on', 'off'], { error: 'expected on or off' }).optional(),
};
