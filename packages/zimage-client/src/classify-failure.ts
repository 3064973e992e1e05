import { UpstreamHttpError, UpstreamModelLoadError, UpstreamOutOfMemoryError } from "./errors";

// The API notes say "Model loading failed"; the reference server says "T2I Load Error: …" or
// "Edit Load Error: …", and a sync route that catches it reports "500: T2I Load Error: …", hence
// "anywhere" (shared/zimage-api.md, "The public reference server").
const MODEL_LOAD_FAILED = /model loading failed|load error/i;
// PyTorch says "CUDA out of memory" / "OutOfMemoryError"; other stacks say "OOM".
const OUT_OF_MEMORY = /out of memory|outofmemory|\boom\b/i;

export interface Failure {
  /** The HTTP status, or 500 for a failed async task (the server's sync routes answer those as 500). */
  status: number;
  /** The raw error text: a response body, or a failed task's `error`. */
  text: string;
  upstreamUrl: string;
  message: string;
}

/**
 * The one place that decides what kind of failure an upstream reported, for a non-2xx answer and a
 * failed async task alike, so both paths give the worker the same typed errors.
 */
export function classifyFailure(f: Failure): UpstreamHttpError {
  const init = { upstreamUrl: f.upstreamUrl, status: f.status, body: f.text };
  if (f.status === 500 && MODEL_LOAD_FAILED.test(f.text)) return new UpstreamModelLoadError(f.message, init);
  if (OUT_OF_MEMORY.test(f.text)) return new UpstreamOutOfMemoryError(f.message, init);
  return new UpstreamHttpError(f.message, {
    ...init,
    emptyDetail: f.status === 500 && isEmptyDetail(f.text),
  });
}

/** No body, `""`, `{}`, or a `detail` that is empty or null: the server said nothing about why. */
export function isEmptyDetail(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed === "") return true;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return false;
  }
  if (value === "" || value === null) return true;
  if (typeof value !== "object" || Array.isArray(value)) return false;
  const body = value as Record<string, unknown>;
  const keys = Object.keys(body);
  if (keys.length === 0) return true;
  return keys.length === 1 && "detail" in body && (body.detail === null || String(body.detail).trim() === "");
}
