import { UpstreamProtocolError } from "./errors";
import { isRecord, parseImagesResponse } from "./parse-images-response";
import type { TaskState } from "./types";

// The reference server says "processing", "completed" or "failed"; the other spellings are common
// in task APIs and cost nothing to accept, since the JSON is not specified (shared/zimage-api.md).
const PROCESSING = new Set(["processing", "queued", "pending", "running", "in_progress"]);
const COMPLETED = new Set(["completed", "succeeded", "success", "done"]);
const FAILED = new Set(["failed", "error"]);

/**
 * `GET /v1/images/tasks/{id}` → `{"status": "processing"}` | `{"status": "completed", "data": [...]}`
 * | `{"status": "failed", "error": "..."}`. A completed task has no `created`, so it gets "now" to
 * read like a sync images response.
 */
export function parseTaskState(body: unknown, upstreamUrl: string): TaskState {
  const status = isRecord(body) && typeof body.status === "string" ? body.status.toLowerCase() : undefined;
  if (status !== undefined && PROCESSING.has(status)) return { status: "processing" };
  if (status !== undefined && COMPLETED.has(status)) {
    const b = body as Record<string, unknown>;
    const created = typeof b.created === "number" ? b.created : Math.floor(Date.now() / 1000);
    return { status: "completed", response: parseImagesResponse({ created, data: b.data }, upstreamUrl) };
  }
  if (status !== undefined && FAILED.has(status)) {
    const error = (body as Record<string, unknown>).error;
    return {
      status: "failed",
      error: typeof error === "string" ? error : error == null ? "" : JSON.stringify(error),
    };
  }
  throw new UpstreamProtocolError(`upstream task answer has no known status`, {
    upstreamUrl,
    body: JSON.stringify(body)?.slice(0, 4096) ?? "",
  });
}

/** `POST /v1/images/async_edit` → `{"task_id": "...", "status": "processing"}`. */
export function parseTaskId(body: unknown, upstreamUrl: string): string {
  const id = isRecord(body) ? body.task_id : undefined;
  if (typeof id === "string" && id.length > 0 && id.length <= 200) return id;
  throw new UpstreamProtocolError("upstream accepted the task without a usable task_id", {
    upstreamUrl,
    body: JSON.stringify(body)?.slice(0, 4096) ?? "",
  });
}
