import type { Redis } from "ioredis";

/**
 * Fair scheduling by start-time fair queuing over BullMQ priorities. Each owner has a virtual slot
 * that advances by 1/weight per job; a job's slot is max(the owner's last slot, the slot now being
 * served) + 1/weight. So a newcomer's first job lands right after the job in service, a heavy
 * user's backlog stays in its own order (FIFO per user), and several heavy users interleave.
 * BullMQ runs lower priorities first and keeps arrival order within one priority.
 */
const servedKey = (prefix: string) => `${prefix}:fair:served`;
const lastKey = (prefix: string) => `${prefix}:fair:last`;
/** BullMQ's largest priority. */
export const MAX_PRIORITY = 2_097_152;

const NEXT_SLOT = `
local served = tonumber(redis.call("GET", KEYS[1]) or "0")
local last = tonumber(redis.call("HGET", KEYS[2], ARGV[1]) or "0")
local nextSlot = math.max(last, served) + tonumber(ARGV[2])
redis.call("HSET", KEYS[2], ARGV[1], tostring(nextSlot))
return tostring(nextSlot)`;

const MARK_SERVED = `
local served = tonumber(redis.call("GET", KEYS[1]) or "0")
if tonumber(ARGV[1]) > served then redis.call("SET", KEYS[1], ARGV[1]) end
return 1`;

/** The BullMQ priority for an owner's next job. */
export async function nextFairPriority(
  redis: Redis,
  prefix: string,
  owner: string,
  weight: number,
): Promise<number> {
  const slot = Number(
    await redis.eval(
      NEXT_SLOT,
      2,
      servedKey(prefix),
      lastKey(prefix),
      owner,
      String(1 / Math.max(1, weight)),
    ),
  );
  return Math.min(MAX_PRIORITY, Math.max(1, Math.ceil(slot - 1e-9)));
}

/** Called when a dispatcher starts a job: the virtual clock moves to that job's slot. */
export async function markServed(redis: Redis, prefix: string, priority: number): Promise<void> {
  await redis.eval(MARK_SERVED, 1, servedKey(prefix), String(Math.max(0, priority - 1)));
}

export async function servedSlot(redis: Redis, prefix: string): Promise<number> {
  return Number(await redis.get(servedKey(prefix))) || 0;
}

/** When the queue is empty, the virtual clock starts again from 0 so priorities never run out. */
export async function resetFairShare(redis: Redis, prefix: string): Promise<void> {
  await redis.del(servedKey(prefix), lastKey(prefix));
}
