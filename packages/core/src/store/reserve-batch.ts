import type { Redis } from "ioredis";
import { BATCH_INDEX_KEEP, batchKeys } from "./batch-records";
import { FAIR_SLOT_LUA, fairSlotKeys, fairStep } from "./fair-share";
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
  /** Each job's BullMQ priority (its fair-share slot), in `ids` order. */
  priorities: number[];
  /** The owner's fair slot after the batch, and before it ("" when none, or after a re-base). */
  slot: string;
  previousSlot: string;
  rebased: boolean;
  saturated: number;
}

export type ReserveBatchResult =
  | ({ reserved: true } & BatchReservation)
  | { reserved: false /** The owner's recorded pending count, at or over the limit. */; pending: number };

const FIRST_ID = 9;

const RESERVE_BATCH = `${FAIR_SLOT_LUA}
local owner = ARGV[1]
local n = redis.call("SCARD", KEYS[1])
if n >= tonumber(ARGV[2]) then return {0, n} end
local at, step, jobPrefix = ARGV[3], tonumber(ARGV[4]), ARGV[5]
local fairKeys = {KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]}
local previous = redis.call("HGET", KEYS[6], owner) or ""
local priorities, slot, rebased, saturated = {}, 0, 0, 0
for i = ${FIRST_ID}, #ARGV do
  local id = ARGV[i]
  redis.call("SADD", KEYS[1], id)
  redis.call("ZADD", KEYS[2], 0, id)
  redis.call("ZADD", KEYS[3], 0, id)
  redis.call("ZADD", KEYS[4], at, id)
  local servedBefore = tonumber(redis.call("GET", KEYS[5]) or "0")
  -- The fair-share slot of this job (the same call a single job's reservation makes).
  local priority, jobSlot, event = fairSlot(fairKeys, jobPrefix, owner, step)
  if event == "rebased" then
    -- The re-base moved every queued job's priority down by floor(served); this batch's earlier jobs
    -- are not queued yet, so they move here, and the old fair slot means nothing any more.
    local delta = math.floor(servedBefore)
    for j = 1, #priorities do priorities[j] = math.max(1, priorities[j] - delta) end
    rebased, previous = 1, ""
  elseif event == "saturated" then
    saturated = saturated + 1
  end
  priorities[#priorities + 1] = priority
  slot = jobSlot
end
local batchId, ttl = ARGV[6], tonumber(ARGV[7])
redis.call("HSET", KEYS[11], "owner", owner, "created_at", at, "total", tostring(#ARGV - ${FIRST_ID} + 1))
redis.call("EXPIRE", KEYS[11], ttl)
for i = ${FIRST_ID}, #ARGV, 500 do
  redis.call("RPUSH", KEYS[12], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
redis.call("EXPIRE", KEYS[12], ttl)
redis.call("ZADD", KEYS[13], 0, batchId)
redis.call("ZREMRANGEBYRANK", KEYS[13], 0, -(tonumber(ARGV[8]) + 1))
return {1, previous, tostring(slot), rebased, saturated, priorities}`;

// The fair slot is given back only if no later submit of the owner moved past it.
const RELEASE_BATCH = `
for i = 5, #ARGV do
  redis.call("SREM", KEYS[1], ARGV[i])
  redis.call("ZREM", KEYS[2], ARGV[i])
  redis.call("ZREM", KEYS[3], ARGV[i])
  redis.call("ZREM", KEYS[4], ARGV[i])
end
if redis.call("HGET", KEYS[5], ARGV[1]) == ARGV[2] then
  if ARGV[3] == "" then redis.call("HDEL", KEYS[5], ARGV[1]) else redis.call("HSET", KEYS[5], ARGV[1], ARGV[3]) end
end
redis.call("DEL", KEYS[6], KEYS[7])
redis.call("ZREM", KEYS[8], ARGV[4])
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
    ids: string[];
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
    ...batch.ids,
  )) as [0, number] | [1, string, string, number, number, number[]];
  if (r[0] === 0) return { reserved: false, pending: r[1] };
  const [, previousSlot, slot, rebased, saturated, priorities] = r;
  return {
    reserved: true,
    batchId: batch.batchId,
    owner: batch.owner,
    ids: batch.ids,
    priorities,
    slot,
    previousSlot,
    rebased: rebased === 1,
    saturated,
  };
}

/** Takes back a batch's reservation when none of its jobs was queued. */
export async function releaseBatch(redis: Redis, prefix: string, r: BatchReservation): Promise<void> {
  const keys = [
    ...ownKeys(prefix, r.owner),
    fairSlotKeys(prefix)[1]!,
    batchKeys.record(prefix, r.batchId),
    batchKeys.jobs(prefix, r.batchId),
    batchKeys.owner(prefix, r.owner),
  ];
  await runScript(
    redis,
    RELEASE_BATCH,
    keys.length,
    ...keys,
    r.owner,
    r.slot,
    r.previousSlot,
    r.batchId,
    ...r.ids,
  );
}
