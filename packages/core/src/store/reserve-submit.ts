import type { Redis } from "ioredis";
import type { PriorityClass } from "../job-request";
import { deadlineIndexKey } from "./deadline-index";
import { FAIR_SLOT_LUA, type FairShareEvent, fairLastKeyIndex, fairSlotKeys, fairStep } from "./fair-share";
import { indexKeys } from "./job-index";
import { pendingKey } from "./pending-jobs";
import { generateQueueKey } from "./queue-keys";
import { queuedSinceKey } from "./queued-since";
import { runScript } from "./run-script";

/**
 * A submit's bookkeeping, in one script before Queue.add: the max-pending check and the pending-set
 * entry (so concurrent submits cannot both pass the check: issue #16), the listing index entries, the
 * queued-since time and the fair-share slot (so the fair clock is never reset between the slot and the
 * add: `resetFairShare` sees the young queued-since entry). If Queue.add then fails, `releaseSubmit`
 * takes it all back; if the api dies in between, readers skip and drop the entries once they are older
 * than RESERVATION_GRACE_MS.
 */
export interface SubmitReservation {
  id: string;
  owner: string;
  priority: number;
  /** The job's class: whose clock the slot came from. */
  cls: PriorityClass;
  /** The job's deadline (epoch ms), indexed for the worker's sweep; null: none. */
  deadlineAt: number | null;
  /** The owner's fair slot after this job, and before it ("" when the owner had none). */
  slot: string;
  previousSlot: string;
  fairShareEvent: FairShareEvent;
}

export type ReserveResult =
  | ({ reserved: true } & SubmitReservation)
  | { reserved: false /** The owner's recorded pending count, at or over the limit. */; pending: number };

const RESERVE = `${FAIR_SLOT_LUA}
local id, owner = ARGV[1], ARGV[2]
if redis.call("SISMEMBER", KEYS[1], id) == 0 then
  local n = redis.call("SCARD", KEYS[1])
  if n >= tonumber(ARGV[3]) then return {0, n} end
  redis.call("SADD", KEYS[1], id)
end
redis.call("ZADD", KEYS[2], 0, id)
redis.call("ZADD", KEYS[3], 0, id)
redis.call("ZADD", KEYS[4], ARGV[4], id)
-- A deadline is indexed with the reservation, so no queued job with one escapes the worker's sweep.
if ARGV[8] ~= "" then redis.call("ZADD", KEYS[14], ARGV[8], id) end
local fairKeys = {KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13]}
local class = ARGV[7]
local previous = redis.call("HGET", class == "batch" and KEYS[12] or KEYS[6], owner) or ""
local priority, slot, event, rebased = fairSlot(fairKeys, ARGV[6], owner, tonumber(ARGV[5]), class)
-- After a re-base the old value means nothing; no entry is the same as one at the served slot.
if rebased then previous = "" end
return {1, priority, tostring(slot), previous, event}`;

// The fair slot is given back only if no later submit of the owner moved past it.
const RELEASE = `
redis.call("SREM", KEYS[1], ARGV[1])
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("ZREM", KEYS[3], ARGV[1])
redis.call("ZREM", KEYS[4], ARGV[1])
redis.call("ZREM", KEYS[6], ARGV[1])
if redis.call("HGET", KEYS[5], ARGV[2]) == ARGV[3] then
  if ARGV[4] == "" then redis.call("HDEL", KEYS[5], ARGV[2]) else redis.call("HSET", KEYS[5], ARGV[2], ARGV[4]) end
end
return 1`;

const ownKeys = (prefix: string, owner: string) => [
  pendingKey(prefix, owner),
  indexKeys.all(prefix),
  indexKeys.owner(prefix, owner),
  queuedSinceKey(prefix),
];

export async function reserveSubmit(
  redis: Redis,
  prefix: string,
  job: {
    id: string;
    owner: string;
    maxPending: number;
    weight: number;
    at: number;
    cls?: PriorityClass;
    deadlineAt?: number | undefined;
  },
): Promise<ReserveResult> {
  const cls = job.cls ?? "interactive";
  const keys = [...ownKeys(prefix, job.owner), ...fairSlotKeys(prefix), deadlineIndexKey(prefix)];
  const r = (await runScript(
    redis,
    RESERVE,
    keys.length,
    ...keys,
    job.id,
    job.owner,
    String(job.maxPending),
    String(job.at),
    String(fairStep(job.weight)),
    generateQueueKey(prefix, ""),
    cls,
    job.deadlineAt === undefined ? "" : String(job.deadlineAt),
  )) as [0, number] | [1, number, string, string, string];
  if (r[0] === 0) return { reserved: false, pending: r[1] };
  const [, priority, slot, previousSlot, event] = r;
  return {
    reserved: true,
    id: job.id,
    owner: job.owner,
    priority,
    cls,
    deadlineAt: job.deadlineAt ?? null,
    slot,
    previousSlot,
    fairShareEvent: (event || null) as FairShareEvent,
  };
}

/** Takes back a reservation whose job was certainly not queued. */
export async function releaseSubmit(redis: Redis, prefix: string, r: SubmitReservation): Promise<void> {
  const keys = [
    ...ownKeys(prefix, r.owner),
    fairSlotKeys(prefix)[fairLastKeyIndex(r.cls)]!,
    deadlineIndexKey(prefix),
  ];
  await runScript(redis, RELEASE, keys.length, ...keys, r.id, r.owner, r.slot, r.previousSlot);
}
