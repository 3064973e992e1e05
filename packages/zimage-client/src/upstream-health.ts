import type { HttpAnswer } from "./http-call";
import { lenientBody } from "./json-body";
import { isRecord } from "./parse-images-response";
import { modelState } from "./pipeline-flags";
import type { UpstreamHealth } from "./types";

const UNHEALTHY = /^(error|unhealthy|fail(ed|ing)?|down|degraded)$/i;

/**
 * Reads `/health` defensively: its JSON is not specified, so known spellings of the model state
 * are tried and everything else stays in `raw`. A non-2xx answer is reported as `ok: false`, not
 * thrown: the server did answer, and that answer is the health.
 */
export function upstreamHealth(answer: HttpAnswer): UpstreamHealth {
  const raw = lenientBody(answer);
  const is2xx = answer.status >= 200 && answer.status < 300;
  const { modelLoaded, pipelines, shape } = modelState(raw);
  const reportsUnhealthy =
    isRecord(raw) &&
    (raw.ok === false ||
      raw.healthy === false ||
      (typeof raw.status === "string" && UNHEALTHY.test(raw.status.trim())));
  return { ok: is2xx && !reportsUnhealthy, modelLoaded, pipelines, shape, raw };
}
