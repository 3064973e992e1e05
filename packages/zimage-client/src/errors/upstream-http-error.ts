import { UpstreamError, type UpstreamErrorCode } from "./upstream-error";

export interface UpstreamHttpErrorInit {
  upstreamUrl: string;
  status: number;
  body: string;
  /** See {@link UpstreamHttpError.emptyDetail}. */
  emptyDetail?: boolean;
}

/**
 * The upstream answered with a non-2xx status. 4xx means it rejected this request (`upstream_rejected`,
 * not retryable except 408/429); 5xx is a server-side failure worth another try.
 */
export class UpstreamHttpError extends UpstreamError {
  declare readonly status: number;
  declare readonly body: string;
  /**
   * A 500 that says nothing (`{"detail": ""}`, `{}` or no body). The reference server answers a
   * failed model load this way when the exception has no text, so the worker counts it as a load
   * failure when the pipeline was not loaded (issue #15); the client cannot know that on its own.
   */
  readonly emptyDetail: boolean;

  constructor(message: string, init: UpstreamHttpErrorInit, code?: UpstreamErrorCode, retryable?: boolean) {
    super(
      code ?? (init.status >= 500 ? "upstream_error" : "upstream_rejected"),
      message,
      retryable ?? isRetryableStatus(init.status),
      init,
    );
    this.name = "UpstreamHttpError";
    this.emptyDetail = init.emptyDetail ?? false;
  }
}

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}
