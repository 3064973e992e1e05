import type { HttpAnswer } from "./http-call";
import { lenientBody } from "./json-body";
import { isRecord } from "./parse-images-response";
import type { UpstreamHealth } from "./types";

const UNHEALTHY = /^(error|unhealthy|fail(ed|ing)?|down|degraded)$/i;

/**
 * Reads `/health` defensively: its JSON is not specified, so known spellings of "model loaded" are
 * tried and everything else stays in `raw`. A non-2xx answer is reported as `ok: false`, not thrown:
 * the server did answer, and that answer is the health.
 */
export function upstreamHealth(answer: HttpAnswer): UpstreamHealth {
  const raw = lenientBody(answer);
  const is2xx = answer.status >= 200 && answer.status < 300;
  if (!isRecord(raw)) return { ok: is2xx, modelLoaded: null, raw };
  const reportsUnhealthy =
    raw.ok === false ||
    raw.healthy === false ||
    (typeof raw.status === "string" && UNHEALTHY.test(raw.status.trim()));
  return { ok: is2xx && !reportsUnhealthy, modelLoaded: modelLoaded(raw), raw };
}

function modelLoaded(body: Record<string, unknown>): boolean | null {
  for (const key of ["model_loaded", "modelLoaded", "loaded", "is_loaded"]) {
    if (typeof body[key] === "boolean") return body[key];
  }
  const model = body.model;
  if (isRecord(model) && typeof model.loaded === "boolean") return model.loaded;
  for (const key of ["model_status", "model_state", "modelStatus"]) {
    const v = body[key];
    if (typeof v !== "string") continue;
    if (/^(loaded|ready)$/i.test(v)) return true;
    if (/^(unloaded|not[_ ]?loaded|loading|idle)$/i.test(v)) return false;
  }
  return null;
}
