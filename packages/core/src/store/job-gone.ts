import type { Redis } from "ioredis";

/**
 * Jobs the retention sweeper removed: a marker (with the owner, so other users still get 404) that
 * lets the api answer 410 gone instead of 404 for a while after.
 */
const key = (prefix: string, id: string) => `${prefix}:job:${id}:gone`;
const MARKER_TTL_SECONDS = 30 * 86_400;

export async function markGone(redis: Redis, prefix: string, id: string, owner: string): Promise<void> {
  await redis.set(key(prefix, id), owner, "EX", MARKER_TTL_SECONDS);
}

/** The owner of a swept job, or null if the job was never swept. */
export async function goneOwner(redis: Redis, prefix: string, id: string): Promise<string | null> {
  return redis.get(key(prefix, id));
}
