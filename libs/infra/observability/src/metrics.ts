import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A registry of the service's own (never the process-global one, so two services or tests in one
 * process do not mix), with Node's default metrics and a `service` label on every series.
 */
export function createMetricsRegistry(service: string, options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}
