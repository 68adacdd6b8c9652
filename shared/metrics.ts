import { collectDefaultMetrics, Registry } from 'prom-client';

let registry: Registry | undefined;

/** The process's Prometheus registry, with Node's default metrics. */
export function metricsRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}
