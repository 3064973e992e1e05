import type { ZImageClientOptions } from "./types";

export const DEFAULT_IMAGE_TIMEOUT_MS = 600_000;
export const DEFAULT_CONTROL_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 512 * 1024 * 1024;

export interface ResolvedClientOptions {
  /** Always ends with "/" so relative paths resolve under a proxy prefix. */
  baseUrl: URL;
  imageTimeoutMs: number;
  controlTimeoutMs: number;
  connectTimeoutMs: number;
  maxResponseBytes: number;
}

/** Image calls hold the connection for minutes; control calls must answer fast even while generating. */
export type RequestKind = "image" | "control";

/** What one call hands to undici, plus the overall deadline the client enforces on top. */
export interface RequestTimeouts {
  deadlineMs: number;
  headersTimeout: number;
  bodyTimeout: number;
}

export function resolveClientOptions(opts: ZImageClientOptions): ResolvedClientOptions {
  let baseUrl: URL;
  try {
    baseUrl = new URL(opts.baseUrl);
  } catch {
    throw new TypeError(`ZImageClient: invalid baseUrl "${opts.baseUrl}"`);
  }
  if (baseUrl.protocol !== "http:" && baseUrl.protocol !== "https:") {
    throw new TypeError("ZImageClient: baseUrl must be http or https");
  }
  if (!baseUrl.pathname.endsWith("/")) baseUrl.pathname += "/";
  baseUrl.search = "";
  baseUrl.hash = "";
  return {
    baseUrl,
    imageTimeoutMs: positive("imageTimeoutMs", opts.imageTimeoutMs, DEFAULT_IMAGE_TIMEOUT_MS),
    controlTimeoutMs: positive("controlTimeoutMs", opts.controlTimeoutMs, DEFAULT_CONTROL_TIMEOUT_MS),
    connectTimeoutMs: positive("connectTimeoutMs", opts.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
    maxResponseBytes: positive("maxResponseBytes", opts.maxResponseBytes, DEFAULT_MAX_RESPONSE_BYTES),
  };
}

/**
 * undici's own headersTimeout and bodyTimeout default to 300 s, shorter than the 600 s a first
 * image request may need (model load + inference), so every call sets both to its own deadline.
 */
export function requestTimeouts(
  kind: RequestKind,
  opts: ResolvedClientOptions,
  overrideMs?: number,
): RequestTimeouts {
  const ms =
    overrideMs !== undefined
      ? positive("timeoutMs", overrideMs, 0)
      : kind === "image"
        ? opts.imageTimeoutMs
        : opts.controlTimeoutMs;
  return { deadlineMs: ms, headersTimeout: ms, bodyTimeout: ms };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  // 0 would mean "no timeout" to undici; a request must never be allowed to hang forever.
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`ZImageClient: ${name} must be a positive number of ms, got ${value}`);
  }
  return value;
}
