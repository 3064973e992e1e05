import type { ErrorCode } from "./errors";
import type { JobFailure } from "./job-record";

/**
 * BullMQ keeps a failed job's reason as a plain string. The dispatcher writes a JSON-encoded
 * JobFailure there so the job view can show a stable code; reasons written by BullMQ itself
 * (e.g. "job stalled more than allowable limit") are read back as `internal_error`.
 */
export function encodeFailure(failure: JobFailure): string {
  return JSON.stringify(failure);
}

export function decodeFailure(reason: string | undefined): JobFailure {
  if (reason?.startsWith("{")) {
    try {
      const parsed = JSON.parse(reason) as Partial<JobFailure>;
      if (typeof parsed.code === "string" && typeof parsed.message === "string") {
        return { code: parsed.code as ErrorCode, message: parsed.message, details: parsed.details };
      }
    } catch {
      // fall through to the plain-string case
    }
  }
  return { code: "internal_error", message: reason || "the job failed for an unknown reason" };
}
