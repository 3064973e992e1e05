import { UpstreamHttpError, type UpstreamHttpErrorInit } from "./upstream-http-error";

/**
 * HTTP 500 for a failed model load: "Model loading failed" in the API notes, "T2I Load Error: …" /
 * "Edit Load Error: …" on the reference server (also as a failed async task's error). The server
 * retries the load on its next request, and its API notes say to wait about 10 s before that
 * (docs: shared/zimage-api.md, "Errors").
 */
export class UpstreamModelLoadError extends UpstreamHttpError {
  readonly retryAfterMs = 10_000;

  constructor(message: string, init: UpstreamHttpErrorInit) {
    super(message, init, "upstream_model_load_failed", true);
    this.name = "UpstreamModelLoadError";
  }
}
