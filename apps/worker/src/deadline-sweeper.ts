import {
  dueDeadlines,
  forgetDeadline,
  type JobData,
  type JobResult,
  type Logger,
  markDispatched,
  publishJobEvent,
  reported,
  reportInternalError,
  requestCancel,
  writeTombstone,
} from "@zimage/core";
import type { ObjectStore } from "@zimage/storage";
import { Job, type Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { JobEndings } from "./job-endings";

import { PeriodicPass } from "./periodic-pass";
export interface DeadlineSweeperOptions {
  redis: Redis;
  prefix: string;
  queue: Queue<JobData, JobResult>;
  store: ObjectStore;
  endings: JobEndings;
  /** RESULT_TTL: how long a canceled job's tombstone and cancel flag are kept. */
  retentionSeconds: number;
  intervalMs: number;
  logger: Logger;
}

/** Jobs handled per pass at most; a longer backlog of due deadlines is taken over the next passes. */
const PER_PASS = 200;

/**
 * Fires job deadlines (`cancel_after`, issue #19) from the deadline index. A job still queued at its
 * deadline is removed from the queue and ends `canceled` with `deadline_exceeded` (a tombstone, as an
 * owner's cancel of a queued job leaves); a running one gets the cancel flag with that reason, so
 * its view says canceled at once and its dispatcher discards the result when the GPU answers, as for
 * an owner's running cancel. Every worker process sweeps: BullMQ's remove succeeds once, the cancel
 * flag is set once (SET NX), and every end is announced once through the end claim (JobEndings).
 */
export class DeadlineSweeper {
  private readonly periodic: PeriodicPass;

  constructor(private readonly opts: DeadlineSweeperOptions) {
    this.periodic = new PeriodicPass(
      () => this.sweep(),
      opts.intervalMs,
      (err) => reportInternalError(opts.logger, "deadline_sweep", err),
    );
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One pass; returns how many jobs it canceled (queued) or flagged (running). */
  async sweep(now = Date.now()): Promise<number> {
    const { redis, prefix } = this.opts;
    let fired = 0;
    for (const id of await dueDeadlines(redis, prefix, now, PER_PASS)) {
      if (await this.fire(id)) fired++;
      // Handled, or the job already ended: either way its entry has done its work.
      await forgetDeadline(redis, prefix, id);
    }
    return fired;
  }

  private async fire(id: string): Promise<boolean> {
    const { queue } = this.opts;
    const job = (await Job.fromId(queue, id)) as Job<JobData, JobResult> | undefined;
    if (!job) return false;
    let state = await job.getState();
    if (state === "waiting" || state === "prioritized" || state === "delayed") {
      const removed = await job.remove().then(
        () => true,
        () => false, // a dispatcher took it in the meantime: it is flagged as a running job below
      );
      if (removed) {
        await this.endQueued(job);
        return true;
      }
      state = await queue.getJobState(id);
    }
    if (state === "active") return this.flagRunning(job);
    return false;
  }

  private async endQueued(job: Job<JobData, JobResult>): Promise<void> {
    const { redis, prefix, logger } = this.opts;
    const jobId = job.id!;
    // The tombstone first: the `canceled` webhook and every read of the job take the view from it.
    await writeTombstone(
      redis,
      prefix,
      jobId,
      { data: job.data, timestamp: job.timestamp, canceledAt: Date.now(), code: "deadline_exceeded" },
      this.opts.retentionSeconds,
    );
    await markDispatched(redis, prefix, jobId).catch(reported(logger, "queued_since_clear", { jobId }));
    logger.info({ jobId }, "job canceled: its deadline passed while queued");
    await this.opts.endings.ended(job, "canceled", "deadline_exceeded");
    await publishJobEvent(redis, prefix, { id: jobId, type: "changed", owner: job.data.owner }).catch(
      reported(logger, "job_event_publish", { jobId }),
    );
    if (job.data.input)
      await this.opts.store.delete(job.data.input.key).catch(reported(logger, "input_delete", { jobId }));
  }

  private async flagRunning(job: Job<JobData, JobResult>): Promise<boolean> {
    const { redis, prefix, logger } = this.opts;
    const jobId = job.id!;
    const answer = await requestCancel(redis, prefix, jobId, this.opts.retentionSeconds, "deadline_exceeded");
    // Its outcome was decided first (it is completing), or its owner canceled it already.
    if (!answer.canceled) return false;
    logger.info({ jobId }, "job canceled: its deadline passed while it ran; its result will be discarded");
    await this.opts.endings.deadlinePassedWhileRunning(job);
    await publishJobEvent(redis, prefix, { id: jobId, type: "changed", owner: job.data.owner }).catch(
      reported(logger, "job_event_publish", { jobId }),
    );
    return true;
  }
}
