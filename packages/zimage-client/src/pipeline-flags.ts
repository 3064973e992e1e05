import { isRecord } from "./parse-images-response";
import type { HealthShape, PipelineFlags } from "./types";

export interface ModelState {
  pipelines: PipelineFlags;
  shape: HealthShape;
  /** Any pipeline loaded: true if one is, false if all reported ones are not, null if unknown. */
  modelLoaded: boolean | null;
}

/**
 * The model state a `/health` or `/v1/internal/status` body reports. Neither JSON is specified
 * (shared/zimage-api.md), so known spellings are tried. Per-pipeline flags (`t2i_loaded`,
 * `edit_loaded`: the reference server, whose two models evict each other) win over a single
 * model flag (`model_loaded`: the documented server, one model serving both kinds).
 */
export function modelState(body: unknown): ModelState {
  if (!isRecord(body)) return unknown();
  const generate = bool(body.t2i_loaded);
  const edit = bool(body.edit_loaded);
  if (generate !== null || edit !== null) {
    const modelLoaded =
      generate === true || edit === true ? true : generate === false && edit === false ? false : null;
    return { pipelines: { generate, edit }, shape: "pipelines", modelLoaded };
  }
  const single = singleModelLoaded(body);
  if (single === null) return unknown();
  return { pipelines: { generate: single, edit: single }, shape: "single", modelLoaded: single };
}

function unknown(): ModelState {
  return { pipelines: { generate: null, edit: null }, shape: "unknown", modelLoaded: null };
}

function bool(v: unknown): boolean | null {
  return typeof v === "boolean" ? v : null;
}

function singleModelLoaded(body: Record<string, unknown>): boolean | null {
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
