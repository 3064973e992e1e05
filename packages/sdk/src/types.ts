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
  result: { images: JobImage[] } | null;
  error: JobError | null;
  timings: {
    queued_ms: number | null;
    load_ms: number | null;
    inference_ms: number | null;
    total_ms: number | null;
  };
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
  /** Admins: one key's jobs. */
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

export interface Upstream {
  name: string;
  url: string | null;
  up: boolean | null;
  model_loaded: boolean | null;
  busy: boolean;
  current_job: string | null;
  jobs_done: number;
  last_job_at: string | null;
  last_unload_at: string | null;
  unloads: number;
  last_error: string | null;
  models: string[] | null;
  [field: string]: unknown;
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
