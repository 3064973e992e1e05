import type { Redis } from "ioredis";
import type { JobKind } from "../job-request";
import { CLASS_SPAN, SET_JOB_PRIORITY_LUA } from "./fair-share";
import { generateQueueKey } from "./queue-keys";
import { runScript } from "./run-script";

/**
 * Pipeline-aware choice of an upstream's next job (issue #15). Loading one pipeline of the
 * reference server evicts the other, so a dispatcher whose upstream has pipeline P loaded prefers
 * the next queued job of kind P over an earlier job of the other kind — within a window: the job at
 * the head is skipped at most K times, and for at most T, by one upstream. Among the jobs of one
 * kind, fair share still decides (their order in the queue is untouched). An upstream never takes a
 * kind it cannot run.
 *
 * BullMQ pops prioritized jobs with ZPOPMIN (`moveJobFromPrioritizedToActive`, called from
 * `moveToActive` and from `fetchNextJob`, which the gateway never uses: it fetches with
 * `fetchNext = false`), so the choice is made by re-scoring the chosen job just ahead of the head
 * (head's score − 1) right before `Worker.getNextJob`. The job's `priority` (hash field and
 * `opts.priority`) is set to the priority part of its new score, so score and priority agree as
 * BullMQ keeps them:
 * - the fair-share clock (`markServed(job.opts.priority)`) moves to the skipped head's slot, where
 *   it would have been without the preference, so a newcomer still lands right after the oldest
 *   waiting job, not after everything the promotion jumped;
 * - the re-base (fair-share.ts) derives priority and counter from the score, so it keeps the order;
 * - a promoted job given back (`moveToWait`: BullMQ's `pushBackJobWithPriority`, counter 0) or
 *   retried returns at the head's priority, i.e. at the front, as a head job would;
 * - `queuePosition` reads ranks, so the promoted job simply shows position 1.
 * Only when the head itself sits at counter 0 of priority p (a job given back) is the new score in
 * priority p − 1; for p = 1 it is below 2^32 (BullMQ's priority-0 band, which no gateway job has):
 * the priority field is then kept at 1 and ZPOPMIN still takes it first.
 *
 * Priority classes (issue #19): a preference never moves a job across classes — only a job of the
 * head's class is promoted, so a batch job never goes ahead of an interactive job for a warm pipeline.
 * The one exception is a head this upstream cannot run at all: then the first job it can run (in
 * queue order, so an interactive one before any batch one) is put first, whatever its class, so a
 * GPU does not idle behind work only a down peer can do. Such a job keeps its class's priority field
 * (its fair-share clock, a retry and a re-base treat it as its class; fair-share.ts leaves it where it
 * is), only its score moves; the upstream fetches it at once.
 */

/** What `pickNextJob` decided; `head`/`headKind` describe the queue's head when it was looked at. */
export type PipelinePick =
  /** Nothing is queued. */
  | { action: "empty" }
  /**
   * Take the head: no preference, it is of the preferred kind, it was skipped for the whole window
   * (`window`), or nothing of the preferred kind is queued (`switch`).
   */
  | { action: "head"; reason: "fifo" | "preferred" | "window" | "switch"; head: string; headKind: string }
  /** `job` (of kind `kind`) now comes first; the head was skipped once more. */
  | { action: "promoted"; job: string; kind: JobKind; head: string; headKind: string }
  /** The head is of a kind this upstream cannot run, and nothing it can run is queued near it. */
  | { action: "hold"; head: string; headKind: string };

export interface PipelinePickOptions {
  /** The upstream's name: the skip count is kept per upstream. */
  upstream: string;
  /** The kinds this upstream can run. */
  runnable: readonly JobKind[];
  /** The kind of the loaded pipeline, when the upstream has one per kind; null: no preference. */
  preferred: JobKind | null;
  /** At most this many skips of one head by this upstream (0: strict queue order). */
  windowJobs: number;
  /** And for at most this long since the first skip (0: strict queue order). */
  windowMs: number;
  /** How many queued jobs behind the head are looked at (default 200). */
  scanLimit?: number;
}

/** `{head, count, since}`: the head this upstream skipped, how often, since when (Redis TIME, ms). */
export const pipelineSkipKey = (prefix: string, upstream: string): string =>
  `${prefix}:pipeline:${upstream}:skip`;

export const PIPELINE_SCAN_LIMIT = 200;

