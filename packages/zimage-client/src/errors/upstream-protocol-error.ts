import { UpstreamError, type UpstreamErrorInit } from "./upstream-error";

/** The upstream answered 2xx but not with what its API promises: bad JSON, content type, shape, or size. */
export class UpstreamProtocolError extends UpstreamError {
  constructor(message: string, init: UpstreamErrorInit) {
    super("upstream_protocol_error", message, false, init);
    this.name = "UpstreamProtocolError";
  }
}
