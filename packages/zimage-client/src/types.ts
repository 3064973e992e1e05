/** Types that cross modules; field names mirror the Z-Image server's API one-to-one. */

export interface ZImageClientOptions {
  /** e.g. `http://gpu-box:8003`; a path prefix (behind a proxy) is kept. */
  baseUrl: string;
  /** Deadline for generate/edit/download. Default 600 000: the server holds the request until the image is done. */
  imageTimeoutMs?: number;
  /** Deadline for health/status/models/unload. Default 10 000. */
  controlTimeoutMs?: number;
  /** TCP (and TLS) connect timeout. Default 10 000. */
  connectTimeoutMs?: number;
  /** Largest response body accepted. Default 512 MiB: `n` base64 PNGs at large sizes add up. */
  maxResponseBytes?: number;
}

export interface CallOptions {
  /** Aborting rejects with the signal's reason (not an UpstreamError): the caller asked for it. */
  signal?: AbortSignal;
  /** Overrides the client's deadline for this one call. */
  timeoutMs?: number;
}

export type ResponseFormat = "url" | "b64_json";

export interface GenerateRequest {
  prompt: string;
  negative_prompt?: string;
  /** `"WIDTHxHEIGHT"`, both divisible by 32. */
  size?: string;
  n?: number;
  response_format?: ResponseFormat;
  num_inference_steps?: number;
  guidance_scale?: number;
  cfg_normalization?: boolean;
  seed?: number;
}

export interface EditRequest {
  image: Buffer;
  filename: string;
  contentType: string;
  prompt: string;
  size?: string;
  n?: number;
  response_format?: ResponseFormat;
  num_inference_steps?: number;
  guidance_scale?: number;
  negative_prompt?: string;
  cfg_normalization?: boolean;
}

export interface ImageData {
  b64_json?: string;
  url?: string;
  revised_prompt?: string;
}

export interface ImagesResponse {
  created: number;
  data: ImageData[];
}

export interface UpstreamHealth {
  /** The server answered 2xx and its body does not report an unhealthy state. */
  ok: boolean;
  /** Whether the model is in VRAM, when the body says so; null when it does not. */
  modelLoaded: boolean | null;
  /** Parsed JSON body, or its text when it is not JSON. */
  raw: unknown;
}

export interface UpstreamStatus {
  /** True iff `status === "generating"`: the server is working on an image right now. */
  busy: boolean;
  /** The server's status string, or `"unknown"` when the body carries none. */
  status: string;
  raw: unknown;
}
