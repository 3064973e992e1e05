import type { Redis } from "ioredis";
import type { PriorityClass } from "../job-request";
import { generateQueueKey } from "./queue-keys";
import { queuedSinceKey, RESERVATION_GRACE_MS } from "./queued-since";
import { runScript } from "./run-script";

/**
 * Fair scheduling by start-time fair queuing over BullMQ priorities. Each owner has a virtual slot
 * that advances by 1/weight per job; a job's slot is max(the owner's last slot, the slot now being
 * served) + 1/weight. So a newcomer's first job lands right after the job in service, a heavy
 * user's backlog stays in its own order (FIFO per user), and several heavy users interleave. A weight
 * below 1 (0.25: one job per four turns) is a background key.
 * BullMQ runs lower priorities first and keeps arrival order within one priority.
 *
 * Priority classes (issue #19): one queue, one clock per class. BullMQ's priorities end at 2^21 - 1,
 * so the range is cut in two bands of CLASS_SPAN: interactive jobs take priorities 1 … 2^20 - 1 and
 * batch jobs 2^20 + (1 … 2^20 - 1), so every interactive job is taken before any batch job, and fair
 * share holds within each class. The class is read back from a priority alone (`classOf`).
 *
 * A clock only grows while the queue is busy (the prioritized set's score is priority × 2^32 + a
 * counter, exact only below 2^53). So before a slot would pass REBASE_AT the class's clock is
 * re-based: its slots, and the priority of every job of that class in the queue, move down by the
 * slot in service, in one script (order is kept, nothing is re-queued; the other class is not
 * touched). Only when one class's backlog spans more than its band does a priority saturate (capped:
 * FIFO beyond it). Both are counted (`zimage_gateway_fair_share_rebases_total`, `…_saturated_total`).
 */
// The interactive clock keeps the keys it had before classes existed, so a running queue carries on.
const clockKeys = (prefix: string, cls: PriorityClass) => {
  const at = cls === "batch" ? `${prefix}:fair:batch` : `${prefix}:fair`;
  return { served: `${at}:served`, last: `${at}:last`, top: `${at}:top` };
};
const servedKey = (prefix: string, cls: PriorityClass = "interactive") => clockKeys(prefix, cls).served;
const lastKey = (prefix: string, cls: PriorityClass = "interactive") => clockKeys(prefix, cls).last;
/** The highest slot given out since the clock started; a priority above it is stale (see markServed). */
const topKey = (prefix: string, cls: PriorityClass = "interactive") => clockKeys(prefix, cls).top;

/** BullMQ's largest priority (`PRIORITY_LIMIT` in bullmq's job.ts: 2^21 - 1). */
export const MAX_PRIORITY = 2_097_151;
/** Each class's band of priorities: interactive below it, batch from it up to MAX_PRIORITY. */
export const CLASS_SPAN = 1_048_576;
/** The highest priority an interactive job gets (its saturation cap). */
export const MAX_INTERACTIVE_PRIORITY = CLASS_SPAN - 1;
/** A slot past this triggers a re-base (half a band: the other half absorbs a backlog meanwhile). */
export const REBASE_AT = 524_288;
/**
 * A re-base rewrites every queued job of its class, so it runs only when it frees at least this many
 * slots: at most one per 2^17 dispatched slots of that class.
 */
export const MIN_REBASE_SHIFT = 131_072;

/** The class a BullMQ priority belongs to (a job's priority says its class; see the bands above). */
export const classOf = (priority: number): PriorityClass =>
  priority >= CLASS_SPAN ? "batch" : "interactive";

export type FairShareEvent = "rebased" | "saturated" | null;

/** The owner's step per job: 1/weight; a weight that is not a positive number counts as 1. */
export const fairStep = (weight: number): number => (Number.isFinite(weight) && weight > 0 ? 1 / weight : 1);

/**
 * The keys `FAIR_SLOT_LUA`'s `fairSlot` reads, in its order: the interactive clock, the queue's sets,
 * then the batch clock (appended, so index 1 stays the interactive owners' slots).
 */
export const fairSlotKeys = (prefix: string): string[] => [
  servedKey(prefix),
  lastKey(prefix),
  topKey(prefix),
  generateQueueKey(prefix, "prioritized"),
  generateQueueKey(prefix, "delayed"),
  generateQueueKey(prefix, "active"),
  servedKey(prefix, "batch"),
  lastKey(prefix, "batch"),
  topKey(prefix, "batch"),
];

/** The index in `fairSlotKeys` of a class's owner slots (what releaseSubmit gives back). */
export const fairLastKeyIndex = (cls: PriorityClass): number => (cls === "batch" ? 7 : 1);

