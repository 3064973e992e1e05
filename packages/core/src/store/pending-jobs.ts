import type { Redis } from "ioredis";
import { queuedSinceKey, RESERVATION_GRACE_MS } from "./queued-since";

/**
 * Each owner's queued + running jobs, for the max-pending limit. Members are added by the submit's
 * reservation (reserve-submit.ts: checked against the limit and added in one script) and removed when
 * a job ends; because a removal can be missed (a crash between the two), `countPending`
 * double-checks against the queue when the count matters.
 */
export const pendingKey = (prefix: string, owner: string) => `${prefix}:jobs:pending:${owner}`;
const key = pendingKey;

export async function addPending(redis: Redis, prefix: string, owner: string, id: string): Promise<void> {
  await redis.sadd(key(prefix, owner), id);
}

export async function removePending(redis: Redis, prefix: string, owner: string, id: string): Promise<void> {
  await redis.srem(key(prefix, owner), id);
}

/**
 * The owner's pending count. Members whose job no longer waits or runs (per `isPending`) are pruned
 * first, so a missed removal can never lock a user out. A member reserved by a submit that has not
 * reached Queue.add yet (a young queued-since entry) has no job but is pending: it stays.
 */
export async function countPending(
  redis: Redis,
  prefix: string,
  owner: string,
  isPending: (ids: string[]) => Promise<boolean[]>,
): Promise<number> {
  const ids = await redis.smembers(key(prefix, owner));
  if (ids.length === 0) return 0;
  const [alive, reservedAt] = await Promise.all([
    isPending(ids),
    redis.zmscore(queuedSinceKey(prefix), ...ids),
  ]);
  const young = Date.now() - RESERVATION_GRACE_MS;
  const stale = ids.filter((_, i) => !alive[i] && !(Number(reservedAt[i] ?? 0) >= young));
  if (stale.length > 0) await redis.srem(key(prefix, owner), ...stale);
  return ids.length - stale.length;
}

/** The ids recorded as the owner's queued or running jobs (may include a few that just ended). */
export async function listPending(redis: Redis, prefix: string, owner: string): Promise<string[]> {
  return redis.smembers(key(prefix, owner));
}

/** The owner's pending count as recorded, without checking the queue (cheap; used below the limit). */
export async function pendingSize(redis: Redis, prefix: string, owner: string): Promise<number> {
  return redis.scard(key(prefix, owner));
}
