import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { QUEUES } from "../queues";

export interface JobQueueOptions {
  connection: Redis;
  prefix: string;
  /** How long finished jobs (and so their views) stay in Redis. */
  retentionSeconds: number;
  attempts: number;
  /** First retry delay; each further retry doubles it. */
  backoffMs: number;
}

/**
 * The `generate` queue with the gateway's defaults. Finished jobs are kept for a bounded time only
 * (BullMQ keeps them forever by default: DESIGN.md); retries back off exponentially.
 */
export function createJobQueue(opts: JobQueueOptions): Queue {
  return new Queue(QUEUES.generate, {
    connection: opts.connection,
    prefix: opts.prefix,
    defaultJobOptions: {
      attempts: opts.attempts,
      backoff: { type: "exponential", delay: opts.backoffMs },
      // The worker's result sweeper removes finished jobs at RESULT_TTL (with their images); this is
      // only the backstop that keeps Redis bounded if no worker runs a sweeper.
      removeOnComplete: { age: Math.ceil(opts.retentionSeconds * 2) },
      removeOnFail: { age: Math.ceil(opts.retentionSeconds * 2) },
    },
  });
}
