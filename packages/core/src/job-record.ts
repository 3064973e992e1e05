import type { EffectiveParams } from "./effective-params";
import type { ErrorCode } from "./errors";
import type { JobKind, JobParams, PriorityClass } from "./job-request";

/** The input image of an edit job, as saved in storage (never in Redis). */
export interface InputImageRef {
  key: string;
  contentType: "image/png" | "image/jpeg";
  filename: string;
  bytes: number;
  sha256: string;
  width: number;
  height: number;
}

/** The request fields an upstream may give its own default for (ZIMAGE_UPSTREAMS `steps`, `guidance`). */
export type DefaultableParam = "num_inference_steps" | "guidance_scale";

/** What the api puts in BullMQ's job data. Small: parameters and references, never image bytes. */
export interface JobData {
  kind: JobKind;
  /** Id of the API key that submitted the job (`local` in open local mode). */
  owner: string;
  params: JobParams;
  input?: InputImageRef;
  /**
   * The parameters the submitter left out, which `params` holds with the gateway's defaults: a
   * dispatcher replaces them with its upstream's defaults when the operator set some (issue #15).
   * Absent on jobs queued before this field existed (treat as none left out).
   */
  defaulted?: DefaultableParam[];
  /** The priority class (issue #19); absent on jobs queued before classes existed: interactive. */
  priority?: PriorityClass;
  /** Epoch ms of the job's deadline (`cancel_after` resolved at submit); absent: none. */
  deadline_at?: number;
  /** The batch the job was submitted in (`POST /v1/batches`); absent for a single job. */
  batch_id?: string;
  /** Where to deliver this job's state changes, and which ones. */
  webhook?: { url: string; events: Array<"queued" | "running" | "succeeded" | "failed" | "canceled"> };
}

export interface ResultImage {
  key: string;
  width: number;
  height: number;
  bytes: number;
  sha256: string;
  revised_prompt: string | null;
}

/** The worker's return value for a succeeded job: metadata only (DESIGN: images never live in Redis). */
export interface JobResult {
  images: ResultImage[];
  upstream: string;
  /** 0 when the model was already loaded at dispatch; null when a load happened too fast to observe. */
  load_ms: number | null;
  inference_ms: number;
  /** What the upstream ran (see effective-params.ts); absent on results recorded before issue #15. */
  effective_params?: EffectiveParams;
}

export type JobPhase = "loading" | "generating";

/** Reported through BullMQ job progress while the job runs. */
export interface JobProgress {
  phase: JobPhase;
  upstream: string;
  /** Epoch ms when the phase became `generating`: a running job's ETA counts inference from here. */
  generating_since?: number;
}

export interface JobFailure {
  code: ErrorCode;
  message: string;
  details?: unknown;
}
