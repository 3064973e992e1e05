import { z } from "zod";
import { effectiveParamsSchema } from "./effective-params";
import { decodeFailure } from "./job-failure";
import type { JobData, JobProgress, JobResult } from "./job-record";
import { PRIORITY_CLASSES } from "./job-request";

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The public job view: one shape for GET, SSE, webhooks and the SDK (DESIGN.md). */
export const jobViewSchema = z.object({
  id: z.string(),
  object: z.literal("image.job"),
  kind: z.enum(["generate", "edit"]),
  status: z.enum(JOB_STATUSES),
  phase: z.enum(["loading", "generating"]).nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  queue_position: z
    .number()
    .int()
    .nullable()
    .describe(
      "While the job is queued, its 1-based place in the order jobs run (1 = the next one a free GPU takes; a retry waiting out its backoff counts behind the jobs of its priority); always an integer while queued, null otherwise.",
    ),
  eta_seconds: z
    .number()
    .int()
    .nullable()
    .describe(
      "Estimated seconds until the job is done, while it is queued or running; null otherwise, and until some upstream has finished a job. A job's cost is width × height × steps × n; each upstream's inference time is learned from the jobs it ran as overhead + rate × cost (exponentially weighted least squares), and its model load time apart. Queued: the running jobs' remaining time, then the jobs ahead in queue order, each on the upstream able to run it that starts it first (with a model load where its pipeline is cold), then this job. Running: its expected time minus the time it has run, never below 0. An estimate, not a promise.",
    ),
  upstream: z.string().nullable(),
  attempts: z.number().int(),
  params: z.record(z.string(), z.unknown()),
  /** The priority class (issue #19): interactive jobs run before batch jobs. */
  priority: z.enum(PRIORITY_CLASSES),
  /** When a job not yet finished is canceled with `deadline_exceeded` (`cancel_after`); null: never. */
  deadline_at: z.string().nullable(),
  /** The batch the job was submitted in (`POST /v1/batches`); null for a single job. */
  batch_id: z.string().nullable(),
  /** What the upstream actually ran, once the job has succeeded (null before, and for older jobs). */
  effective_params: effectiveParamsSchema.nullable(),
  result: z
    .object({
      images: z.array(
        z.object({
          url: z.string(),
          width: z.number().int(),
          height: z.number().int(),
          bytes: z.number().int(),
          sha256: z.string(),
          revised_prompt: z.string().nullable(),
        }),
      ),
    })
    .nullable(),
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }).nullable(),
  timings: z.object({
    queued_ms: z.number().int().nullable(),
    load_ms: z.number().int().nullable(),
    inference_ms: z.number().int().nullable(),
    total_ms: z.number().int().nullable(),
  }),
});
export type JobView = z.infer<typeof jobViewSchema>;

/** BullMQ's states as returned by Job.getState(). */
export type QueueState =
  | "waiting"
  | "prioritized"
  | "waiting-children"
  | "delayed"
  | "active"
  | "completed"
  | "failed"
  | "unknown";

export function statusOf(
  state: QueueState,
  failedReason?: string,
  cancelRequested = false,
): JobStatus | null {
  // A running job asked to cancel is canceled for its owner at once; the GPU finishes regardless.
  if (cancelRequested && state !== "completed" && state !== "failed" && state !== "unknown")
    return "canceled";
  switch (state) {
    case "waiting":
    case "prioritized":
    case "waiting-children":
    case "delayed": // a retry waiting out its backoff is queued again
      return "queued";
    case "active":
      return "running";
    case "completed":
      return "succeeded";
    case "failed":
      return CANCEL_CODES.has(decodeFailure(failedReason).code) ? "canceled" : "failed";
    default:
      return null;
  }
}

/** The fields of a BullMQ job the view needs; a structural type so core does not tie views to a Job instance. */
export interface JobSnapshot {
  id: string;
  data: JobData;
  state: QueueState;
  timestamp: number;
  processedOn?: number | undefined;
  finishedOn?: number | undefined;
  attemptsMade: number;
  progress: unknown;
  returnvalue: JobResult | null | undefined;
  failedReason?: string | undefined;
  /** When the owner asked to cancel a job that was already running (or its deadline passed). */
  cancelRequestedAt?: number | null | undefined;
  /** Why: the owner's cancel (absent) or the job's deadline. */
  cancelCode?: CancelCode | null | undefined;
}

