import type { Redis } from "ioredis";
import { generateQueueKey } from "./queue-keys";
import { queuedSinceKey, RESERVATION_GRACE_MS } from "./queued-since";
import { runScript } from "./run-script";

/**
 * Per-owner and global indexes of job ids for listing. Members are ULIDs in a zero-score sorted set,
 * so lexicographic order is creation order: newest-first pages with an id cursor stay stable while
 * new jobs arrive (they sort above the cursor). Entries are written by the submit's reservation
 * (reserve-submit.ts) and removed with their job (`forgetJobs`: the result sweeper, DELETE); ids whose
 * job went another way (BullMQ's own retention, an expired cancel tombstone) are skipped by the reader
 * and pruned with `unindexJobs`.
 */
const ownerKey = (prefix: string, owner: string) => `${prefix}:jobs:owner:${owner}`;
const allKey = (prefix: string) => `${prefix}:jobs:all`;
export const indexKeys = { owner: ownerKey, all: allKey };

export async function indexJob(redis: Redis, prefix: string, owner: string, id: string): Promise<void> {
  await redis.multi().zadd(ownerKey(prefix, owner), 0, id).zadd(allKey(prefix), 0, id).exec();
}

// An id stays while its job exists, its cancel tombstone does (`<prefix>:job:<id>:canceled`,
// job-cancel.ts), or a submit reserved it moments ago and has not reached Queue.add: checked in the
// script that removes, so a listing never drops a job that is being submitted.
const PRUNE = `
local removed = 0
for i = 4, #ARGV do
  local id = ARGV[i]
  local reservedAt = tonumber(redis.call("ZSCORE", KEYS[2], id) or "0")
  if redis.call("EXISTS", ARGV[1] .. id) == 0 and redis.call("EXISTS", ARGV[2] .. id .. ":canceled") == 0
    and reservedAt < tonumber(ARGV[3]) then
    redis.call("ZREM", KEYS[1], id)
    if KEYS[3] then redis.call("ZREM", KEYS[3], id) end
    removed = removed + 1
  end
end
return removed`;

/**
 * Prunes listed ids whose job is gone (the caller found them so; this re-checks atomically and keeps
 * any that exist or are being submitted). `owner` null: only `jobs:all` is pruned. Returns how many
 * went.
 */
export async function unindexJobs(
  redis: Redis,
  prefix: string,
  owner: string | null,
  ids: string[],
): Promise<number> {
  if (ids.length === 0) return 0;
  const keys = [allKey(prefix), queuedSinceKey(prefix), ...(owner ? [ownerKey(prefix, owner)] : [])];
  return (await runScript(
    redis,
    PRUNE,
    keys.length,
    ...keys,
    generateQueueKey(prefix, ""),
    `${prefix}:job:`,
    String(Date.now() - RESERVATION_GRACE_MS),
    ...ids,
  )) as number;
}

/**
 * Up to `limit` ids, newest first, strictly older than `before` (a job id used as cursor) and within
 * the optional id bounds (`newerThan`/`olderThan` are ULID prefixes made from timestamps).
 */
export async function listJobIds(
  redis: Redis,
  prefix: string,
  opts: {
    owner: string | null;
    limit: number;
    before?: string | undefined;
    max?: string | undefined;
    min?: string | undefined;
  },
): Promise<string[]> {
  const key = opts.owner ? ownerKey(prefix, opts.owner) : allKey(prefix);
  const upper = [opts.before, opts.max].filter((v): v is string => !!v).sort()[0];
  const max = upper ? `(${upper}` : "+";
  const min = opts.min ? `[${opts.min}` : "-";
  return redis.zrevrangebylex(key, max, min, "LIMIT", 0, opts.limit);
}
