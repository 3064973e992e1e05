import { UpstreamError, type UpstreamErrorCode } from "./upstream-error";

export interface UpstreamHttpErrorInit {
  upstreamUrl: string;
  status: number;
  body: string;
}

/**
 * The upstream answered with a non-2xx status. 4xx means it rejected this request (`upstream_rejected`,
 * not retryable except 408/429); 5xx is a server-side failure worth another try.
 */
export class UpstreamHttpError extends UpstreamError {
  declare readonly status: number;
  declare readonly body: string;

  constructor(message: string, init: UpstreamHttpErrorInit, code?: UpstreamErrorCode, retryable?: boolean) {
    super(
      code ?? (init.status >= 500 ? "upstream_error" : "upstream_rejected"),
      message,
      retryable ?? isRetryableStatus(init.status),
      init,
    );
    this.name = "UpstreamHttpError";
  }
}

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}
