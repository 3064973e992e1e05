import type { Queue } from "bullmq";
import type { Redis } from "ioredis";

/**
 * 1-based position of a queued job: 1 means it is the next one a free dispatcher takes.
 * BullMQ LPUSHes new jobs onto `wait` and workers pop from the right, so position = length - index.
 * Prioritized jobs are only taken once `wait` is empty, so they count after the whole wait list.
 */
export async function queuePosition(redis: Redis, queue: Queue, id: string): Promise<number | null> {
  const [[, len], [, index], [, rank]] = (await redis
    .multi()
    .llen(queue.keys.wait!)
    .lpos(queue.keys.wait!, id)
    .zrank(queue.keys.prioritized!, id)
    .exec()) as [[null, number], [null, number | null], [null, number | null]];
  if (index !== null) return len - index;
  if (rank !== null) return len + rank + 1;
  return null;
}
