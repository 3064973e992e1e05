import { UpstreamError, type UpstreamErrorInit } from "./upstream-error";

/**
 * No usable connection: refused, reset, closed mid-answer, DNS failure, connect timeout.
 * Retryable; after a reset during an image request the upstream may still be busy with it, so
 * check `status()` before sending the next one.
 */
export class UpstreamConnectionError extends UpstreamError {
  /** The system or undici code behind it, e.g. `ECONNREFUSED`, `UND_ERR_SOCKET`. */
  readonly causeCode?: string;

  constructor(message: string, causeCode: string | undefined, init: UpstreamErrorInit) {
    super("upstream_unavailable", message, true, init);
    this.name = "UpstreamConnectionError";
    if (causeCode !== undefined) this.causeCode = causeCode;
  }
}
