import { ERROR_CODES, type ErrorCode, GatewayError, type Logger } from "@zimage/core";
import type { ErrorRequestHandler, RequestHandler } from "express";
import { openaiErrorBody, wantsOpenAIErrors } from "./openai/openai-error";

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function errorBody(code: ErrorCode, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** body-parser signals its failures through `type`; these are the client's mistakes. */
const BODY_PARSER_ERRORS: Record<string, [ErrorCode, string]> = {
  "entity.too.large": ["payload_too_large", "the request body is too large"],
  "entity.parse.failed": ["invalid_json", "the request body is not valid JSON"],
  "entity.verify.failed": ["invalid_request", "the request body could not be verified"],
  "encoding.unsupported": ["unsupported_media_type", "unsupported content encoding"],
  "charset.unsupported": ["unsupported_media_type", "unsupported charset"],
  "request.aborted": ["invalid_request", "the request was aborted"],
  "request.size.invalid": ["invalid_request", "the request size did not match Content-Length"],
};

/**
 * A body that is not what its Content-Encoding says (bad gzip/deflate header, a truncated stream,
 * corrupt brotli) fails inside zlib; body-parser passes zlib's error on with no `type`. zlib's codes:
 * `Z_*` for gzip/deflate, `ERR_*` (brotli's own names, e.g. ERR__ERROR_FORMAT_PADDING_1) for br.
 */
function isDecompressionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const { code, errno } = err as NodeJS.ErrnoException;
  return typeof errno === "number" && typeof code === "string" && /^(Z_|ERR_)/.test(code);
}

/**
 * Express's router decodes path parameters with decodeURIComponent and passes on the URIError of a
 * malformed one (`/v1/jobs/%zz`), marked 400. It is matched here rather than by its status so that no
 * other URIError (a bug of ours) is ever blamed on the client.
 */
const isBadPathEncoding = (err: unknown) =>
  err instanceof URIError && (err as { status?: number }).status === 400;

const CLIENT_ERROR_CODES: Record<number, ErrorCode> = {
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

function clientErrorOf(err: unknown): [number, ErrorBody] | null {
  const { status, expose, message } = (err ?? {}) as {
    status?: unknown;
    expose?: unknown;
    message?: unknown;
  };
  if (expose !== true || typeof status !== "number" || status < 400 || status > 499) return null;
  const code = CLIENT_ERROR_CODES[status] ?? "invalid_request";
  return [
    ERROR_CODES[code],
    errorBody(code, typeof message === "string" && message ? message : "bad request"),
  ];
}

/**
 * ioredis/BullMQ failures that mean "Redis cannot take this right now" (unreachable, or out of memory
 * under `noeviction`), which is a 503, not a 500.
 */
function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (
    err.name === "MaxRetriesPerRequestError" ||
    code === "ECONNREFUSED" ||
    code === "ECONNRESET" ||
    /Connection is closed|Stream isn't writeable|connect ETIMEDOUT|^OOM command not allowed/.test(err.message)
  );
}

/** The single place that turns errors into HTTP responses (STYLE rule 5). */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    let status: number;
    let body: ErrorBody;
    const clientError = clientErrorOf(err);
    if (err instanceof GatewayError) {
      status = err.status;
      body = errorBody(err.code, err.message, err.details);
      const retryAfter = (err.details as { retry_after_seconds?: number } | undefined)?.retry_after_seconds;
      if (retryAfter) res.setHeader("Retry-After", String(retryAfter));
      if (status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="zimage-gateway"');
    } else if (typeof err?.type === "string" && BODY_PARSER_ERRORS[err.type]) {
      const [code, message] = BODY_PARSER_ERRORS[err.type]!;
      status = ERROR_CODES[code];
      body = errorBody(code, message);
    } else if (isDecompressionError(err)) {
      status = 400;
      body = errorBody(
        "invalid_request",
        "the request body could not be decoded as its Content-Encoding says: it is corrupt or truncated",
      );
    } else if (isBadPathEncoding(err)) {
      status = 400;
      body = errorBody("invalid_request", "the URL path has a malformed percent-encoding");
    } else if (clientError) {
      // Any other failure a library marks as the client's (http-errors' `expose` with a 4xx status):
      // a client mistake we have not named above must still be a 4xx, never a 500.
      [status, body] = clientError;
      logger.info({ err, reqId: (req as { id?: string }).id }, "unclassified client error");
    } else if (isRedisUnavailable(err)) {
      status = 503;
      body = errorBody("service_unavailable", "the job store is unavailable; retry shortly");
      res.setHeader("Retry-After", "5");
      logger.warn({ err, reqId: (req as { id?: string }).id }, "redis unavailable");
    } else {
      status = 500;
      body = errorBody("internal_error", "an unexpected error occurred");
      logger.error({ err, reqId: (req as { id?: string }).id }, "unhandled error");
    }
    // The OpenAI-compatible routes answer in OpenAI's error shape, with the same status and code.
    const { code, message, details } = body.error;
    res.status(status).json(wantsOpenAIErrors(res) ? openaiErrorBody(status, code, message, details) : body);
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json(errorBody("not_found", `no route for ${req.method} ${req.path}`));
};
