import type { Redis } from "ioredis";
import { runScript } from "./run-script";

/**
 * `Idempotency-Key` records: owner + key → the job it created and a fingerprint of the request, for
 * 24 h. Claimed atomically (SET NX) before the job is queued, so two concurrent retries create one job.
 * A claim is `submitting` until its job is queued (`confirmIdempotencyKey`): a concurrent request with
 * the same key waits for that answer instead of submitting again (which would spend a second rate
 * point and fair-share slot: issue #16). A claim left `submitting` by an api that died is taken over
 * (`takeOverIdempotencyKey`, one taker wins) once it is older than the caller's patience.
 */
const key = (prefix: string, owner: string, idemKey: string) => `${prefix}:idem:${owner}:${idemKey}`;
const TTL_SECONDS = 24 * 3600;

interface ClaimRecord {
  jobId: string;
  fingerprint: string;
  /** Absent in records written before claims had states: those were written with their job queued. */
  state?: "submitting" | "queued";
  /** When the claim was taken (ms). */
  at?: number;
}

export type IdempotencyClaim =
  | { claimed: true }
  | {
      claimed: false;
      jobId: string;
      fingerprint: string;
      /** The first request is still submitting the job (or died doing so, if `claimedAt` is old). */
      submitting: boolean;
      claimedAt: number;
      /** The record as stored, for `takeOverIdempotencyKey`. */
      record: string;
    };

const encode = (jobId: string, fingerprint: string, state: "submitting" | "queued") =>
  JSON.stringify({ jobId, fingerprint, state, at: Date.now() } satisfies ClaimRecord);

export async function claimIdempotencyKey(
  redis: Redis,
  prefix: string,
  owner: string,
  idemKey: string,
  jobId: string,
  fingerprint: string,
): Promise<IdempotencyClaim> {
  const k = key(prefix, owner, idemKey);
  const set = await redis.set(k, encode(jobId, fingerprint, "submitting"), "EX", TTL_SECONDS, "NX");
  if (set === "OK") return { claimed: true };
  const raw = await redis.get(k);
  // Released (or expired) between the two commands: the caller claims again.
  if (raw === null) return claimIdempotencyKey(redis, prefix, owner, idemKey, jobId, fingerprint);
  const existing = JSON.parse(raw) as Partial<ClaimRecord>;
  return {
    claimed: false,
    jobId: existing.jobId ?? "",
    fingerprint: existing.fingerprint ?? "",
    submitting: existing.state === "submitting",
    claimedAt: existing.at ?? 0,
    record: raw,
  };
}

/** The claim's job is queued: later requests with the key get its view. */
export async function confirmIdempotencyKey(
  redis: Redis,
  prefix: string,
  owner: string,
  idemKey: string,
  jobId: string,
  fingerprint: string,
): Promise<void> {
  await redis.set(key(prefix, owner, idemKey), encode(jobId, fingerprint, "queued"), "KEEPTTL", "XX");
}

const TAKE_OVER = `
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[1], ARGV[2], "KEEPTTL")
return 1`;

/**
 * Takes over a claim whose request did not queue its job (it died, or its job was removed since),
 * if the record is still `record`: of several requests doing this at once, one gets true.
 */
export async function takeOverIdempotencyKey(
  redis: Redis,
  prefix: string,
  owner: string,
  idemKey: string,
  record: string,
): Promise<boolean> {
  const { jobId, fingerprint } = JSON.parse(record) as ClaimRecord;
  const taken = await runScript(
    redis,
    TAKE_OVER,
    1,
    key(prefix, owner, idemKey),
    record,
    encode(jobId, fingerprint, "submitting"),
  );
  return taken === 1;
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
