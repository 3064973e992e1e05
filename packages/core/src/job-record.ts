import type { ErrorCode } from "./errors";
import type { JobKind, JobParams } from "./job-request";

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

/** What the api puts in BullMQ's job data. Small: parameters and references, never image bytes. */
export interface JobData {
  kind: JobKind;
  /** Id of the API key that submitted the job (`local` in open local mode). */
  owner: string;
  params: JobParams;
  /**
   * Parameters the client did not give (their values in `params` are the gateway's defaults): an
   * upstream with defaults of its own (ZIMAGE_UPSTREAMS `;steps=8`) uses those instead.
   */
  defaulted?: Array<"num_inference_steps" | "guidance_scale">;
  input?: InputImageRef;
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
}

export type JobPhase = "loading" | "generating";

/** Reported through BullMQ job progress while the job runs. */
export interface JobProgress {
  phase: JobPhase;
  upstream: string;
}

export interface JobFailure {
  code: ErrorCode;
  message: string;
  details?: unknown;
}
