import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { JOB_COST_LUA } from "../job-cost";
import { runScript } from "./run-script";

/** How many of the jobs ahead of a queued one are read (kind and cost); the rest are extrapolated. */
export const AHEAD_EXAMINED = 64;
/** At most this many running jobs are read (one per upstream: concurrency 1 each). */
const RUNNING_READ = 256;

export interface QueuedJobCost {
  kind: string;
  cost: number;
}

export interface RunningJobCost extends QueuedJobCost {
  id: string;
  /** Epoch ms when its current dispatch started (BullMQ `processedOn`). */
  processedOn: number | null;
  /** Its progress (JobProgress: phase, upstream, since when it generates), as written by the worker. */
  progress: unknown;
}

/** Where a job stands in the `generate` queue, read atomically (`readQueuePlace`). */
export interface QueuePlace {
  /** The BullMQ structure holding it now; `elsewhere`: finished, or gone. */
  where: "wait" | "prioritized" | "delayed" | "active" | "elsewhere";
  /** 1-based (1 = the next job a free dispatcher takes) whenever it is queued; null otherwise. */
  position: number | null;
  /** How many jobs run before it (position − 1). */
  aheadCount: number;
  /** The first AHEAD_EXAMINED of those, in the order they run. */
  ahead: QueuedJobCost[];
  /** A retry waiting out its backoff: epoch ms when it returns to the queue; null otherwise. */
  delayedUntil: number | null;
  /** The jobs running now (only when asked for). */
  running: RunningJobCost[];
}

/*
 * KEYS: wait, prioritized, delayed, active, paused. ARGV: job key prefix, id, jobs ahead to examine,
 * running jobs to read.
 *
 * BullMQ LPUSHes jobs without a priority onto `wait` and takes from its right end, before any job of
 * the `prioritized` set (scores `priority × 2^32 + counter`, lowest first): so position = its place
 * from the right end of `wait`, or all of `wait` plus its rank in `prioritized`. A retry in `delayed`
 * rejoins `prioritized` at the end of its priority when its backoff ends: it counts behind every job
 * of its priority or better. (`paused` is BullMQ's legacy paused list, read like `wait`.)
 */
const PLACE = `
${JOB_COST_LUA}
local jobPrefix = ARGV[1]
local id = ARGV[2]
local K = tonumber(ARGV[3])
local R = tonumber(ARGV[4])
local where, delayedUntil = "elsewhere", -1
local list = KEYS[1]
local listLen = redis.call("LLEN", list)
local listAhead, prioAhead = 0, 0
local idx = redis.call("LPOS", list, id)
if not idx then
  local pidx = redis.call("LPOS", KEYS[5], id)
  if pidx then
    list = KEYS[5]
    listLen = redis.call("LLEN", list)
    idx = pidx
  end
end
if idx then
  where = "wait"
  listAhead = listLen - idx - 1
else
  local rank = redis.call("ZRANK", KEYS[2], id)
  if rank then
    where = "prioritized"
    listAhead = listLen
    prioAhead = rank
  else
    local dscore = redis.call("ZSCORE", KEYS[3], id)
    if dscore then
      where = "delayed"
      listAhead = listLen
      delayedUntil = math.floor(tonumber(dscore) / 4096)
      local prio = tonumber(redis.call("HGET", jobPrefix .. id, "priority")) or 0
      if prio > 0 then
        prioAhead = redis.call("ZCOUNT", KEYS[2], "-inf", "(" .. string.format("%.0f", (prio + 1) * 4294967296))
      end
    elseif redis.call("LPOS", KEYS[4], id) then
      where = "active"
    end
  end
end
local function info(jid)
  local h = redis.call("HMGET", jobPrefix .. jid, "name", "data")
  return {h[1] or "", tostring(jobCost(h[2]))}
end
local ahead = {}
if where ~= "active" and where ~= "elsewhere" then
  local fromList = math.min(K, listAhead)
  if fromList > 0 then
    local ids = redis.call("LRANGE", list, -fromList, -1)
    for i = #ids, 1, -1 do table.insert(ahead, info(ids[i])) end
  end
  local fromPrio = math.min(K - #ahead, prioAhead)
  if fromPrio > 0 then
    for _, jid in ipairs(redis.call("ZRANGE", KEYS[2], 0, fromPrio - 1)) do table.insert(ahead, info(jid)) end
  end
end
local running = {}
if R > 0 then
  for _, jid in ipairs(redis.call("LRANGE", KEYS[4], 0, R - 1)) do
    local h = redis.call("HMGET", jobPrefix .. jid, "name", "data", "processedOn", "progress")
    table.insert(running, {jid, h[1] or "", tostring(jobCost(h[2])), h[3] or "", h[4] or ""})
  end
end
return {where, listAhead + prioAhead, delayedUntil, ahead, running}
`;

function parseJson(s: string): unknown {
  if (!s) return null;
  try {
    return JSON.parse(s);
  } catch {
    // Unreadable progress reads as none: the running job's ETA then assumes it has just started.
    return null;
  }
}

/**
 * Where job `id` stands, in one script so its state, its position and the jobs ahead of it are one
 * consistent picture (read in separate calls, a job taken between them read as queued without a
 * position). Reads at most AHEAD_EXAMINED queued jobs' data, whatever the queue's depth, and, with
 * `withRunning`, the running jobs.
 */
export async function readQueuePlace(
  redis: Redis,
  queue: Queue,
  id: string,
  opts: { withRunning?: boolean; examine?: number } = {},
): Promise<QueuePlace> {
  const k = queue.keys;
  const [where, aheadCount, delayedUntil, ahead, running] = (await runScript(
    redis,
    PLACE,
    5,
    k.wait!,
    k.prioritized!,
    k.delayed!,
    k.active!,
    k.paused!,
    queue.toKey(""),
    id,
    opts.examine ?? AHEAD_EXAMINED,
    opts.withRunning ? RUNNING_READ : 0,
  )) as [
    QueuePlace["where"],
    number,
    number,
    Array<[string, string]>,
    Array<[string, string, string, string, string]>,
  ];
  const queued = where === "wait" || where === "prioritized" || where === "delayed";
  return {
    where,
    position: queued ? aheadCount + 1 : null,
    aheadCount: queued ? aheadCount : 0,
    ahead: ahead.map(([kind, cost]) => ({ kind, cost: Number(cost) })),
    delayedUntil: delayedUntil >= 0 ? delayedUntil : null,
    running: running.map(([rid, kind, cost, processedOn, progress]) => ({
      id: rid,
      kind,
      cost: Number(cost),
      processedOn: Number(processedOn) > 0 ? Number(processedOn) : null,
      progress: parseJson(progress),
    })),
  };
}

/** 1-based position of a queued job (1 = the next one a free dispatcher takes); null when it is not queued. */
export async function queuePosition(redis: Redis, queue: Queue, id: string): Promise<number | null> {
  return (await readQueuePlace(redis, queue, id, { examine: 0 })).position;
}
