import { UpstreamError, type UpstreamErrorInit } from "./upstream-error";

/**
 * The request's deadline passed (or undici's headers/body timeout fired) before a full answer.
 * Retryable, but the upstream may still be generating: wait until `status()` is idle first, or the
 * GPU gets two jobs at once.
 */
export class UpstreamTimeoutError extends UpstreamError {
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number, init: UpstreamErrorInit) {
    super("upstream_timeout", message, true, init);
    this.name = "UpstreamTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}
