import type { Redis } from "ioredis";

/**
 * When each job still waiting for its first dispatch was queued, for the "oldest queued job" gauge
 * (an alert on a stuck queue). A sorted set by submit time: the oldest is the first member.
 */
const key = (prefix: string) => `${prefix}:jobs:queued-since`;

export async function markQueued(redis: Redis, prefix: string, id: string, at: number): Promise<void> {
  await redis.zadd(key(prefix), at, id);
}

export async function markDispatched(redis: Redis, prefix: string, id: string): Promise<void> {
  await redis.zrem(key(prefix), id);
}

/** Submit time (ms) of the oldest job not yet dispatched, or null. */
export async function oldestQueuedAt(redis: Redis, prefix: string): Promise<number | null> {
  const [, score] = await redis.zrange(key(prefix), 0, 0, "WITHSCORES");
  return score === undefined ? null : Number(score);
}
