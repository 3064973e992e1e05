import type { Redis } from "ioredis";
import { endedKey } from "./job-end";
import { generateQueueKey } from "./queue-keys";

/**
 * Ids of jobs that finished between `from` and `to` (ms, by BullMQ's finishedOn) and whose end no
 * one has claimed yet (claimJobEnd): ends that were never announced because their dispatcher died
 * between moving the job and announcing it, or lost the answer of the move. At most `limit` per set.
 */
export async function findUnannouncedEnds(
  redis: Redis,
  prefix: string,
  window: { from: number; to: number },
  limit = 200,
): Promise<Array<{ id: string; state: "completed" | "failed" }>> {
  const out: Array<{ id: string; state: "completed" | "failed" }> = [];
  for (const state of ["completed", "failed"] as const) {
    const ids = await redis.zrangebyscore(
      generateQueueKey(prefix, state),
      window.from,
      window.to,
      "LIMIT",
      0,
      limit,
    );
    if (ids.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.exists(endedKey(prefix, id));
    const seen = (await pipeline.exec()) ?? [];
    ids.forEach((id, i) => {
      if (seen[i]?.[1] === 0) out.push({ id, state });
    });
  }
  return out;
}
