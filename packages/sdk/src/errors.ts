/** Every error the SDK throws is a ZImageError; switch on its class, then on `code`. */
export class ZImageError extends Error {
  override name = "ZImageError";
}

/** The gateway answered with an error: `{error: {code, message, details?}}`. */
export class ZImageApiError extends ZImageError {
  override name = "ZImageApiError";
  constructor(
    readonly status: number,
    /** The gateway's stable error code, e.g. `invalid_request`, `job_not_found`, `rate_limited`. */
    readonly code: string,
    message: string,
    readonly details: unknown,
    /** Seconds the gateway asked to wait (Retry-After), when it did. */
    readonly retryAfterSeconds: number | null,
    readonly requestId: string | null,
  ) {
    super(message);
  }
}

/** The request never got an answer: connection refused or reset, DNS, or the SDK's own timeout. */
export class ZImageConnectionError extends ZImageError {
  override name = "ZImageConnectionError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** `waitFor` ran out of time; the job carries on at the gateway. */
export class ZImageWaitTimeoutError extends ZImageError {
  override name = "ZImageWaitTimeoutError";
  constructor(
    readonly jobId: string,
    readonly lastStatus: string,
  ) {
    super(`job ${jobId} is still ${lastStatus}; it keeps running at the gateway`);
  }
}

/** A webhook whose signature, timestamp or body did not verify. */
export class ZImageWebhookError extends ZImageError {
  override name = "ZImageWebhookError";
}
