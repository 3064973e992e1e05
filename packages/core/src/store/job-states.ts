import type { Redis } from "ioredis";
import type { QueueState } from "../job-view";
import { canceledAt } from "./job-cancel";
import { generateQueueKey } from "./queue-keys";
import { runScript } from "./run-script";

export interface JobStateRow {
  /** "unknown" with `canceledTombstone` false: the job is gone (swept, deleted) or never queued. */
  state: QueueState;
  failedReason: string | undefined;
  /** A running job asked to stop: by its owner (the flag holds "<ms>") or its deadline ("<ms>:deadline_exceeded"). */
  cancelRequested: boolean;
  /** A queued job that was canceled: removed from the queue, its tombstone remains. */
  canceledTombstone: boolean;
}

// Per id: where BullMQ keeps it (every gateway job has a priority, so a queued one is in `prioritized`,
// or `delayed` while a retry backs off; `wait` only for jobs queued without one), its failure reason
// when failed, its cancel flag and tombstone (job-cancel.ts's keys).
const STATES = `
local q, jobs = ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local state = "unknown"
  if redis.call("ZSCORE", q .. "prioritized", id) then state = "prioritized"
  elseif redis.call("ZSCORE", q .. "completed", id) then state = "completed"
  elseif redis.call("ZSCORE", q .. "failed", id) then state = "failed"
  elseif redis.call("ZSCORE", q .. "delayed", id) then state = "delayed"
  elseif redis.call("LPOS", q .. "active", id) then state = "active"
  elseif redis.call("LPOS", q .. "wait", id) then state = "waiting"
  end
  local reason = ""
  if state == "failed" then reason = redis.call("HGET", q .. id, "failedReason") or "" end
  local flag = redis.call("GET", jobs .. id .. ":cancel") or ""
  local tomb = redis.call("EXISTS", jobs .. id .. ":canceled")
  out[#out + 1] = {state, reason, flag, tomb}
end
return out`;

/**
 * The queue state of many jobs in one script (a batch's counts): the inputs `statusOf` needs, without
 * reading each job's hash. Ids go as arguments, not keys, as in job-index.ts's prune: the keys are
 * the queue's own and share its hash tag under Redis Cluster.
 */
export async function readJobStates(redis: Redis, prefix: string, ids: string[]): Promise<JobStateRow[]> {
  if (ids.length === 0) return [];
  const rows = (await runScript(
    redis,
    STATES,
    0,
    generateQueueKey(prefix, ""),
    `${prefix}:job:`,
    ...ids,
  )) as Array<[string, string, string, number]>;
  return rows.map(([state, reason, flag, tomb]) => ({
    state: state as QueueState,
    failedReason: reason || undefined,
    // The owner's flag is "<ms>", a deadline's "<ms>:deadline_exceeded": both stop the job.
    cancelRequested: canceledAt(flag) !== null,
    canceledTombstone: tomb === 1,
  }));
}
