import type { Redis } from "ioredis";

/** True when nothing waits, runs or backs off in the queue whose BullMQ keys are given. */
export async function isQueueIdle(
  redis: Redis,
  keys: { wait?: string; prioritized?: string; active?: string; delayed?: string },
): Promise<boolean> {
  const results = (await redis
    .multi()
    .llen(keys.wait!)
    .zcard(keys.prioritized!)
    .llen(keys.active!)
    .zcard(keys.delayed!)
    .exec()) as Array<[Error | null, number]>;
  return results.every(([err, n]) => !err && n === 0);
}
