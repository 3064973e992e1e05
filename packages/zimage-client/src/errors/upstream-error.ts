/**
 * Stable machine codes of upstream failures. They are spelled exactly like the matching
 * `ErrorCode`s of `@zimage/core`, so the worker can put `err.code` into a job's error as is
 * without this package depending on core.
 */
export type UpstreamErrorCode =
  | "upstream_error"
  | "upstream_rejected"
  | "upstream_model_load_failed"
  | "upstream_out_of_memory"
  | "upstream_timeout"
  | "upstream_unavailable"
  | "upstream_protocol_error";

export interface UpstreamErrorInit {
  /** The URL that was called (credentials stripped). */
  upstreamUrl: string;
  /** HTTP status, when the upstream answered at all. */
  status?: number;
  /** Raw response text, truncated to {@link MAX_ERROR_BODY_CHARS}; kept for the job's error details. */
  body?: string;
  cause?: unknown;
}

/** Large enough to hold a Python traceback's last lines, small enough for a job record. */
export const MAX_ERROR_BODY_CHARS = 4096;

/** Base of every error the client throws because of the upstream (never for caller aborts). */
export class UpstreamError extends Error {
  readonly code: UpstreamErrorCode;
  readonly upstreamUrl: string;
  readonly status?: number;
  readonly body?: string;
  /** A hint for the dispatcher: trying the same request again later may succeed. */
  readonly retryable: boolean;

  constructor(code: UpstreamErrorCode, message: string, retryable: boolean, init: UpstreamErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "UpstreamError";
    this.code = code;
    this.retryable = retryable;
    this.upstreamUrl = init.upstreamUrl;
    if (init.status !== undefined) this.status = init.status;
    if (init.body !== undefined) this.body = truncateBody(init.body);
  }
}

export function truncateBody(text: string): string {
  if (text.length <= MAX_ERROR_BODY_CHARS) return text;
  return `${text.slice(0, MAX_ERROR_BODY_CHARS)}…[truncated ${text.length - MAX_ERROR_BODY_CHARS} chars]`;
}
