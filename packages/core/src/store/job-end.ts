import type { Redis } from "ioredis";
import type { JobStatus } from "../job-view";

/**
 * A job's end is announced (SSE, webhook, metrics, pending count) by whoever claims it first: the
 * dispatcher that settled it, the api that removed it from the queue, or a process that found it
 * failed by BullMQ itself. The claim makes "every job ends exactly once" hold however many observers
 * see the same end. Kept for the retention period, like the job.
 */
export const endedKey = (prefix: string, id: string) => `${prefix}:job:${id}:ended`;

export async function claimJobEnd(
  redis: Redis,
  prefix: string,
  id: string,
  status: Extract<JobStatus, "succeeded" | "failed" | "canceled">,
  ttlSeconds: number,
): Promise<boolean> {
  // At least a day, so a claim outlives any announcement path that could still see the same end.
  return (await redis.set(endedKey(prefix, id), status, "EX", Math.max(86_400, ttlSeconds), "NX")) === "OK";
}

/** Forgets the claim with the job (delete, sweep). */
export async function forgetJobEnd(redis: Redis, prefix: string, id: string): Promise<void> {
  await redis.del(endedKey(prefix, id));
}
