import type { Redis } from "ioredis";

/**
 * `Idempotency-Key` records: owner + key → the job it created and a fingerprint of the request, for
 * 24 h. Claimed atomically (SET NX) before the job is queued, so two concurrent retries create one job.
 */
const key = (prefix: string, owner: string, idemKey: string) => `${prefix}:idem:${owner}:${idemKey}`;
const TTL_SECONDS = 24 * 3600;

export type IdempotencyClaim = { claimed: true } | { claimed: false; jobId: string; fingerprint: string };

export async function claimIdempotencyKey(
  redis: Redis,
  prefix: string,
  owner: string,
  idemKey: string,
  jobId: string,
  fingerprint: string,
): Promise<IdempotencyClaim> {
  const k = key(prefix, owner, idemKey);
  const set = await redis.set(k, JSON.stringify({ jobId, fingerprint }), "EX", TTL_SECONDS, "NX");
  if (set === "OK") return { claimed: true };
  const existing = JSON.parse((await redis.get(k)) ?? "{}") as { jobId?: string; fingerprint?: string };
  return { claimed: false, jobId: existing.jobId ?? "", fingerprint: existing.fingerprint ?? "" };
}

/** Frees a claim whose job could not be queued, so the client's retry can succeed. */
export async function releaseIdempotencyKey(
  redis: Redis,
  prefix: string,
  owner: string,
  idemKey: string,
): Promise<void> {
  await redis.del(key(prefix, owner, idemKey));
}
