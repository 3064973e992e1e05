import type { Redis } from "ioredis";

/**
 * Per-owner and global indexes of job ids for listing. Members are ULIDs in a zero-score sorted set,
 * so lexicographic order is creation order: newest-first pages with an id cursor stay stable while
 * new jobs arrive (they sort above the cursor). Ids whose jobs retention has removed are skipped by
 * the reader and pruned.
 */
const ownerKey = (prefix: string, owner: string) => `${prefix}:jobs:owner:${owner}`;
const allKey = (prefix: string) => `${prefix}:jobs:all`;

export async function indexJob(redis: Redis, prefix: string, owner: string, id: string): Promise<void> {
  await redis.multi().zadd(ownerKey(prefix, owner), 0, id).zadd(allKey(prefix), 0, id).exec();
}

export async function unindexJobs(
  redis: Redis,
  prefix: string,
  owner: string | null,
  ids: string[],
): Promise<void> {
  if (ids.length === 0) return;
  const m = redis.multi().zrem(allKey(prefix), ...ids);
  if (owner) m.zrem(ownerKey(prefix, owner), ...ids);
  await m.exec();
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
