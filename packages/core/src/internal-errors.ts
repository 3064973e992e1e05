import { Counter } from "prom-client";
import type { Logger } from "./logger";
import { METRIC_PREFIX } from "./metrics-prefix";

/**
 * Bookkeeping that fails without failing the request or the job (a Redis write after the job moved,
 * a webhook enqueue, an index update) must never vanish: it is logged with its context and counted
 * in `zimage_gateway_internal_errors_total{where}`, so an operator sees drift before users do.
 * `where` names the operation (a fixed string at each call site, never data: the label set stays
 * bounded).
 */
export const internalErrors = new Counter<"where">({
  name: `${METRIC_PREFIX}internal_errors_total`,
  help: "Failures of internal bookkeeping that did not fail the request or job, by operation",
  labelNames: ["where"],
  registers: [],
});

export function reportInternalError(
  logger: Pick<Logger, "warn">,
  where: string,
  err: unknown,
  context: Record<string, unknown> = {},
): void {
  internalErrors.inc({ where });
  logger.warn({ ...context, where, err: err instanceof Error ? err.message : String(err) }, "internal error");
}

/** `promise.catch(reported(log, "where"))`: the same, as a catch handler that resolves to undefined. */
export const reported =
  (logger: Pick<Logger, "warn">, where: string, context: Record<string, unknown> = {}) =>
  (err: unknown): undefined => {
    reportInternalError(logger, where, err, context);
    return undefined;
  };
