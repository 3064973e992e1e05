import { encodeFailure, GatewayError, type JobFailure } from "@zimage/core";
import { UpstreamError, UpstreamOutOfMemoryError, UpstreamTimeoutError } from "@zimage/zimage-client";
import { UnrecoverableError } from "bullmq";

export interface MappedFailure {
  failure: JobFailure;
  /** Whether another attempt could succeed; BullMQ's attempts/backoff bound the retries. */
  retryable: boolean;
}

/**
 * How each failure ends a job attempt (DESIGN "Upstream rules"). The client's errors already carry
 * the job error code and a retry hint; the dispatcher overrides two of them:
 * - a timeout is final: the GPU already spent the whole allowance on this job, and a retry would
 *   spend it again (issue #4: "a job that exceeds it fails with upstream_timeout");
 * - out-of-memory gets advice the user can act on.
 * The pre-flight wait (`upstream-idle-wait.ts`) throws `upstream_unavailable` itself when the GPU
 * stays busy with someone else's image; it keeps that code, so the job is retried and the upstream
 * marked down, instead of becoming an `internal_error`.
 */
export function mapUpstreamFailure(err: unknown, size: string | undefined): MappedFailure {
  if (err instanceof UpstreamError) {
    const details = err.status === undefined ? undefined : { status: err.status, body: err.body };
    const message =
      err instanceof UpstreamOutOfMemoryError
        ? `the GPU ran out of memory${size ? ` at ${size}` : ""}; try a smaller size such as 1024x1024 or 512x512`
        : err.message;
    return {
      retryable: err instanceof UpstreamTimeoutError ? false : err.retryable,
      failure: details ? { code: err.code, message, details } : { code: err.code, message },
    };
  }
  if (err instanceof GatewayError && err.code === "upstream_unavailable") {
    return { retryable: true, failure: { code: "upstream_unavailable", message: err.message } };
  }
  if (err instanceof GatewayError && err.code === "invalid_image") {
    return {
      retryable: true,
      failure: {
        code: "upstream_protocol_error",
        message: `the upstream returned an unusable image: ${err.message}`,
      },
    };
  }
  return {
    retryable: true,
    failure: { code: "internal_error", message: (err as Error)?.message ?? String(err) },
  };
}

/** The error a processor throws so BullMQ records the failure and retries only what is worth it. */
export function toJobError({ failure, retryable }: MappedFailure): Error {
  const message = encodeFailure(failure);
  return retryable ? new Error(message) : new UnrecoverableError(message);
}
