import type { Redis } from "ioredis";

/**
 * Queue depth over time, one point a minute for a day, for the web console's chart (Prometheus keeps
 * the long history; this is for teams without one). Every api process samples; they write the same
 * minute's field, so the last sample of a minute wins and no leader is needed.
 */
const key = (prefix: string) => `${prefix}:queue-history`;
export const QUEUE_HISTORY_KEEP_MINUTES = 24 * 60;

export interface QueueDepthPoint {
  at: string;
  queued: number;
  running: number;
}

export async function recordQueueDepth(
  redis: Redis,
  prefix: string,
  depth: { queued: number; running: number },
  now = Date.now(),
): Promise<void> {
  const minute = Math.floor(now / 60_000);
  const fields = await redis
    .multi()
    .hset(key(prefix), String(minute), JSON.stringify([depth.queued, depth.running]))
    .hkeys(key(prefix))
    .exec();
  const names = (fields?.[1]?.[1] as string[] | undefined) ?? [];
  const old = names.filter((m) => Number(m) <= minute - QUEUE_HISTORY_KEEP_MINUTES);
  if (old.length) await redis.hdel(key(prefix), ...old);
}

/** The last `minutes` minutes' points, oldest first; minutes with no sample are absent. */
export async function readQueueHistory(
  redis: Redis,
  prefix: string,
  minutes: number,
  now = Date.now(),
): Promise<QueueDepthPoint[]> {
  const from = Math.floor(now / 60_000) - minutes + 1;
  const all = await redis.hgetall(key(prefix));
  return Object.entries(all)
    .map(([m, v]) => [Number(m), v] as const)
    .filter(([m]) => m >= from)
    .sort(([a], [b]) => a - b)
    .flatMap(([m, v]) => {
      try {
        const [queued, running] = JSON.parse(v) as [number, number];
        return [{ at: new Date(m * 60_000).toISOString(), queued, running }];
      } catch {
        // A point that does not parse is a gap in an advisory chart, not a reason to fail the read.
        return [];
      }
    });
}
