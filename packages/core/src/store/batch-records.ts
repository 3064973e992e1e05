import type { Redis } from "ioredis";

/**
 * Batch records (`POST /v1/batches`, issue #19): a hash with the owner and times, the list of the
 * batch's job ids in submit order, and a per-owner index of batch ids for listing. All three are
 * written by the batch's reservation (reserve-batch.ts) in the script that reserves its jobs.
 *
 * Bounded: the hash and list carry a TTL of RESULT_TTL + BATCH_QUEUED_HORIZON_SECONDS (a batch's jobs
 * end and are swept RESULT_TTL later; a month covers any queue wait, and `cancel_after` is at most 30
 * days), renewed while a reader sees the batch unfinished; the owner index keeps the newest
 * BATCH_INDEX_KEEP ids and drops ids whose record expired when it is read.
 */
export const batchKeys = {
  record: (prefix: string, id: string) => `${prefix}:batch:${id}`,
  jobs: (prefix: string, id: string) => `${prefix}:batch:${id}:jobs`,
  owner: (prefix: string, owner: string) => `${prefix}:batches:owner:${owner}`,
};

export const BATCH_QUEUED_HORIZON_SECONDS = 30 * 86_400;
/** Batch ids kept in each owner's listing index (older ones still answer GET until their TTL). */
export const BATCH_INDEX_KEEP = 1000;

const BATCH_ID = /^batch_[0-9A-HJKMNP-TV-Z]{26}$/;
export const isBatchId = (value: string): boolean => BATCH_ID.test(value);

export const batchTtlSeconds = (retentionSeconds: number): number =>
  Math.ceil(retentionSeconds + BATCH_QUEUED_HORIZON_SECONDS);

export interface BatchRecord {
  id: string;
  owner: string;
  /** Epoch ms. */
  createdAt: number;
  total: number;
  /** Epoch ms of `POST /v1/batches/:id/cancel`, or null. */
  canceledAt: number | null;
}

export async function readBatch(redis: Redis, prefix: string, id: string): Promise<BatchRecord | null> {
  const h = await redis.hgetall(batchKeys.record(prefix, id));
  if (!h.owner) return null;
  return {
    id,
    owner: h.owner,
    createdAt: Number(h.created_at),
    total: Number(h.total),
    canceledAt: h.canceled_at ? Number(h.canceled_at) : null,
  };
}

/** Job ids `start`..`start + count - 1` of the batch, in submit order. */
export async function batchJobIds(
  redis: Redis,
  prefix: string,
  id: string,
  start = 0,
  count = -1,
): Promise<string[]> {
  return redis.lrange(batchKeys.jobs(prefix, id), start, count < 0 ? -1 : start + count - 1);
}

/** Records the batch's cancel (first time only) and returns when it was. */
export async function markBatchCanceled(
  redis: Redis,
  prefix: string,
  id: string,
  at: number,
): Promise<number> {
  const key = batchKeys.record(prefix, id);
  await redis.hsetnx(key, "canceled_at", String(at));
  return Number(await redis.hget(key, "canceled_at"));
}

/** Renews the TTL of an unfinished batch, so a long queue never outlives its record. */
export async function touchBatch(
  redis: Redis,
  prefix: string,
  id: string,
  ttlSeconds: number,
): Promise<void> {
  await redis
    .multi()
    .expire(batchKeys.record(prefix, id), ttlSeconds)
    .expire(batchKeys.jobs(prefix, id), ttlSeconds)
    .exec();
}

/**
 * Up to `limit` of the owner's batch ids, newest first, strictly older than `before` (ids sort by
 * creation time). Ids whose record expired are dropped from the index on the way; `last` is the last id
 * looked at (the next page's cursor), null when the index has no more.
 */
export async function listBatchIds(
  redis: Redis,
  prefix: string,
  owner: string,
  opts: { limit: number; before?: string | undefined },
): Promise<{ ids: string[]; last: string | null }> {
  const key = batchKeys.owner(prefix, owner);
  const max = opts.before ? `(${opts.before}` : "+";
  const ids = await redis.zrevrangebylex(key, max, "-", "LIMIT", 0, opts.limit);
  if (ids.length === 0) return { ids, last: null };
  const exists = await Promise.all(ids.map((id) => redis.exists(batchKeys.record(prefix, id))));
  const expired = ids.filter((_, i) => exists[i] === 0);
  if (expired.length > 0) await redis.zrem(key, ...expired);
  return { ids: ids.filter((_, i) => exists[i] === 1), last: ids.length < opts.limit ? null : ids.at(-1)! };
}