export interface ViewContext {
  /** The URL of image `index` of job `id` (absolute, usually signed). */
  imageUrl: (id: string, index: number) => string;
  queuePosition: number | null;
  etaSeconds: number | null;
}

export const CANCELED_WHILE_RUNNING = {
  code: "job_canceled" as const,
  message: "canceled while running: the GPU finishes its current work and the result is discarded",
};

/** A running job past its deadline (`cancel_after`) is discarded like a running cancel (issue #19). */
export const DEADLINE_WHILE_RUNNING = {
  code: "deadline_exceeded" as const,
  message:
    "the job's deadline (cancel_after) passed while it ran: the GPU finishes its current work and the result is discarded",
};

export const DEADLINE_WHILE_QUEUED = {
  code: "deadline_exceeded" as const,
  message: "the job's deadline (cancel_after) passed before it started",
};

/** The failure codes whose job status is `canceled`: the owner's cancel and a passed deadline. */
export type CancelCode = "job_canceled" | "deadline_exceeded";
const CANCEL_CODES: ReadonlySet<string> = new Set<CancelCode>(["job_canceled", "deadline_exceeded"]);

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);

function isProgress(p: unknown): p is JobProgress {
  return typeof p === "object" && p !== null && "phase" in p && "upstream" in p;
}

export function buildJobView(job: JobSnapshot, ctx: ViewContext): JobView | null {
  const status = statusOf(job.state, job.failedReason, !!job.cancelRequestedAt);
  if (!status) return null;
  const progress = isProgress(job.progress) ? job.progress : null;
  const result = status === "succeeded" ? (job.returnvalue ?? null) : null;
  const running = status === "running";
  const finished = status === "succeeded" || status === "failed" || status === "canceled";
  const cancelPending = status === "canceled" && job.state === "active";
  const failure = cancelPending
    ? job.cancelCode === "deadline_exceeded"
      ? DEADLINE_WHILE_RUNNING
      : CANCELED_WHILE_RUNNING
    : status === "failed" || status === "canceled"
      ? decodeFailure(job.failedReason)
      : null;
  const startedAt = running || finished ? job.processedOn : undefined;
  const finishedOn = cancelPending ? (job.cancelRequestedAt ?? undefined) : job.finishedOn;
  return {
    id: job.id,
    object: "image.job",
    kind: job.data.kind,
    status,
    phase: running ? (progress?.phase ?? null) : null,
    created_at: iso(job.timestamp)!,
    started_at: iso(startedAt),
    completed_at: finished ? iso(finishedOn) : null,
    queue_position: status === "queued" ? ctx.queuePosition : null,
    eta_seconds: status === "queued" || running ? ctx.etaSeconds : null,
    upstream: result?.upstream ?? progress?.upstream ?? null,
    attempts: job.attemptsMade,
    params: job.data.params as Record<string, unknown>,
    // Jobs queued before classes existed carry no class: they were all served as interactive.
    priority: job.data.priority ?? "interactive",
    deadline_at: job.data.deadline_at ? new Date(job.data.deadline_at).toISOString() : null,
    batch_id: job.data.batch_id ?? null,
    effective_params: result?.effective_params ?? null,
    result: result
      ? {
          images: result.images.map((img, i) => ({
            url: ctx.imageUrl(job.id, i),
            width: img.width,
            height: img.height,
            bytes: img.bytes,
            sha256: img.sha256,
            revised_prompt: img.revised_prompt,
          })),
        }
      : null,
    error: failure,
    timings: {
      queued_ms: startedAt ? startedAt - job.timestamp : null,
      load_ms: result ? result.load_ms : null,
      inference_ms: result ? result.inference_ms : null,
      total_ms: finished && finishedOn ? finishedOn - job.timestamp : null,
    },
  };
}
