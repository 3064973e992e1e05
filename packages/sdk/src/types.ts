/** The gateway's public shapes, as its OpenAPI document (GET /openapi.json) describes them. */

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "canceled";
export type JobKind = "generate" | "edit";
export type WebhookEvent = "queued" | "running" | "succeeded" | "failed" | "canceled";
/** Interactive jobs are dispatched ahead of batch jobs; fair share applies within each class. */
export type PriorityClass = "interactive" | "batch";

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
  /** Its priority class (jobs queued before classes existed read "interactive"). */
  priority: PriorityClass;
  /**
   * When the job is canceled with error code `deadline_exceeded` if it has not finished (from
   * `cancel_after`); null: no deadline.
   */
  deadline_at: string | null;
  /** The batch it was submitted in; null for a single job. */
  batch_id: string | null;
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
  /** Default: interactive (or batch, when your key may only use batch). */
  priority?: PriorityClass;
  /**
   * A deadline: seconds from now (at least 1), or an ISO 8601 timestamp with an offset. A job not
   * finished by then ends `canceled` with error code `deadline_exceeded`; a running one's result is
   * discarded.
   */
  cancel_after?: number | string;
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
  /** The priority classes the key may submit; a key limited to ["batch"] gets batch by default. */
  priority_classes: PriorityClass[];
  /** GPU seconds the key may use per UTC day; null: unlimited. */
  gpu_seconds_per_day: number | null;
  /** GPU seconds the key may use per UTC month; null: unlimited. */
  gpu_seconds_per_month: number | null;
}

/** Jobs that ran on a GPU, the images they delivered, and the GPU time they used (load + inference). */
export interface UsageFigures {
  jobs: number;
  images: number;
  gpu_seconds: number;
}

export interface UsageDay extends UsageFigures {
  /** The UTC day, YYYY-MM-DD. */
  date: string;
  upstreams: Record<string, UsageFigures>;
}

/** `GET /v1/usage`: a key's usage by UTC day and by upstream. */
export interface Usage {
  object: "usage";
  from: string;
  to: string;
  /** The key id, or "all". */
  key: string;
  totals: UsageFigures;
  /** Days with usage only, oldest first. */
  days: UsageDay[];
  by_upstream: Record<string, UsageFigures>;
  /** With key "all" (admin): each key with usage in the range, most GPU time first. */
  by_key?: Array<UsageFigures & { key: string; name: string | null }>;
}

export interface UsageParams {
  /** Another key's id, or "all" (admin only). Default: your own key. */
  key?: string;
  /** First UTC day, YYYY-MM-DD (default: 29 days before `to`). */
  from?: string;
  /** Last UTC day, YYYY-MM-DD (default: today). At most 366 days in all. */
  to?: string;
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
  /** 0 for the delivery as first sent; n for its n-th redelivery (whose attempts count from 1 again). */
  redelivery: number;
}

/** The answer to `redeliver`: the delivery is queued again, with the same webhook-id. */
export interface Redelivery {
  object: "webhook.redelivery";
  webhook_id: string;
  job_id: string;
  event: WebhookEvent;
  redelivery: number;
  /** How it had ended: retries used up (or ended by a 4xx / the SSRF guard), or accepted. */
  previous_state: "exhausted" | "delivered";
}

/** A delivery that ended unaccepted, as the admins' dead-letter view lists it. */
export interface DeadLetter {
  object: "webhook.delivery";
  webhook_id: string;
  job_id: string;
  event: WebhookEvent;
  /** The API key id that owns the job. */
  owner: string;
  url: string;
  state: "exhausted";
  ended_at: string;
  /** Attempts of its last run (the first send, or its latest redelivery). */
  attempts: number;
  redelivery: number;
  error: string | null;
}

export interface DeadLetterPage {
  object: "list";
  data: DeadLetter[];
  next_cursor: string | null;
  has_more: boolean;
}

/** The body of a webhook delivery, once its signature is verified. */
export interface WebhookPayload {
  type: `job.${WebhookEvent}`;
  timestamp: string;
  data: Job;
}

export type BatchStatus = "queued" | "running" | "completed" | "canceled";

export interface BatchCounts {
  /** Every job of the batch, including any already deleted or swept (RESULT_TTL). */
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  canceled: number;
}

/** `GET /v1/batches/:id`: the batch, its counts by job status, and a page of its jobs. */
export interface Batch {
  id: string;
  object: "batch";
  /** canceled once canceled; else queued until a job starts, running until every job has ended, completed. */
  status: BatchStatus;
  created_at: string;
  canceled_at: string | null;
  counts: BatchCounts;
  /** Present on GET /v1/batches/:id: jobs in submit order, paged by `next_cursor`. */
  jobs?: JobPage;
}

/** A job of a batch: a text-to-image request (edits need an upload each, so they are not batchable). */
export interface BatchJobParams extends GenerateParams {
  /** Default "batch" in a batch: interactive jobs go ahead of it. */
  priority?: "interactive" | "batch";
  /** Seconds from submit, or an ISO 8601 timestamp with offset. */
  cancel_after?: number | string;
}

/** `POST /v1/batches`: `{jobs: [...]}`, or one request's parameters with `prompts`. */
export type BatchCreateParams =
  | { jobs: BatchJobParams[]; webhook?: GenerateParams["webhook"] }
  | (Omit<BatchJobParams, "prompt"> & { prompts: string[] });

/** The answer to `POST /v1/batches`: the batch with every job id, in submit order. */
export interface BatchCreated extends Batch {
  job_ids: string[];
}

export interface BatchPage {
  object: "list";
  data: Batch[];
  next_cursor: string | null;
  has_more: boolean;
}
