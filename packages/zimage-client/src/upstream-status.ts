import type { HttpAnswer } from "./http-call";
import { jsonBody } from "./json-body";
import { isRecord } from "./parse-images-response";
import { modelState } from "./pipeline-flags";
import type { UpstreamStatus } from "./types";

/**
 * `/v1/internal/status` says `{"status": "generating"}` while busy; the idle value is unspecified,
 * so only "generating" means busy. The reference server also reports `t2i_loaded`/`edit_loaded`
 * here (and says "generating" during a model load too).
 */
export function upstreamStatus(answer: HttpAnswer): UpstreamStatus {
  const raw = jsonBody(answer);
  const status = isRecord(raw) && typeof raw.status === "string" ? raw.status : "unknown";
  return { busy: status === "generating", status, pipelines: modelState(raw).pipelines, raw };
}
