import type { HttpAnswer } from "./http-call";
import { jsonBody } from "./json-body";
import { isRecord } from "./parse-images-response";
import type { UpstreamStatus } from "./types";

/**
 * `/v1/internal/status` says `{"status": "generating"}` while busy; the idle value is unspecified,
 * so only "generating" means busy.
 */
export function upstreamStatus(answer: HttpAnswer): UpstreamStatus {
  const raw = jsonBody(answer);
  const status = isRecord(raw) && typeof raw.status === "string" ? raw.status : "unknown";
  return { busy: status === "generating", status, raw };
}
