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

/**
 * Which pipelines are in VRAM. A single-model server (`model_loaded`) reports both flags equal,
 * since its one model serves both kinds; the reference server has one flag per pipeline
 * (`t2i_loaded`/`edit_loaded`, shared/zimage-api.md). null: the server does not say.
 */
export interface PipelineFlags {
  generate: boolean | null;
  edit: boolean | null;
}

/** How `/health` reports model state: one model, one flag per pipeline, or neither. */
export type HealthShape = "single" | "pipelines" | "unknown";

export interface UpstreamHealth {
  /** The server answered 2xx and its body does not report an unhealthy state. */
  ok: boolean;
  /** Whether any pipeline is in VRAM; false when all it reports are unloaded, null when unknown. */
  modelLoaded: boolean | null;
  pipelines: PipelineFlags;
  shape: HealthShape;
  /** Parsed JSON body, or its text when it is not JSON. */
  raw: unknown;
}

export interface UpstreamStatus {
  /** True iff `status === "generating"`: the server is working on an image right now. */
  busy: boolean;
  /** The server's status string, or `"unknown"` when the body carries none. */
  status: string;
  /** Per-pipeline flags when the status body carries them (the reference server's does). */
  pipelines: PipelineFlags;
  raw: unknown;
}

/** One `GET /v1/models` entry; `capabilities` is null unless the server lists them as strings. */
export interface ModelInfo {
  id: string;
  capabilities: string[] | null;
}

/**
 * What `discover()` learned (core's `UpstreamCapabilities` without `source` and `discovered_at`,
 * which the worker adds): how each job kind can run on this upstream, and the evidence.
 */
export interface DiscoveredCapabilities {
  /** The server's own `/openapi.json`, or probing each route. */
  routes_from: "openapi" | "probe";
  /** The image routes found, as `METHOD /path`. */
  routes: string[];
  models: ModelInfo[];
  health_shape: HealthShape;
  generate: "sync" | null;
  edit: "sync" | "async" | null;
}

/** `GET /v1/images/tasks/{id}`, normalised. `completed` carries the images as a sync call would. */
export type TaskState =
  | { status: "processing" }
  | { status: "completed"; response: ImagesResponse }
  | { status: "failed"; error: string };

export interface EditViaTaskOptions {
  /** Aborting stops polling and rejects with the signal's reason; the server's task runs on. */
  signal?: AbortSignal;
  /** Deadline for submit, polling and all: the image timeout a sync edit would get. */
  timeoutMs: number;
  /** Pause between polls of the task. */
  pollIntervalMs: number;
}
