import { collectDefaultMetrics, Registry } from "prom-client";
import { internalErrors } from "./internal-errors";
import { METRIC_PREFIX } from "./metrics-prefix";
import { tokensEqual } from "./store/api-keys";

export { METRIC_PREFIX };

/** Job-scale durations: a GPU image takes 30 s to minutes, a cold start up to 20. */
export const JOB_DURATION_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 180, 300, 600, 900, 1200];

/** A registry with prom-client's default process metrics under the gateway's prefix. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  registry.registerMetric(internalErrors);
  return registry;
}

/**
 * Whether a scrape may read /metrics: always when no token is configured, else only with
 * `Authorization: Bearer <token>` (compared in constant time).
 */
export function metricsAuthorized(token: string | undefined, authorization: string | undefined): boolean {
  if (!token) return true;
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
  return presented !== undefined && tokensEqual(presented, token);
}
