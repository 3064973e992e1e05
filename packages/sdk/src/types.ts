/** The gateway's public shapes, as its OpenAPI document (GET /openapi.json) describes them. */

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "canceled";
export type JobKind = "generate" | "edit";
export type WebhookEvent = "queued" | "running" | "succeeded" | "failed" | "canceled";

export interface JobImage {
  /** Signed URL: opens without an API key until it expires. */
  url: string;
  width: number;
  height: number;
  bytes: number;
  sha256: string;
  revised_prompt: string | null;
}

export interface JobError {
  code: string;
  message: string;
  details?: unknown;
}

export interface Job {
  id: string;
  object: "image.job";
  kind: JobKind;
  status: JobStatus;
  /** While running: "loading" (the model is loading onto the GPU) or "generating". */
  phase: "loading" | "generating" | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** While queued: its place in line (1 = runs next). */
  queue_position: number | null;
  eta_seconds: number | null;
  upstream: string | null;
  attempts: number;
  params: Record<string, unknown>;
  /**
   * What the upstream actually ran, once the job has succeeded (null before): its own defaults for
   * fields you left out, values clamped to its bounds, or what its edit path fixes (see the README's
   * "Upstream kinds").
   */
  effective_params: EffectiveParams | null;
  result: { images: JobImage[] } | null;
  error: JobError | null;
  timings: {
    queued_ms: number | null;
    load_ms: number | null;
    inference_ms: number | null;
    total_ms: number | null;
  };
}

export interface EffectiveParams {
  size: string;
  n: number;
  num_inference_steps: number;
  guidance_scale: number;
  negative_prompt?: string;
  cfg_normalization?: boolean;
}

export interface JobPage {
  object: "list";
  data: Job[];
  next_cursor: string | null;
  has_more: boolean;
}

interface CommonParams {
  prompt: string;
  negative_prompt?: string;
  /** Images per job, 1..4. */
  n?: number;
  num_inference_steps?: number;
  guidance_scale?: number;
  cfg_normalization?: boolean;
  seed?: number;
  webhook?: { url: string; events?: WebhookEvent[] };
}

export interface GenerateParams extends CommonParams {
  /** "WIDTHxHEIGHT", both divisible by 32; default 1024x1024. */
  size?: string;
}

export interface EditParams extends CommonParams {
  /** Defaults to the input image's size. */
  size?: string;
}

export interface ListParams {
  status?: JobStatus;
  limit?: number;
  cursor?: string;
  created_after?: string;
  created_before?: string;
  /** `"me"`: your own jobs; `"all"`: everyone's (admins; an admin's default); a key id: that key's (admins). */
  owner?: string;
}

export interface KeyLimits {
  rate_per_minute: number;
  max_pending: number;
  priority_weight: number;
}

export interface ApiKey extends KeyLimits {
  id: string;
  name: string;
  role: "admin" | "user";
  prefix: string;
  created_at: string;
  revoked_at: string | null;
}

/** How an upstream runs each job kind: one held request, a task polled to completion, or not at all. */
export interface UpstreamModes {
  generate: "sync" | null;
  edit: "sync" | "async" | null;
}

export interface UpstreamCapabilities extends UpstreamModes {
  /** Whether each mode was discovered or pinned in ZIMAGE_UPSTREAMS. */
  source: { generate: "discovered" | "pinned"; edit: "discovered" | "pinned" };
  routes_from: "openapi" | "probe";
  routes: string[];
  models: Array<{ id: string; capabilities: string[] | null }>;
  health_shape: "single" | "pipelines" | "unknown";
  discovered_at: string;
}

export interface UpstreamParamRules {
  defaults: { num_inference_steps?: number; guidance_scale?: number };
  bounds: { num_inference_steps?: [number, number]; guidance_scale?: [number, number] };
}

export interface CircuitBreaker {
  state: "closed" | "open" | "half_open";
  consecutive_failures: number;
  opened_at: string | null;
  retry_at: string | null;
}

export interface Upstream {
  name: string;
  url: string | null;
  up: boolean | null;
  model_loaded: boolean | null;
  busy: boolean;
  current_job: string | null;
  owner: string | null;
  lease_term: number | null;
  jobs_done: number;
  last_job_at: string | null;
  last_unload_at: string | null;
  unloads: number;
  last_error: string | null;
  checked_at: string | null;
  models: string[] | null;
  /** Null until the upstream has been discovered (after it first answers). */
  capabilities: UpstreamCapabilities | null;
  /** `generate`, `edit`, `all` (one model serves both), `none`; null when the server does not say. */
  loaded_pipeline: "generate" | "edit" | "all" | "none" | null;
  breaker: CircuitBreaker | null;
  params: UpstreamParamRules | null;
  [field: string]: unknown;
}

/** `GET /v1/models`: OpenAI's model object plus what the gateway knows of each model. */
export interface Model {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  /** The upstreams serving the model. */
  upstreams: string[];
  /** The model's capabilities as its upstreams list them (`text-to-image`, `image-to-image`); null if unknown. */
  capabilities: string[] | null;
  /** Per upstream serving it: the operator's defaults and bounds (ZIMAGE_UPSTREAMS options). */
  params: Array<{ upstream: string } & UpstreamParamRules>;
}

export interface DeliveryAttempt {
  webhook_id: string;
  event: string;
  attempt: number;
  at: string;
  url: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  /** When the next attempt is due, or null when this one ended the delivery. */
  next_retry_at: string | null;
}

/** The body of a webhook delivery, once its signature is verified. */
export interface WebhookPayload {
  type: `job.${WebhookEvent}`;
  timestamp: string;
  data: Job;
}