/**
 * Lua: `setJobPriority(jobKey, priority)`, a queued job's priority in its hash and its opts, as
 * BullMQ keeps both; shared by every script that moves a job within the prioritized set.
 */
export const SET_JOB_PRIORITY_LUA = `
local function setJobPriority(jobKey, priority)
  redis.call("HSET", jobKey, "priority", priority)
  local opts = redis.call("HGET", jobKey, "opts")
  if opts then
    -- BullMQ wrote opts with cjson, so cjson reads and writes them back unchanged but for priority
    -- (the dispatcher reads job.opts.priority).
    local o = cjson.decode(opts)
    if o["priority"] then
      o["priority"] = priority
      redis.call("HSET", jobKey, "opts", cjson.encode(o))
    end
  end
end`;

/**
 * Lua: `fairSlot(keys, jobPrefix, owner, step, class)` → priority, slot, event, rebased; `keys` as
 * `fairSlotKeys`, class "interactive" or "batch" (anything else: interactive). Shared by
 * `nextFairPriority`, the submit's reservation (reserve-submit.ts) and bulk submits, so the slot is
 * taken in the same script as the rest of the submit's bookkeeping.
 */
export const FAIR_SLOT_LUA = `
local SCORE_UNIT = 4294967296
local CLASS_SPAN = ${CLASS_SPAN}
${SET_JOB_PRIORITY_LUA}
-- The clock keys and priority band of a class.
local function classClock(k, class)
  if class == "batch" then return {k[7], k[8], k[9]}, CLASS_SPAN end
  return {k[1], k[2], k[3]}, 0
end
local function rebase(k, clock, base, jobPrefix, delta)
  local served = math.max(0, tonumber(redis.call("GET", clock[1]) or "0") - delta)
  redis.call("SET", clock[1], tostring(served))
  local lasts = redis.call("HGETALL", clock[2])
  for i = 1, #lasts, 2 do
    local v = tonumber(lasts[i + 1]) - delta
    -- An owner at or below the served slot starts from it anyway: the entry can go.
    if v <= served then redis.call("HDEL", clock[2], lasts[i]) else redis.call("HSET", clock[2], lasts[i], tostring(v)) end
  end
  redis.call("SET", clock[3], tostring(math.max(0, tonumber(redis.call("GET", clock[3]) or "0") - delta)))
  -- Only this class's jobs move; a job's class is its own priority's band (a job promoted across
  -- bands by pipeline-pick.ts keeps its class's priority, and is left where it is).
  local low = 1
  if base > 0 then low = CLASS_SPAN end
  local function mine(p) return (p >= CLASS_SPAN) == (base > 0) end
  local queued = redis.call("ZRANGE", k[4], 0, -1, "WITHSCORES")
  for i = 1, #queued, 2 do
    local own = tonumber(redis.call("HGET", jobPrefix .. queued[i], "priority") or "0")
    if mine(own) then
      local score = tonumber(queued[i + 1])
      local counter = score % SCORE_UNIT
      local priority = math.max(low, math.floor(score / SCORE_UNIT) - delta)
      redis.call("ZADD", k[4], string.format("%.0f", priority * SCORE_UNIT + counter), queued[i])
      setJobPriority(jobPrefix .. queued[i], priority)
    end
  end
  -- Backing-off and running jobs keep their priority for their next attempt: move it too.
  local others = redis.call("ZRANGE", k[5], 0, -1)
  for _, id in ipairs(redis.call("LRANGE", k[6], 0, -1)) do others[#others + 1] = id end
  for _, id in ipairs(others) do
    local p = tonumber(redis.call("HGET", jobPrefix .. id, "priority") or "0")
    if p > 0 and mine(p) then setJobPriority(jobPrefix .. id, math.max(low, p - delta)) end
  end
end
local function fairSlot(k, jobPrefix, owner, step, class)
  local clock, base = classClock(k, class)
  local served = tonumber(redis.call("GET", clock[1]) or "0")
  local last = tonumber(redis.call("HGET", clock[2], owner) or "0")
  local slot = math.max(last, served) + step
  local event, rebased = "", false
  if slot > ${REBASE_AT} and served >= ${MIN_REBASE_SHIFT} then
    rebase(k, clock, base, jobPrefix, math.floor(served))
    served = tonumber(redis.call("GET", clock[1]) or "0")
    last = tonumber(redis.call("HGET", clock[2], owner) or "0")
    slot = math.max(last, served) + step
    event, rebased = "rebased", true
  end
  local priority = math.max(1, math.ceil(slot - 1e-9))
  if priority > ${MAX_INTERACTIVE_PRIORITY} then
    priority = ${MAX_INTERACTIVE_PRIORITY}
    event = "saturated"
  end
  redis.call("HSET", clock[2], owner, tostring(slot))
  if slot > tonumber(redis.call("GET", clock[3]) or "0") then redis.call("SET", clock[3], tostring(slot)) end
  -- A call can both re-base and saturate: \`event\` names the one to count, \`rebased\` says whether
  -- the clock moved (callers holding earlier slots of this script must move them too).
  return base + priority, slot, event, rebased
end
`;

