import { UpstreamError } from "./upstream-error";

/** True only for upstream errors flagged retryable; anything else (bugs, caller aborts) is not. */
export function isRetryable(err: unknown): boolean {
  return err instanceof UpstreamError && err.retryable;
}
