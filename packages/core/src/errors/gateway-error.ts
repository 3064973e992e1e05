import { ERROR_CODES, type ErrorCode } from "./error-codes";

/** An error with a stable machine code; the api maps it to `{error:{code,message,details}}` in one place. */
export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "GatewayError";
    this.status = ERROR_CODES[code];
  }
}
