import type { JobView } from "./types";

/** An error answer from the gateway, with its stable code and (for 400s) the fields at fault. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Array<{ path: string; message: string }> = [],
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

/** Called when any request answers 401: the session ended (sign-out elsewhere, key revoked). */
let onSignedOut: () => void = () => {};
export const setSignedOutHandler = (handler: () => void) => {
  onSignedOut = handler;
};
export const notifySignedOut = () => onSignedOut();

interface RequestOptions {
  method?: string;
  body?: unknown;
  form?: FormData;
}

/** Same-origin fetch: the session cookie rides along, the API key never touches the page. */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method ?? "GET",
      headers: {
        accept: "application/json",
        ...(opts.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      body: opts.form ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(
      0,
      "network_error",
      "The gateway did not answer. Check your connection and try again.",
    );
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's error page): the ApiError below is built from the HTTP status instead.
  }
  if (res.ok) return body as T;
  const error = (body as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
  const retryAfter = Number(res.headers.get("retry-after"));
  const err = new ApiError(
    res.status,
    error?.code ?? `http_${res.status}`,
    error?.message ?? (res.statusText || `The gateway answered ${res.status}`),
    Array.isArray(error?.details) ? (error.details as ApiError["details"]) : [],
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
  );
  if (res.status === 401 && !path.startsWith("/v1/session")) onSignedOut();
  throw err;
}

/** A sentence for a person: the gateway's message, plus when to try again after a 429. */
export function describeError(err: unknown): string {
  if (!(err instanceof ApiError)) return (err as Error)?.message ?? String(err);
  if (err.retryAfterSeconds) return `${err.message} Try again in ${err.retryAfterSeconds} s.`;
  return err.message;
}

export interface JobPage {
  data: JobView[];
  next_cursor: string | null;
  has_more: boolean;
}

export const jobsApi = {
  list: (query: Record<string, string | number | undefined>) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") params.set(k, String(v));
    return request<JobPage>(`/v1/jobs?${params}`);
  },
  submitJson: (body: Record<string, unknown>) => request<JobView>("/v1/jobs", { method: "POST", body }),
  submitForm: (form: FormData) => request<JobView>("/v1/jobs", { method: "POST", form }),
  cancel: (id: string) => request<JobView>(`/v1/jobs/${encodeURIComponent(id)}/cancel`, { method: "POST" }),
  retry: (id: string) => request<JobView>(`/v1/jobs/${encodeURIComponent(id)}/retry`, { method: "POST" }),
  delete: (id: string) =>
    request<JobView | undefined>(`/v1/jobs/${encodeURIComponent(id)}`, { method: "DELETE" }),
};
