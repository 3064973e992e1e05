import { ZImageApiError, ZImageConnectionError } from "./errors.js";
import { backoffMs, retryAfterSeconds, sleep } from "./retry.js";

export interface TransportOptions {
  baseUrl: string;
  apiKey: string | undefined;
  /** Retries of a request answered 429 or 503, or (when safe to repeat) lost on the way. Default 3. */
  maxRetries: number;
  /** A Retry-After longer than this is not waited out: the error is thrown. Default 60 s. */
  maxRetryDelayMs: number;
  /** Per attempt; long waits (`wait`, SSE) are given their own allowance. Default 60 s. */
  timeoutMs: number;
  fetch: typeof fetch;
  userAgent: string;
}

export interface RequestOptions {
  method?: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  form?: FormData;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Extra time on top of timeoutMs, for a request the server holds open on purpose; null: no limit (streams). */
  holdMs?: number | null;
  /** A POST is repeated after a lost connection only when it carries an Idempotency-Key. */
  idempotent?: boolean;
}

const RETRYABLE_STATUS = new Set([429, 503]);

/** fetch with auth, JSON, timeouts, typed errors and Retry-After-aware retries. */
export class Transport {
  constructor(readonly options: TransportOptions) {}

  url(path: string, query: RequestOptions["query"] = {}): string {
    const url = new URL(path.replace(/^\//, ""), `${this.options.baseUrl.replace(/\/+$/, "")}/`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  async json<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(path, opts);
    return (await res.json()) as T;
  }

  /** Sends until an answer that is not retryable; returns an ok Response or throws. */
  async send(path: string, opts: RequestOptions = {}): Promise<Response> {
    const method = opts.method ?? "GET";
    // DELETE is not repeatable here: on a job, a second one deletes what the first only canceled.
    const repeatable = method === "GET" || opts.idempotent === true;
    for (let attempt = 0; ; attempt++) {
      const timeout =
        opts.holdMs === null ? undefined : AbortSignal.timeout(this.options.timeoutMs + (opts.holdMs ?? 0));
      const signals = [opts.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
      const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
      let res: Response;
      try {
        res = await this.options.fetch(this.url(path, opts.query), {
          method,
          headers: this.headers(opts),
          body: opts.form ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
          signal,
          redirect: "manual",
        });
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        if (repeatable && attempt < this.options.maxRetries) {
          await sleep(backoffMs(attempt), opts.signal);
          continue;
        }
        const why = timeout?.aborted ? "timed out" : ((err as Error).cause as Error | undefined)?.message;
        throw new ZImageConnectionError(
          `${method} ${path}: no answer from the gateway (${why ?? (err as Error).message})`,
          { cause: err },
        );
      }
      if (res.ok) return res;
      const error = await apiError(res);
      const delayMs = (error.retryAfterSeconds ?? backoffMs(attempt) / 1000) * 1000;
      if (
        RETRYABLE_STATUS.has(res.status) &&
        attempt < this.options.maxRetries &&
        delayMs <= this.options.maxRetryDelayMs
      ) {
        await sleep(delayMs, opts.signal);
        continue;
      }
      throw error;
    }
  }

  private headers(opts: RequestOptions): Record<string, string> {
    return {
      accept: "application/json",
      "user-agent": this.options.userAgent,
      ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
      ...(opts.body !== undefined ? { "content-type": "application/json" } : {}),
      ...opts.headers,
    };
  }
}

async function apiError(res: Response): Promise<ZImageApiError> {
  // The error is built from the status either way; an unreadable body only loses its detail.
  const text = await res.text().catch(() => "");
  let code = `http_${res.status}`;
  let message = text.slice(0, 500) || res.statusText;
  let details: unknown;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (typeof body.error?.code === "string") code = body.error.code;
    if (typeof body.error?.message === "string") message = body.error.message;
    details = body.error?.details;
    if (Array.isArray(details) && details.length > 0) {
      const issues = details as Array<{ path?: unknown; message?: unknown }>;
      message += `: ${issues.map((i) => `${String(i.path)}: ${String(i.message)}`).join("; ")}`;
    }
  } catch {
    // Not the gateway's JSON (a proxy's error page, say): keep the status and the text.
  }
  return new ZImageApiError(
    res.status,
    code,
    message,
    details,
    retryAfterSeconds(res.headers.get("retry-after")),
    res.headers.get("x-request-id"),
  );
}
