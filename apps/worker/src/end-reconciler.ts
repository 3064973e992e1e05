import {
  decodeFailure,
  findUnannouncedEnds,
  type JobData,
  type JobResult,
  type Logger,
  reportInternalError,
} from "@zimage/core";
import { Job, type Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { JobEndings } from "./job-endings";

import { PeriodicPass } from "./periodic-pass";
export interface EndReconcilerOptions {
  redis: Redis;
  prefix: string;
  queue: Queue<JobData, JobResult>;
  endings: JobEndings;
  intervalMs: number;
  logger: Logger;
}

/** How long the normal path has to announce an end before the reconciler steps in. */
const GRACE_MS = 10_000;
/** How far back it looks: ends older than this are past any webhook's use. */
const WINDOW_MS = 3_600_000;

/**
 * The safety net behind JobEndings: a job moved to completed or failed whose end nobody announced
 * (its dispatcher died between the two steps, or lost the answer of the move) is announced here.
 * Every worker process runs one; the end claim makes each end announced once whoever finds it.
 */
export class EndReconciler {
  private readonly periodic: PeriodicPass;

  constructor(private readonly opts: EndReconcilerOptions) {
    this.periodic = new PeriodicPass(
      () => this.sweep(),
      opts.intervalMs,
      (err) => reportInternalError(opts.logger, "end_reconcile", err),
    );
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One pass; returns how many ends it announced. */
  async sweep(now = Date.now()): Promise<number> {
    const { redis, prefix, queue, endings, logger } = this.opts;
    const found = await findUnannouncedEnds(redis, prefix, { from: now - WINDOW_MS, to: now - GRACE_MS });
    let announced = 0;
    for (const { id, state } of found) {
      const job = (await Job.fromId(queue, id)) as Job<JobData, JobResult> | undefined;
      if (!job) continue;
      const failure = state === "failed" ? decodeFailure(job.failedReason) : null;
      const status = !failure
        ? "succeeded"
        : failure.code === "job_canceled" || failure.code === "deadline_exceeded"
          ? "canceled"
          : "failed";
      logger.warn({ jobId: id, status }, "announcing a job end its dispatcher did not announce");
      await endings.ended(job, status, failure?.code);
      announced++;
    }
    return announced;
  }
}