const NEXT_SLOT = `${FAIR_SLOT_LUA}
local priority, slot, event = fairSlot(KEYS, ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4])
return {priority, event}`;

// A priority above the top slot was read before a re-base (a job fetched just before it): it would
// move the clock far ahead, so it is ignored; the next dispatch moves the clock.
const MARK_SERVED = `
local served = tonumber(redis.call("GET", KEYS[1]) or "0")
local slot = tonumber(ARGV[1])
local top = redis.call("GET", KEYS[2])
if slot > served and (not top or slot <= tonumber(top)) then redis.call("SET", KEYS[1], ARGV[1]) end
return 1`;

// The queue is idle only if nothing waits, runs or backs off and no submit is between its reservation
// (which took a slot) and Queue.add: a young queued-since entry. Checked and reset in one script, so a
// submit's slot is never from a clock that is reset under it. Both classes' clocks start over.
const RESET_IF_IDLE = `
if redis.call("LLEN", KEYS[4]) > 0 or redis.call("ZCARD", KEYS[5]) > 0 or redis.call("LLEN", KEYS[6]) > 0
  or redis.call("ZCARD", KEYS[7]) > 0 or redis.call("ZCOUNT", KEYS[8], ARGV[1], "+inf") > 0 then
  return 0
end
redis.call("DEL", KEYS[1], KEYS[2], KEYS[3], KEYS[9], KEYS[10], KEYS[11])
return 1`;

/** The BullMQ priority for an owner's next job (submits take it in `reserveSubmit` instead). */
export async function nextFairPriority(
  redis: Redis,
  prefix: string,
  owner: string,
  weight: number,
  cls: PriorityClass = "interactive",
): Promise<number> {
  return (await takeFairSlot(redis, prefix, owner, weight, cls)).priority;
}

/** `nextFairPriority` with what happened to the clock on the way. */
export async function takeFairSlot(
  redis: Redis,
  prefix: string,
  owner: string,
  weight: number,
  cls: PriorityClass = "interactive",
): Promise<{ priority: number; event: FairShareEvent }> {
  const keys = fairSlotKeys(prefix);
  const [priority, event] = (await runScript(
    redis,
    NEXT_SLOT,
    keys.length,
    ...keys,
    generateQueueKey(prefix, ""),
    owner,
    String(fairStep(weight)),
    cls,
  )) as [number, string];
  return { priority, event: (event || null) as FairShareEvent };
}

/** Called when a dispatcher starts a job: its class's virtual clock moves to that job's slot. */
export async function markServed(redis: Redis, prefix: string, priority: number): Promise<void> {
  const cls = classOf(priority);
  const slot = priority - (cls === "batch" ? CLASS_SPAN : 0) - 1;
  await runScript(
    redis,
    MARK_SERVED,
    2,
    servedKey(prefix, cls),
    topKey(prefix, cls),
    String(Math.max(0, slot)),
  );
}

export async function servedSlot(
  redis: Redis,
  prefix: string,
  cls: PriorityClass = "interactive",
): Promise<number> {
  return Number(await redis.get(servedKey(prefix, cls))) || 0;
}

/**
 * When the queue is empty, the virtual clock starts again from 0. Checks the queue itself, in the
 * same script as the reset (the caller's `isQueueIdle` is only a cheap pre-check): true if it reset.
 */
export async function resetFairShare(redis: Redis, prefix: string): Promise<boolean> {
  const reset = await runScript(
    redis,
    RESET_IF_IDLE,
    11,
    servedKey(prefix),
    lastKey(prefix),
    topKey(prefix),
    generateQueueKey(prefix, "wait"),
    generateQueueKey(prefix, "prioritized"),
    generateQueueKey(prefix, "active"),
    generateQueueKey(prefix, "delayed"),
    queuedSinceKey(prefix),
    servedKey(prefix, "batch"),
    lastKey(prefix, "batch"),
    topKey(prefix, "batch"),
    String(Date.now() - RESERVATION_GRACE_MS),
  );
  return reset === 1;
}
