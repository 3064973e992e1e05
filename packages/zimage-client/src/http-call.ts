import type { Dispatcher } from "undici";
import type { RequestTimeouts } from "./client-options";
import { readBody } from "./read-body";
import { toUpstreamError } from "./to-upstream-error";

/** Error bodies are only kept for diagnostics (4 KB of them), so stop reading them early. */
const ERROR_BODY_READ_LIMIT = 64 * 1024;

export interface HttpCall {
  method: "GET" | "POST";
  url: URL;
  timeouts: RequestTimeouts;
  maxResponseBytes: number;
  headers?: Record<string, string>;
  body?: Dispatcher.DispatchOptions["body"];
  signal?: AbortSignal;
}

/** A complete answer of any status; callers decide what a non-2xx means for them. */
export interface HttpAnswer {
  status: number;
  /** Lower-cased media type without parameters, "" when absent. */
  contentType: string;
  body: Buffer;
  upstreamUrl: string;
}

/**
 * One HTTP exchange with an overall deadline covering connect, wait and body, so a call can never
 * outlive its timeout whatever undici's per-phase timers do. Failures become UpstreamErrors; a
 * caller's own abort rejects with the caller's reason.
 */
export async function httpCall(dispatcher: Dispatcher, call: HttpCall): Promise<HttpAnswer> {
  const upstreamUrl = displayUrl(call.url);
  const deadline = AbortSignal.timeout(call.timeouts.deadlineMs);
  const signal = call.signal ? AbortSignal.any([call.signal, deadline]) : deadline;
  try {
    const res = await dispatcher.request({
      origin: call.url.origin,
      path: `${call.url.pathname}${call.url.search}`,
      method: call.method,
      headers: call.headers ?? {},
      body: call.body ?? null,
      signal,
      headersTimeout: call.timeouts.headersTimeout,
      bodyTimeout: call.timeouts.bodyTimeout,
    });
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    const body = await readBody(res, {
      limit: ok ? call.maxResponseBytes : Math.min(ERROR_BODY_READ_LIMIT, call.maxResponseBytes),
      truncate: !ok,
      upstreamUrl,
    });
    return { status: res.statusCode, contentType: mediaType(res.headers["content-type"]), body, upstreamUrl };
  } catch (err) {
    if (call.signal?.aborted && !deadline.aborted) throw call.signal.reason;
    throw toUpstreamError(err, {
      upstreamUrl,
      timeoutMs: call.timeouts.deadlineMs,
      deadlineExceeded: deadline.aborted,
    });
  }
}

function mediaType(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return (value ?? "").split(";")[0]!.trim().toLowerCase();
}

/** The URL as errors and logs show it: no credentials, in case an operator put them in the base URL. */
export function displayUrl(url: URL): string {
  if (!url.username && !url.password) return url.toString();
  const copy = new URL(url);
  copy.username = "";
  copy.password = "";
  return copy.toString();
}
