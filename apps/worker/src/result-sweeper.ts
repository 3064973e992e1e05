import { forgetJobs, type JobData, type Logger, markGone, QUEUES, reported } from "@zimage/core";
import { deleteJobFiles, type ObjectStore } from "@zimage/storage";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";

export interface ResultSweeperOptions {
  connection: Redis;
  prefix: string;
  store: ObjectStore;
  /** RESULT_TTL: a job finished longer ago than this is deleted with its images. */
  ttlMs: number;
  intervalMs: number;
  owner: string;
  logger: Logger;
}

const BATCH = 200;

/**
 * Deletes finished jobs older than RESULT_TTL: their images and input on disk, the job in Redis and
 * its bookkeeping (listing indexes, pending set, queued-since: `forgetJobs`), and leaves a "gone"
 * marker so the owner gets 410 rather than 404. One worker process sweeps at a time (a short Redis
 * lease); the others skip the round.
 */
export class ResultSweeper {
  private readonly queue: Queue;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;

  constructor(private readonly opts: ResultSweeperOptions) {
    this.queue = new Queue(QUEUES.generate, { connection: opts.connection, prefix: opts.prefix });
  }

  start(): void {
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.sweepIfLeader().finally(() => (this.running = null));
    }, this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.queue.close();
  }

  private async sweepIfLeader(): Promise<void> {
    const lease = await this.opts.connection
      .set(
        `${this.opts.prefix}:sweeper:lease`,
        this.opts.owner,
        "PX",
        Math.max(1_000, this.opts.intervalMs),
        "NX",
      )
      .catch(reported(this.opts.logger, "sweeper_lease"));
    if (lease !== "OK") return;
    const removed = await this.sweep().catch((err: Error) => {
      this.opts.logger.warn({ err: err.message }, "result sweep failed; retrying next round");
      return 0;
    });
    if (removed > 0)
      this.opts.logger.info({ removed, ttlMs: this.opts.ttlMs }, "result sweeper deleted expired jobs");
  }

  /** One pass; returns how many jobs were deleted. */
  async sweep(): Promise<number> {
    const cutoff = Date.now() - this.opts.ttlMs;
    let removed = 0;
    for (const set of [this.queue.keys.completed!, this.queue.keys.failed!]) {
      for (;;) {
        // Finished sets are scored by finishedOn, oldest first.
        const ids = await this.opts.connection.zrangebyscore(set, "-inf", cutoff, "LIMIT", 0, BATCH);
        const swept: Array<{ id: string; owner: string | null }> = [];
        for (const id of ids) {
          const job = await this.queue.getJob(id);
          const owner = (job?.data as JobData | undefined)?.owner ?? "";
          await deleteJobFiles(this.opts.store, id, reported(this.opts.logger, "job_files_delete"));
          await markGone(this.opts.connection, this.opts.prefix, id, owner);
          if (job) await job.remove();
          else await this.opts.connection.zrem(set, id);
          swept.push({ id, owner: owner || null });
          removed++;
        }
        await forgetJobs(this.opts.connection, this.opts.prefix, swept);
        if (ids.length < BATCH) break;
      }
    }
    return removed;
  }
}
