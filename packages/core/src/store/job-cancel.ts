import type { Redis } from "ioredis";
import type { JobData } from "../job-record";
import type { CancelCode } from "../job-view";

/**
 * Cancellation. A queued job is removed from the queue and leaves a tombstone (its data and times)
 * so its view still answers `canceled`. A running job cannot be interrupted on the GPU; it gets a
 * cancel flag that its view shows at once and that the dispatcher reads when the upstream answers,
 * discarding the result.
 */
const flagKey = (prefix: string, id: string) => `${prefix}:job:${id}:cancel`;
const tombKey = (prefix: string, id: string) => `${prefix}:job:${id}:canceled`;

export interface CanceledTombstone {
  data: JobData;
  timestamp: number;
  canceledAt: number;
  /** Why it was canceled; absent: its owner did (job_canceled). */
  code?: CancelCode;
}

/**
 * The cancel flag doubles as the job's outcome decision, so a cancel and a completion cannot both
 * win: whoever sets the key first (SET NX) decides. A cancel stores the time it was asked (digits);
 * a dispatcher about to complete or finally fail a job stores "succeeded" or "failed". A job whose
 * owner was answered "canceled" therefore never becomes "succeeded", and a job already decided
 * refuses the cancel.
 */
export type CancelAnswer =
  | { canceled: true; at: number }
  | { canceled: false; decided: "succeeded" | "failed" };

/**
 * The decision must outlive the job's run, however short RESULT_TTL is: a cold job may run for half
 * an hour and be retried; if the key expired meanwhile, a cancel answered "canceled" could be
 * overridden by a completion.
 */
const DECISION_MIN_TTL_SECONDS = 2 * 86_400;
const decisionTtl = (ttlSeconds: number) => Math.max(ttlSeconds, DECISION_MIN_TTL_SECONDS);

// A cancel's flag is the time it was asked, with ":deadline_exceeded" when the job's deadline asked.
const CANCEL_FLAG = /^(\d+)(?::(deadline_exceeded))?$/;
/** When a cancel flag's value says the job was asked to stop (by its owner or its deadline); null: not. */
export const canceledAt = (v: string | null | undefined): number | null => {
  const m = v ? CANCEL_FLAG.exec(v) : null;
  return m ? Number(m[1]) : null;
};
const cancelOf = (v: string | null | undefined): { at: number; code: CancelCode } | null => {
  const m = v ? CANCEL_FLAG.exec(v) : null;
  return m ? { at: Number(m[1]), code: m[2] ? "deadline_exceeded" : "job_canceled" } : null;
};

/** Asks to cancel a running job; the answer says whether the cancel or an earlier outcome won. */
export async function requestCancel(
  redis: Redis,
  prefix: string,
  id: string,
  ttlSeconds: number,
  code: CancelCode = "job_canceled",
): Promise<CancelAnswer> {
  const now = Date.now();
  const previous = await redis.set(
    flagKey(prefix, id),
    code === "deadline_exceeded" ? `${now}:deadline_exceeded` : String(now),
    "EX",
    decisionTtl(ttlSeconds),
    "NX",
    "GET",
  );
  if (previous === null) return { canceled: true, at: now };
  const at = canceledAt(previous);
  return at !== null
    ? { canceled: true, at }
    : { canceled: false, decided: previous as "succeeded" | "failed" };
}

/**
 * The dispatcher's side of the decision, just before it completes or finally fails a job: true when
 * the job may end as `outcome`, false when its owner canceled it first (then it is discarded).
 */
export async function decideJobOutcome(
  redis: Redis,
  prefix: string,
  id: string,
  outcome: "succeeded" | "failed",
  ttlSeconds: number,
): Promise<boolean> {
  const previous = await redis.set(flagKey(prefix, id), outcome, "EX", decisionTtl(ttlSeconds), "NX", "GET");
  // An earlier attempt's decision (a re-run after a lost lock) is not a cancel: only a cancel stops it.
  return canceledAt(previous) === null;
}

export async function cancelRequestedAt(redis: Redis, prefix: string, id: string): Promise<number | null> {
  return canceledAt(await redis.get(flagKey(prefix, id)));
}

/** The running job's cancel, with its reason (the owner's or the deadline's); null when none. */
export async function readCancel(
  redis: Redis,
  prefix: string,
  id: string,
): Promise<{ at: number; code: CancelCode } | null> {
  return cancelOf(await redis.get(flagKey(prefix, id)));
}

export async function writeTombstone(
  redis: Redis,
  prefix: string,
  id: string,
  tomb: CanceledTombstone,
  ttlSeconds: number,
): Promise<void> {
  await redis.set(tombKey(prefix, id), JSON.stringify(tomb), "EX", ttlSeconds);
}

export async function readTombstone(
  redis: Redis,
  prefix: string,
  id: string,
): Promise<CanceledTombstone | null> {
  const v = await redis.get(tombKey(prefix, id));
  return v ? (JSON.parse(v) as CanceledTombstone) : null;
}

/** Removes a canceled job's tombstone and flag (the job is being deleted). */
export async function deleteTombstone(redis: Redis, prefix: string, id: string): Promise<void> {
  await redis.del(tombKey(prefix, id), flagKey(prefix, id));
}
