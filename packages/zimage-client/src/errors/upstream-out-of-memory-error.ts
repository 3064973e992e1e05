import { UpstreamHttpError, type UpstreamHttpErrorInit } from "./upstream-http-error";

/**
 * The GPU ran out of memory. The same request would fail again, so it is not retryable as is; the
 * server's notes suggest a smaller size instead (docs: shared/zimage-api.md, "Errors").
 */
export class UpstreamOutOfMemoryError extends UpstreamHttpError {
  readonly suggestedSize = "512x512";

  constructor(message: string, init: UpstreamHttpErrorInit) {
    super(message, init, "upstream_out_of_memory", false);
    this.name = "UpstreamOutOfMemoryError";
  }
}
