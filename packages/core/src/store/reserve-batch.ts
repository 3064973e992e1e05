import type { Redis } from "ioredis";
import type { PriorityClass } from "../job-request";
import { BATCH_INDEX_KEEP, batchKeys } from "./batch-records";
import { deadlineIndexKey } from "./deadline-index";
import { CLASS_SPAN, FAIR_SLOT_LUA, fairLastKeyIndex, fairSlotKeys, fairStep } from "./fair-share";
import { indexKeys } from "./job-index";
import { pendingKey } from "./pending-jobs";
import { generateQueueKey } from "./queue-keys";
import { queuedSinceKey } from "./queued-since";
import { runScript } from "./run-script";

/**
 * A batch's bookkeeping in ONE script before `Queue.addBulk`: what `reserveSubmit` does for one job
 * (pending-set entry, listing index entries, queued-since time, fair-share slot), for every job of the
 * batch, plus the batch record (batch-records.ts). So the batch is reserved all or nothing, and the
 * fair clock cannot be reset or re-based between its jobs' slots by another submit.
 *
 * max_pending: a batch is admitted when the owner has at least one free pending slot (the same check
 * a single job passes); its jobs then all count as pending, so the owner submits nothing more until
 * back under the limit. A key may thus hold up to max_pending - 1 + BATCH_MAX_JOBS jobs: a batch is
 * one request that is refused or queued whole, and a batch larger than max_pending must stay possible.
 */
export interface BatchReservation {
  batchId: string;
  owner: string;
  ids: string[];
  /** Each job's BullMQ priority (its class's fair-share slot, in the class's band), in `ids` order. */
  priorities: number[];
  /**
   * Per class the batch used: the owner's fair slot after the batch, and before it ("" when none, or
   * after a re-base of that class's clock). What `releaseBatch` gives back.
   */
  slots: Partial<Record<PriorityClass, { slot: string; previous: string }>>;
  rebased: boolean;
  saturated: number;
}

export type ReserveBatchResult =
  | ({ reserved: true } & BatchReservation)
  | { reserved: false /** The owner's recorded pending count, at or over the limit. */; pending: number };

/** One job of a batch: its id, class (whose fair clock its slot comes from) and deadline (epoch ms). */
export interface BatchJobSlot {
  id: string;
  cls: PriorityClass;
  deadlineAt?: number | undefined;
}

const FIRST_JOB = 9;
const FAIR_KEYS = fairSlotKeys("").length;
/** KEYS: own keys (4), the fair keys, then the batch record, its job list, the owner's index, the deadlines. */
const K_RECORD = 4 + FAIR_KEYS + 1;

const RESERVE_BATCH = `${FAIR_SLOT_LUA}
local owner = ARGV[1]
local n = redis.call("SCARD", KEYS[1])
if n >= tonumber(ARGV[2]) then return {0, n} end
local at, step, jobPrefix = ARGV[3], tonumber(ARGV[4]), ARGV[5]
local fairKeys = {}
for i = 1, ${FAIR_KEYS} do fairKeys[i] = KEYS[4 + i] end
local recordKey, jobsKey, ownerKey, deadlinesKey = KEYS[${K_RECORD}], KEYS[${K_RECORD + 1}], KEYS[${K_RECORD + 2}], KEYS[${K_RECORD + 3}]
-- Per class: the owner's slot before the batch and after it (the class's "last" hash is fairKeys 2 or 8).
local lastKey = {interactive = fairKeys[2], batch = fairKeys[8]}
local servedKey = {interactive = fairKeys[1], batch = fairKeys[7]}
local previous, slots, used = {}, {}, {}
local ids, classes, priorities, rebased, saturated = {}, {}, {}, 0, 0
for i = ${FIRST_JOB}, #ARGV, 3 do
  local id, class, deadline = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if not used[class] then
    used[class] = true
    previous[class] = redis.call("HGET", lastKey[class], owner) or ""
  end
  redis.call("SADD", KEYS[1], id)
  redis.call("ZADD", KEYS[2], 0, id)
  redis.call("ZADD", KEYS[3], 0, id)
  redis.call("ZADD", KEYS[4], at, id)
  -- A deadline is indexed with the reservation, as for a single job (reserve-submit.ts).
  if deadline ~= "" then redis.call("ZADD", deadlinesKey, deadline, id) end
  local servedBefore = tonumber(redis.call("GET", servedKey[class]) or "0")
  -- The fair-share slot of this job (the same call a single job's reservation makes).
  local priority, jobSlot, event, moved = fairSlot(fairKeys, jobPrefix, owner, step, class)
  if moved then
    -- The re-base moved every queued job of this class down by floor(served); this batch's earlier
    -- jobs of the class are not queued yet, so they move here, and the old fair slot means nothing.
    local delta = math.floor(servedBefore)
    local low = class == "batch" and ${CLASS_SPAN} or 1
    for j = 1, #priorities do
      if classes[j] == class then priorities[j] = math.max(low, priorities[j] - delta) end
    end
    rebased, previous[class] = 1, ""
  end
  if event == "saturated" then saturated = saturated + 1 end
  ids[#ids + 1] = id
  classes[#classes + 1] = class
  priorities[#priorities + 1] = priority
  slots[class] = tostring(jobSlot)
end
local batchId, ttl = ARGV[6], tonumber(ARGV[7])
redis.call("HSET", recordKey, "owner", owner, "created_at", at, "total", tostring(#ids))
redis.call("EXPIRE", recordKey, ttl)
for i = 1, #ids, 500 do
  redis.call("RPUSH", jobsKey, unpack(ids, i, math.min(i + 499, #ids)))
end
redis.call("EXPIRE", jobsKey, ttl)
redis.call("ZADD", ownerKey, 0, batchId)
redis.call("ZREMRANGEBYRANK", ownerKey, 0, -(tonumber(ARGV[8]) + 1))
local out = {}
for _, class in ipairs({"interactive", "batch"}) do
  if used[class] then out[#out + 1] = class; out[#out + 1] = slots[class]; out[#out + 1] = previous[class] end
end
return {1, rebased, saturated, priorities, out}`;

