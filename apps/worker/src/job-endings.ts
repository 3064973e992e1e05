import {
  claimJobEnd,
  countUpstreamEvent,
  type DeliveryData,
  forgetDeadline,
  type JobData,
  type JobResult,
  type Logger,
  markDispatched,
  notifyWebhook,
  removePending,
  reported,
} from "@zimage/core";
import type { Job, Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { GpuAccounting } from "./gpu-accounting";
import type { WorkerMetrics } from "./metrics";

export interface JobEndingsOptions {
  redis: Redis;
  prefix: string;
  upstream: string;
  metrics: WorkerMetrics;
  webhooks: Queue<DeliveryData>;
  webhookSchedule: number[];
  /** RESULT_TTL: how long the claim on a job's end is kept. */
  retentionSeconds: number;
  logger: Logger;
  /** GPU usage per key: a job that reached a GPU counts once, with its images (issue #19). */
  usage?: GpuAccounting;
}

export type JobEnd = "succeeded" | "failed" | "canceled";

/**
 * The one place where a job's end is observed: after it, the job no longer counts against its
 * owner's pending limit, and — once per job across every process (claimJobEnd) — its metrics are
 * counted and its webhook is queued. Every terminal path of the dispatcher goes through here: a
 * completion, a final failure, a discarded cancel, a job BullMQ gave up on for stalling.
 */
export class JobEndings {
  constructor(private readonly opts: JobEndingsOptions) {}

  /** The job reached the GPU: its `running` webhook, if it asked for one. */
  async notifyRunning(job: Job<JobData, JobResult>): Promise<void> {
    await notifyWebhook(this.opts.webhooks, job.id!, job.data, "running", this.opts.webhookSchedule).catch(
      reported(this.opts.logger, "webhook_enqueue", { jobId: job.id, event: "running" }),
    );
  }

  /**
   * A running job's deadline passed (issue #19): announced at once, as the api announces an owner's
   * running cancel (`announceCancel`), through the same end claim, so the dispatcher's later discard
   * (`ended(job, "canceled")`) only releases the pending slot. The job still counts as pending until
   * its GPU work is done.
   */
  async deadlinePassedWhileRunning(job: Job<JobData, JobResult>): Promise<void> {
    const { redis, prefix, logger } = this.opts;
    const jobId = job.id!;
    const first = await claimJobEnd(redis, prefix, jobId, "canceled", this.opts.retentionSeconds).catch(
      reported(logger, "job_end_claim", { jobId }),
    );
    if (first === false) return;
    await notifyWebhook(this.opts.webhooks, jobId, job.data, "canceled", this.opts.webhookSchedule).catch(
      reported(logger, "webhook_enqueue", { jobId, event: "canceled" }),
    );
  }

  async ended(job: Job<JobData, JobResult>, status: JobEnd, reason?: string): Promise<void> {
    const { redis, prefix, logger } = this.opts;
    const jobId = job.id!;
    // The upstream that ran it (a reconciled end may be another upstream's).
    const upstream = job.returnvalue?.upstream ?? (job.progress as { upstream?: string } | null)?.upstream;
    const labels = { kind: job.data.kind, upstream: upstream ?? this.opts.upstream };
    const [, , first] = await Promise.all([
      // Its own once-only record, not the end claim: the api claims the end of a running job it
      // cancels, yet that job used the GPU.
      this.opts.usage?.recordEnd(job, labels.upstream, status === "succeeded"),
      removePending(redis, prefix, job.data.owner, jobId).catch(
        reported(logger, "pending_remove", { jobId }),
      ),
      claimJobEnd(redis, prefix, jobId, status, this.opts.retentionSeconds).catch(
        reported(logger, "job_end_claim", { jobId }),
      ),
      // A job that ended without being marked running (failed at dispatch over its GPU budget, or
      // fetched past its deadline) still leaves queued-since, or the fair clock could not reset.
      markDispatched(redis, prefix, jobId).catch(reported(logger, "queued_since_clear", { jobId })),
      // An ended job leaves the deadline index (a missed removal is dropped by the sweep at its deadline).
      job.data.deadline_at
        ? forgetDeadline(redis, prefix, jobId).catch(reported(logger, "deadline_forget", { jobId }))
        : null,
    ]);
    // Already announced by another observer (the api for a cancel, or an earlier attempt). When the
    // claim itself failed (undefined), announcing risks a repeat, which receivers de-duplicate by
    // webhook-id, where staying silent would lose the end.
    if (first === false) return;
    if (status === "succeeded") {
      this.opts.metrics.jobsCompleted.inc(labels);
      this.opts.metrics.jobDuration.observe({ kind: job.data.kind }, (Date.now() - job.timestamp) / 1000);
    } else if (status === "failed") {
      this.opts.metrics.jobsFailed.inc({ ...labels, reason: reason ?? "internal_error" });
    }
    await Promise.all([
      notifyWebhook(this.opts.webhooks, jobId, job.data, status, this.opts.webhookSchedule).catch(
        reported(logger, "webhook_enqueue", { jobId, event: status }),
      ),
      status === "succeeded"
        ? countUpstreamEvent(redis, prefix, labels.upstream, "jobs_done").catch(
            reported(logger, "upstream_state_write", { jobId }),
          )
        : null,
    ]);
  }
}
