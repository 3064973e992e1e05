import type { Redis } from "ioredis";

/**
 * The dead-letter index: webhook deliveries that ended without being accepted (retries used up, or
 * ended by the receiver's 4xx or the SSRF guard), as a sorted set of webhook ids scored by when they
 * ended. The delivery itself (its data, its reason) stays the BullMQ job on the `webhooks` queue; this
 * is only its place in the admins' newest-first list (issue #19).
 *
 * Bounded twice: entries older than the jobs' retention (RESULT_TTL) are dropped on every write and
 * read, and at most MAX_DEAD_LETTERS are kept (the oldest go first). A redelivered entry is removed by
 * the sender once the delivery is retrying or accepted again, and readers skip (and prune) entries
 * whose delivery is gone or no longer failed.
 */
const key = (prefix: string) => `${prefix}:webhooks:dead-letters`;
export const MAX_DEAD_LETTERS = 10_000;

export async function recordDeadLetter(
  redis: Redis,
  prefix: string,
  webhookId: string,
  atMs: number,
  retentionSeconds: number,
): Promise<void> {
  await redis
    .multi()
    .zadd(key(prefix), atMs, webhookId)
    .zremrangebyscore(key(prefix), "-inf", `(${atMs - retentionSeconds * 1000}`)
    .zremrangebyrank(key(prefix), 0, -(MAX_DEAD_LETTERS + 1))
    .expire(key(prefix), Math.ceil(retentionSeconds))
    .exec();
}

export async function forgetDeadLetters(redis: Redis, prefix: string, webhookIds: string[]): Promise<void> {
  if (webhookIds.length > 0) await redis.zrem(key(prefix), ...webhookIds);
}

export async function countDeadLetters(redis: Redis, prefix: string): Promise<number> {
  return redis.zcard(key(prefix));
}

export interface DeadLetterRef {
  webhookId: string;
  /** When the delivery ended, epoch ms. */
  at: number;
}

/** A page cursor: the last entry's end time and webhook id (`<ms>_<webhook id>`). */
export const DEAD_LETTER_CURSOR = /^(\d{1,16})_([0-9A-Z]{26}-[a-z]{1,16})$/;
export const deadLetterCursor = (ref: DeadLetterRef) => `${ref.at}_${ref.webhookId}`;

/**
 * Up to `limit` entries, newest first, after `cursor` (exclusive). Entries with the same end time are
 * ordered by webhook id (descending, as ZREVRANGEBYSCORE orders ties), so the cursor names one place
 * in a stable order even when several deliveries ended in the same millisecond.
 */
export async function listDeadLetters(
  redis: Redis,
  prefix: string,
  opts: { limit: number; cursor?: string | undefined; retentionSeconds: number },
): Promise<DeadLetterRef[]> {
  await redis.zremrangebyscore(key(prefix), "-inf", `(${Date.now() - opts.retentionSeconds * 1000}`);
  const parsed = opts.cursor ? DEAD_LETTER_CURSOR.exec(opts.cursor) : null;
  const refs: DeadLetterRef[] = [];
  const push = (flat: string[]) => {
    for (let i = 0; i < flat.length; i += 2) refs.push({ webhookId: flat[i]!, at: Number(flat[i + 1]) });
  };
  if (!parsed) {
    push(await redis.zrevrangebyscore(key(prefix), "+inf", "-inf", "WITHSCORES", "LIMIT", 0, opts.limit));
    return refs;
  }
  const [, at, after] = parsed as unknown as [string, string, string];
  // Ties at the cursor's time that sort after it, then everything strictly older.
  const ties = await redis.zrevrangebyscore(key(prefix), at, at, "WITHSCORES");
  push(ties.filter((_, i) => i % 2 === 0 && ties[i]! < after).flatMap((id) => [id, at]));
  if (refs.length >= opts.limit) return refs.slice(0, opts.limit);
  push(
    await redis.zrevrangebyscore(
      key(prefix),
      `(${at}`,
      "-inf",
      "WITHSCORES",
      "LIMIT",
      0,
      opts.limit - refs.length,
    ),
  );
  return refs;
}
