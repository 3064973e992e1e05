import { ERROR_CODES, type ErrorCode } from "./error-codes";

/** An error with a stable machine code; the api maps it to `{error:{code,message,details}}` in one place. */
export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Overrides the code's usual status where one route answers differently (the OpenAI facade). */
    status?: number,
  ) {
    super(message);
    this.name = "GatewayError";
    this.status = status ?? ERROR_CODES[code];
  }
}
