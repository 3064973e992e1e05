import type { Redis } from "ioredis";
import { generateQueueKey } from "./queue-keys";
import { runScript } from "./run-script";

/**
 * When each job still waiting for its first dispatch was queued, for the "oldest queued job" gauge
 * (an alert on a stuck queue). A sorted set by submit time: the oldest is the first member. Written by
 * the submit's reservation (reserve-submit.ts) before Queue.add, removed at dispatch or cancel.
 */
export const queuedSinceKey = (prefix: string) => `${prefix}:jobs:queued-since`;

/**
 * How long a submit may take between its reservation and Queue.add (an edit's upload is saved in
 * between). An id younger than this without a job is a submit in flight; older, it is a ghost (the
 * api died mid-submit) and readers drop it.
 */
export const RESERVATION_GRACE_MS = 5 * 60_000;

/** Ids looked at per reading; ghosts beyond it are dropped by the next readings. */
const SCAN_BUDGET = 100;

export async function markQueued(redis: Redis, prefix: string, id: string, at: number): Promise<void> {
  await redis.zadd(queuedSinceKey(prefix), at, id);
}

export async function markDispatched(redis: Redis, prefix: string, id: string): Promise<void> {
  await redis.zrem(queuedSinceKey(prefix), id);
}

// Oldest first: an id counts if its job is prioritized or delayed (every gateway job has a priority,
// so a queued one is never in `wait`), or if it has no job yet but is young (a submit in flight).
// Anything else is dropped: a job already dispatched whose removal was missed, or a ghost.
const OLDEST = `
local entries = redis.call("ZRANGE", KEYS[1], 0, tonumber(ARGV[3]) - 1, "WITHSCORES")
for i = 1, #entries, 2 do
  local id, at = entries[i], tonumber(entries[i + 1])
  if redis.call("ZSCORE", KEYS[2], id) or redis.call("ZSCORE", KEYS[3], id) then return entries[i + 1] end
  if redis.call("EXISTS", ARGV[1] .. id) == 0 and at >= tonumber(ARGV[2]) then return entries[i + 1] end
  redis.call("ZREM", KEYS[1], id)
end
-- Budget spent on ghosts: the next one is reported as it is (the next reading goes on dropping).
local rest = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
return rest[2]`;

/**
 * Submit time (ms) of the oldest job not yet dispatched, or null. Ids whose job is not queued are
 * dropped on the way, so a ghost from a failed submit never pins the gauge.
 */
export async function oldestQueuedAt(redis: Redis, prefix: string, now = Date.now()): Promise<number | null> {
  const at = (await runScript(
    redis,
    OLDEST,
    3,
    queuedSinceKey(prefix),
    generateQueueKey(prefix, "prioritized"),
    generateQueueKey(prefix, "delayed"),
    generateQueueKey(prefix, ""),
    String(now - RESERVATION_GRACE_MS),
    String(SCAN_BUDGET),
  )) as string | null;
  return at === null ? null : Number(at);
}
