import { type Logger, recordQueueDepth } from "@zimage/core";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";

const SAMPLE_MS = 15_000;

/** Samples the queue's depth into the per-minute history that `GET /v1/admin/queue-history` reads. */
export class QueueDepthSampler {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: { redis: Redis; prefix: string; queue: Queue; logger: Logger },
    private readonly intervalMs = SAMPLE_MS,
  ) {}

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async sample(): Promise<void> {
    try {
      const c = await this.deps.queue.getJobCounts("waiting", "prioritized", "delayed", "active");
      await recordQueueDepth(this.deps.redis, this.deps.prefix, {
        queued: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0),
        running: c.active ?? 0,
      });
    } catch (err) {
      // Redis down: the chart has a gap for these minutes, nothing else depends on it.
      this.deps.logger.debug({ err: (err as Error).message }, "queue depth sample skipped");
    }
  }
}
