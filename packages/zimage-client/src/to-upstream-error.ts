import {
  UpstreamConnectionError,
  UpstreamError,
  UpstreamProtocolError,
  UpstreamTimeoutError,
} from "./errors";

export interface FailureContext {
  upstreamUrl: string;
  timeoutMs: number;
  /** The client's own deadline fired (checked first: undici reports it as a generic abort). */
  deadlineExceeded: boolean;
}

const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
const CONNECTION_CODES = new Set([
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  // The socket closed before the declared Content-Length arrived: a cut connection, not bad data.
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EADDRNOTAVAIL",
]);

/**
 * Maps whatever undici or the OS threw into an UpstreamError. Errors that are not about the
 * upstream (argument bugs and the like) are returned unchanged so they surface as bugs.
 */
export function toUpstreamError(err: unknown, ctx: FailureContext): unknown {
  if (err instanceof UpstreamError) return err;
  const init = { upstreamUrl: ctx.upstreamUrl, cause: err };
  const codes = errorCodes(err);
  if (ctx.deadlineExceeded || codes.some((c) => TIMEOUT_CODES.has(c)) || isTimeoutDomException(err)) {
    return new UpstreamTimeoutError(
      `upstream did not answer within ${ctx.timeoutMs} ms`,
      ctx.timeoutMs,
      init,
    );
  }
  const connection = codes.find((c) => CONNECTION_CODES.has(c) || c.startsWith("EAI_"));
  if (connection !== undefined) {
    return new UpstreamConnectionError(
      `upstream connection failed (${connection}): ${describe(err)}`,
      connection,
      init,
    );
  }
  // llhttp's parse errors are HPE_*: the bytes on the wire were not valid HTTP.
  const parse = codes.find((c) => c.startsWith("HPE_"));
  if (parse !== undefined) {
    return new UpstreamProtocolError(`upstream sent invalid HTTP (${parse}): ${describe(err)}`, init);
  }
  return err;
}

/** Codes along the cause chain, including each member of an AggregateError (happy-eyeballs connects). */
function errorCodes(err: unknown, depth = 0): string[] {
  if (typeof err !== "object" || err === null || depth > 5) return [];
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  const codes = typeof e.code === "string" ? [e.code] : [];
  if (Array.isArray(e.errors)) for (const inner of e.errors) codes.push(...errorCodes(inner, depth + 1));
  codes.push(...errorCodes(e.cause, depth + 1));
  return codes;
}

function isTimeoutDomException(err: unknown): boolean {
  return err instanceof Error && err.name === "TimeoutError";
}

function describe(err: unknown): string {
  // Node's happy-eyeballs connect throws an AggregateError with an empty message.
  if (err instanceof AggregateError && !err.message) return err.errors.map(describe).join("; ");
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