// KEYS: prioritized, wait, skip hash. ARGV: job key prefix, runnable kinds (comma-separated),
// preferred kind or "", K, T (ms), scan limit.
const PICK = `
if redis.replicate_commands then redis.replicate_commands() end
local SCORE_UNIT = 4294967296
local CLASS_SPAN = ${CLASS_SPAN}
local UNRUNNABLE_SCAN = 2000
${SET_JOB_PRIORITY_LUA}
local jobPrefix = ARGV[1]
local runnable = {}
for kind in string.gmatch(ARGV[2], "[^,]+") do runnable[kind] = true end
local preferred = ARGV[3]
-- A loaded pipeline of a kind this upstream does not run is no reason to skip anything.
if not runnable[preferred] then preferred = "" end
local K = tonumber(ARGV[4])
local T = tonumber(ARGV[5])
local limit = tonumber(ARGV[6])
local function kindOf(id) return redis.call("HGET", jobPrefix .. id, "name") or "" end
-- A job's class is its priority's band (fair-share.ts): true for batch.
local function batchOf(id) return tonumber(redis.call("HGET", jobPrefix .. id, "priority") or "0") >= CLASS_SPAN end
-- BullMQ takes the wait list (jobs without priority) before the prioritized set. The gateway gives
-- every job a priority, so it is empty; if not, its next job is the head and is not reordered.
local listed = redis.call("LINDEX", KEYS[2], -1)
if listed then
  local kind = kindOf(listed)
  if runnable[kind] then return {"head", "fifo", listed, kind} end
  return {"hold", "", listed, kind}
end
local top = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
if #top == 0 then return {"empty"} end
local head, headScore = top[1], tonumber(top[2])
local headKind = kindOf(head)
local headRunnable = runnable[headKind] == true
if headRunnable and preferred == "" then return {"head", "fifo", head, headKind} end
if headRunnable and headKind == preferred then return {"head", "preferred", head, headKind} end
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local skip = redis.call("HMGET", KEYS[3], "head", "count", "since")
local count, since = 0, now
if skip[1] == head then
  count = tonumber(skip[2]) or 0
  since = tonumber(skip[3]) or now
end
if headRunnable and (count >= K or T <= 0 or now - since >= T) then
  return {"head", "window", head, headKind}
end
-- A head this upstream cannot run is looked past further than a preference is (jobs it can run may
-- wait behind a backlog of a kind only a down peer runs), still bounded: a hold is re-decided
-- every 100 ms.
local scan = limit
if not headRunnable then scan = math.max(limit, UNRUNNABLE_SCAN) end
local headBatch = batchOf(head)
local rest = redis.call("ZRANGE", KEYS[1], 1, scan - 1)
for _, id in ipairs(rest) do
  local kind = kindOf(id)
  local sameClass = batchOf(id) == headBatch
  if (headRunnable and kind == preferred and sameClass) or (not headRunnable and runnable[kind]) then
    local score = headScore - 1
    redis.call("ZADD", KEYS[1], string.format("%.0f", score), id)
    if sameClass then
      local low = 1
      if headBatch then low = CLASS_SPAN end
      setJobPriority(jobPrefix .. id, math.max(low, math.floor(score / SCORE_UNIT)))
    end
    -- A head this upstream cannot run is not skipped by preference: nothing to count.
    if headRunnable then
      if skip[1] ~= head then redis.call("DEL", KEYS[3]) end
      redis.call("HSET", KEYS[3], "head", head, "count", count + 1, "since", since)
      redis.call("PEXPIRE", KEYS[3], T + 60000)
    end
    return {"promoted", kind, head, headKind, id}
  end
end
if headRunnable then return {"head", "switch", head, headKind} end
return {"hold", "", head, headKind}
`;

/**
 * Decides, atomically, which job this upstream should fetch next, and puts it at the head of the
 * queue when it is not already there (see the module comment). Call right before
 * `Worker.getNextJob`; another dispatcher may still take the job first (the caller checks what it
 * got).
 */
export async function pickNextJob(
  redis: Redis,
  prefix: string,
  opts: PipelinePickOptions,
): Promise<PipelinePick> {
  const k = Number.isFinite(opts.windowJobs) ? Math.max(0, Math.floor(opts.windowJobs)) : 0;
  const t = Number.isFinite(opts.windowMs) ? Math.max(0, Math.floor(opts.windowMs)) : 0;
  const r = (await runScript(
    redis,
    PICK,
    3,
    generateQueueKey(prefix, "prioritized"),
    generateQueueKey(prefix, "wait"),
    pipelineSkipKey(prefix, opts.upstream),
    generateQueueKey(prefix, ""),
    opts.runnable.join(","),
    opts.preferred ?? "",
    String(k),
    String(t),
    String(Math.max(1, opts.scanLimit ?? PIPELINE_SCAN_LIMIT)),
  )) as string[];
  switch (r[0]) {
    case "empty":
      return { action: "empty" };
    case "head":
      return {
        action: "head",
        reason: r[1] as "fifo" | "preferred" | "window" | "switch",
        head: r[2]!,
        headKind: r[3]!,
      };
    case "promoted":
      return { action: "promoted", kind: r[1] as JobKind, head: r[2]!, headKind: r[3]!, job: r[4]! };
    default:
      return { action: "hold", head: r[2]!, headKind: r[3]! };
  }
}
