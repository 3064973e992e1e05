import type { Redis } from "ioredis";
import { endedKey } from "./job-end";
import { indexKeys } from "./job-index";
import { pendingKey } from "./pending-jobs";
import { queuedSinceKey } from "./queued-since";

/**
 * Removes deleted jobs from all the bookkeeping that names them: the listing indexes (`jobs:all`,
 * the owner's), the owner's pending set and queued-since, and the claim on announcing its end. Called with the job itself (the result
 * sweeper, DELETE), so the sets shrink as jobs go instead of growing with every job ever submitted.
 * `owner` null: unknown, only the global sets are cleaned.
 */
export async function forgetJobs(
  redis: Redis,
  prefix: string,
  jobs: ReadonlyArray<{ id: string; owner: string | null }>,
): Promise<void> {
  if (jobs.length === 0) return;
  const ids = jobs.map((j) => j.id);
  const m = redis
    .multi()
    .zrem(indexKeys.all(prefix), ...ids)
    .zrem(queuedSinceKey(prefix), ...ids)
    .del(...ids.map((id) => endedKey(prefix, id)));
  const byOwner = new Map<string, string[]>();
  for (const { id, owner } of jobs) if (owner) byOwner.set(owner, [...(byOwner.get(owner) ?? []), id]);
  for (const [owner, owned] of byOwner) {
    m.zrem(indexKeys.owner(prefix, owner), ...owned).srem(pendingKey(prefix, owner), ...owned);
  }
  await m.exec();
}
