import type { Redis } from "ioredis";

/**
 * The deadline index (issue #19): a ZSET of job ids scored by their deadline (epoch ms), written with
 * the submit's reservation (reserve-submit.ts) and swept by every worker process (the worker's
 * deadline-sweeper.ts), which cancels a queued job at its deadline and flags a running one. Bounded:
 * an entry leaves when its job ends (JobEndings, the api's cancel) or, at the latest, when its
 * deadline comes and the sweep finds the job already ended — so it never holds more than the jobs
 * queued or running with a deadline, plus ended ones for at most their own `cancel_after`.
 */
export const deadlineIndexKey = (prefix: string): string => `${prefix}:deadlines`;

/** The ids whose deadline is at or before `now`, earliest first, at most `limit`. */
export async function dueDeadlines(
  redis: Redis,
  prefix: string,
  now: number,
  limit: number,
): Promise<string[]> {
  return redis.zrangebyscore(deadlineIndexKey(prefix), "-inf", now, "LIMIT", 0, limit);
}

/** The job ended (or was handled at its deadline): its entry goes. */
export async function forgetDeadline(redis: Redis, prefix: string, id: string): Promise<void> {
  await redis.zrem(deadlineIndexKey(prefix), id);
}