// Each class's fair slot is given back only if no later submit of the owner moved past it.
// ARGV: owner, the slots as JSON, the batch id, then the job ids.
const RELEASE_BATCH = `
for i = 4, #ARGV do
  redis.call("SREM", KEYS[1], ARGV[i])
  redis.call("ZREM", KEYS[2], ARGV[i])
  redis.call("ZREM", KEYS[3], ARGV[i])
  redis.call("ZREM", KEYS[4], ARGV[i])
  redis.call("ZREM", KEYS[10], ARGV[i])
end
for class, s in pairs(cjson.decode(ARGV[2])) do
  local key = class == "batch" and KEYS[6] or KEYS[5]
  if redis.call("HGET", key, ARGV[1]) == s.slot then
    if s.previous == "" then redis.call("HDEL", key, ARGV[1]) else redis.call("HSET", key, ARGV[1], s.previous) end
  end
end
redis.call("DEL", KEYS[7], KEYS[8])
redis.call("ZREM", KEYS[9], ARGV[3])
return 1`;

const ownKeys = (prefix: string, owner: string) => [
  pendingKey(prefix, owner),
  indexKeys.all(prefix),
  indexKeys.owner(prefix, owner),
  queuedSinceKey(prefix),
];

export async function reserveBatch(
  redis: Redis,
  prefix: string,
  batch: {
    batchId: string;
    owner: string;
    jobs: BatchJobSlot[];
    maxPending: number;
    weight: number;
    at: number;
    ttlSeconds: number;
  },
): Promise<ReserveBatchResult> {
  const keys = [
    ...ownKeys(prefix, batch.owner),
    ...fairSlotKeys(prefix),
    batchKeys.record(prefix, batch.batchId),
    batchKeys.jobs(prefix, batch.batchId),
    batchKeys.owner(prefix, batch.owner),
    deadlineIndexKey(prefix),
  ];
  const r = (await runScript(
    redis,
    RESERVE_BATCH,
    keys.length,
    ...keys,
    batch.owner,
    String(batch.maxPending),
    String(batch.at),
    String(fairStep(batch.weight)),
    generateQueueKey(prefix, ""),
    batch.batchId,
    String(batch.ttlSeconds),
    String(BATCH_INDEX_KEEP),
    ...batch.jobs.flatMap((j) => [j.id, j.cls, j.deadlineAt === undefined ? "" : String(j.deadlineAt)]),
  )) as [0, number] | [1, number, number, number[], string[]];
  if (r[0] === 0) return { reserved: false, pending: r[1] };
  const [, rebased, saturated, priorities, flat] = r;
  const slots: BatchReservation["slots"] = {};
  for (let i = 0; i < flat.length; i += 3) {
    slots[flat[i] as PriorityClass] = { slot: flat[i + 1]!, previous: flat[i + 2]! };
  }
  return {
    reserved: true,
    batchId: batch.batchId,
    owner: batch.owner,
    ids: batch.jobs.map((j) => j.id),
    priorities,
    slots,
    rebased: rebased === 1,
    saturated,
  };
}

/** Takes back a batch's reservation when none of its jobs was queued. */
export async function releaseBatch(redis: Redis, prefix: string, r: BatchReservation): Promise<void> {
  const fair = fairSlotKeys(prefix);
  const keys = [
    ...ownKeys(prefix, r.owner),
    fair[fairLastKeyIndex("interactive")]!,
    fair[fairLastKeyIndex("batch")]!,
    batchKeys.record(prefix, r.batchId),
    batchKeys.jobs(prefix, r.batchId),
    batchKeys.owner(prefix, r.owner),
    deadlineIndexKey(prefix),
  ];
  await runScript(
    redis,
    RELEASE_BATCH,
    keys.length,
    ...keys,
    r.owner,
    JSON.stringify(r.slots),
    r.batchId,
    ...r.ids,
  );
}
