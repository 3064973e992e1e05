import {
  admitDispatch,
  type DispatchAdmission,
  type JobData,
  type JobResult,
  type Logger,
  recordGpuAttempt,
  recordJobUsage,
  releaseDispatch,
  reported,
} from "@zimage/core";
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import type { GpuMeter } from "./gpu-meter";
import type { WorkerMetrics } from "./metrics";

type AnyJob = Job<JobData, JobResult>;

export interface GpuAccountingOptions {
  redis: Redis;
  prefix: string;
  upstream: string;
  metrics: WorkerMetrics;
  logger: Logger;
  /** USAGE_RETENTION_DAYS in seconds: how long a day's usage is kept. */
  retentionSeconds: number;
  /** The most GPU time one dispatch can take (gpuBoundMs): what a running job reserves of a budget. */
  boundMs: number;
  /** The longest a dispatch can last on the wall clock (dispatchLifetimeMs): how long that reservation lives. */
  lifetimeMs?: number;
}

/** Default USAGE_RETENTION_DAYS (400 days), for dispatchers built without it (tests). */
export const DEFAULT_USAGE_RETENTION_SECONDS = 400 * 86_400;

/** Which dispatch of a job this is (BullMQ counts every start), as the result file names use it. */
export const runOf = (job: AnyJob) => job.attemptsStarted || job.attemptsMade + 1;

/**
 * A dispatcher's side of GPU usage and budgets (issue #19): the budget check before a job is sent
 * (admitDispatch), the GPU time of each dispatch, and a job's count and images at its end. Every
 * record is once-only in Redis (gpu-usage.ts), and the Prometheus totals move only with a first record,
 * so a repeat by another observer counts nowhere.
 */
export class GpuAccounting {
  constructor(private readonly opts: GpuAccountingOptions) {}

  admit(job: AnyJob): Promise<DispatchAdmission> {
    const { redis, prefix, boundMs, lifetimeMs } = this.opts;
    return admitDispatch(redis, prefix, {
      id: job.id!,
      owner: job.data.owner,
      boundMs,
      ...(lifetimeMs !== undefined ? { lifetimeMs } : {}),
    });
  }

  /** An admitted job was not sent after all (canceled, lease lost): its reservation goes. */
  async release(job: AnyJob): Promise<void> {
    await releaseDispatch(this.opts.redis, this.opts.prefix, job.data.owner, job.id!).catch(
      reported(this.opts.logger, "usage_write", { jobId: job.id }),
    );
  }

  /** The GPU time of one dispatch, whatever its outcome; releases the job's reservation. */
  async recordAttempt(job: AnyJob, meter: GpuMeter): Promise<void> {
    const { redis, prefix, upstream, metrics, logger } = this.opts;
    const first = await recordGpuAttempt(redis, prefix, {
      owner: job.data.owner,
      upstream,
      jobId: job.id!,
      run: runOf(job),
      at: Date.now(),
      retentionSeconds: this.opts.retentionSeconds,
      loadMs: meter.loadMs,
      inferenceMs: meter.inferenceMs,
    }).catch(reported(logger, "usage_write", { jobId: job.id }));
    if (!first) return;
    const labels = { upstream, kind: job.data.kind };
    if (meter.loadMs > 0) metrics.gpuSeconds.inc({ ...labels, phase: "load" }, meter.loadMs / 1000);
    if (meter.inferenceMs > 0)
      metrics.gpuSeconds.inc({ ...labels, phase: "inference" }, meter.inferenceMs / 1000);
  }

  /**
   * A job ended: if it ever reached a GPU (a dispatcher set its phase before sending), it counts as
   * one job of its key on `upstream` (the one that ran it), with the images it delivered.
   */
  async recordEnd(job: AnyJob, upstream: string, succeeded: boolean): Promise<void> {
    const progress = job.progress as { phase?: string } | null | undefined;
    if (!progress || typeof progress !== "object" || !progress.phase) return;
    const images = succeeded ? (job.returnvalue?.images.length ?? 0) : 0;
    const { redis, prefix, metrics, logger } = this.opts;
    const first = await recordJobUsage(redis, prefix, {
      owner: job.data.owner,
      upstream,
      jobId: job.id!,
      at: Date.now(),
      retentionSeconds: this.opts.retentionSeconds,
      images,
    }).catch(reported(logger, "usage_write", { jobId: job.id }));
    if (first && images > 0) metrics.imagesProduced.inc({ upstream, kind: job.data.kind }, images);
  }
}
