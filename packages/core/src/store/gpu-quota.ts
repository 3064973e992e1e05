import type { Redis } from "ioredis";
import { GatewayError } from "../errors";
import { periodEnd, type UsagePeriod, utcDay, utcMonth } from "../usage-period";
import { keyHash } from "./api-keys";
import { readGpuUsed, usageDayKey, usageInFlightKey, usageMonthKey } from "./gpu-usage";
import { runScript } from "./run-script";

/**
 * GPU-seconds budgets per API key (issue #19): `gpu_seconds_per_day` and `gpu_seconds_per_month`
 * (null: unlimited), measured against the key's recorded GPU time of the current UTC day or month.
 *
 * Two checks keep a key within its budget to one job:
 * - at submit (`checkQuota`): a key whose budget is spent gets 429 `quota_exceeded` with the reset time;
 * - at dispatch (`admitDispatch`): a queued job of a key whose budget was spent meanwhile ends failed
 *   with `quota_exceeded` and never reaches a GPU; and a job is started beside other running jobs of
 *   its key only while the budget covers their worst case (see below), else it waits its turn.
 */
export interface GpuBudget {
  gpu_seconds_per_day?: number | null;
  gpu_seconds_per_month?: number | null;
}

export interface QuotaState {
  period: UsagePeriod;
  limit_seconds: number;
  used_seconds: number;
  /** When the period ends (ISO 8601, UTC): the next midnight, or the first of next month. */
  resets_at: string;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

function spent(period: UsagePeriod, limit: number, usedMs: number, now: number): QuotaState {
  return {
    period,
    limit_seconds: limit,
    used_seconds: seconds(usedMs),
    resets_at: new Date(periodEnd(period, now)).toISOString(),
  };
}

export function quotaExceeded(state: QuotaState, now: number): GatewayError {
  const retry = Math.max(1, Math.ceil((Date.parse(state.resets_at) - now) / 1000));
  return new GatewayError(
    "quota_exceeded",
    `this key's GPU budget for the ${state.period} is spent (${state.used_seconds} of ${state.limit_seconds} GPU seconds); it resets at ${state.resets_at}`,
    { ...state, retry_after_seconds: retry },
  );
}

/**
 * The submit check: throws 429 `quota_exceeded` when the key's daily or monthly budget is spent
 * (used ≥ limit). `jobCount` is how many jobs the submit queues (a batch); a budget with GPU time left
 * accepts them all, since a job's GPU time is unknown before it runs: the dispatch check stops the
 * ones that would start past the budget. `now` is injectable for tests of the day and month reset.
 */
export async function checkQuota(
  redis: Redis,
  prefix: string,
  principal: { id: string; limits: GpuBudget },
  jobCount = 1,
  now = Date.now(),
): Promise<void> {
  const { gpu_seconds_per_day: day, gpu_seconds_per_month: month } = principal.limits;
  if (jobCount < 1 || (day == null && month == null)) return;
  const used = await readGpuUsed(redis, prefix, principal.id, now);
  if (day != null && used.day >= day * 1000) throw quotaExceeded(spent("day", day, used.day, now), now);
  if (month != null && used.month >= month * 1000)
    throw quotaExceeded(spent("month", month, used.month, now), now);
}

// KEYS: api key hash, day usage, month usage, in-flight hash. ARGV: job id, bound ms, now ms.
// The in-flight hash maps a running job to "<bound ms>:<expires at ms>"; an entry of a dispatcher that
// died is dropped once past its expiry (its job's GPU time then counts from its next dispatch).
const ADMIT = `
local lim = redis.call("HMGET", KEYS[1], "gpu_seconds_per_day", "gpu_seconds_per_month")
local dayLimit, monthLimit = tonumber(lim[1]), tonumber(lim[2])
if dayLimit == nil and monthLimit == nil then return {"free"} end
local usedDay = tonumber(redis.call("HGET", KEYS[2], "gpu_ms")) or 0
local usedMonth = tonumber(redis.call("HGET", KEYS[3], "gpu_ms")) or 0
if dayLimit ~= nil and usedDay >= dayLimit * 1000 then return {"over", "day", tostring(dayLimit), usedDay} end
if monthLimit ~= nil and usedMonth >= monthLimit * 1000 then
  return {"over", "month", tostring(monthLimit), usedMonth}
end
local now, bound, lifetime = tonumber(ARGV[3]), tonumber(ARGV[2]), tonumber(ARGV[4])
local reserved, others = 0, 0
local entries = redis.call("HGETALL", KEYS[4])
for i = 1, #entries, 2 do
  local b, expires = string.match(entries[i + 1], "^(%d+):(%d+)$")
  if expires == nil or tonumber(expires) < now then
    redis.call("HDEL", KEYS[4], entries[i])
  elseif entries[i] ~= ARGV[1] then
    reserved = reserved + tonumber(b)
    others = others + 1
  end
end
if others > 0 then
  if (dayLimit ~= nil and usedDay + reserved >= dayLimit * 1000)
    or (monthLimit ~= nil and usedMonth + reserved >= monthLimit * 1000) then
    return {"wait"}
  end
end
redis.call("HSET", KEYS[4], ARGV[1], bound .. ":" .. (now + lifetime))
local ttl = redis.call("PTTL", KEYS[4])
if ttl < lifetime then redis.call("PEXPIRE", KEYS[4], lifetime) end
return {"admit"}`;

export type DispatchAdmission =
  | { action: "admit" }
  | { action: "wait" }
  | { action: "over"; quota: QuotaState; error: GatewayError };

/**
 * May a dispatcher start this job of `owner` now? One script, so dispatchers on several upstreams
 * decide one at a time for the same key:
 * - no budget: `admit`, with nothing recorded;
 * - the day's or month's budget is spent: `over` (the job ends failed, `quota_exceeded`);
 * - another job of the key is running and the budget left does not cover the worst-case GPU time
 *   (`boundMs`) of every such job: `wait` (the job goes back to the queue for a moment);
 * - else `admit`, and the job is in flight with its bound until `recordGpuAttempt` releases it.
 *
 * Guarantee: when a job is admitted, either nothing else of its key runs and the budget is not spent,
 * or used + the bounds of the others < limit. Since a dispatch's measured GPU time never exceeds its
 * bound, the key's recorded GPU time, once everything admitted has run, stays below limit + the GPU
 * time of the one job admitted last: a budget is overshot by at most one job.
 */
export async function admitDispatch(
  redis: Redis,
  prefix: string,
  job: {
    id: string;
    owner: string;
    /** The most GPU time the dispatch can be measured at: what it reserves of the budget. */
    boundMs: number;
    /**
     * How long the dispatch can last on the wall clock (waiting for the GPU to be idle, the sleeps
     * between load retries): the reservation lives this long, so it never expires under a running
     * job. Default: boundMs.
     */
    lifetimeMs?: number;
  },
  now = Date.now(),
): Promise<DispatchAdmission> {
  const keys = [
    keyHash(prefix, job.owner),
    usageDayKey(prefix, utcDay(now), job.owner),
    usageMonthKey(prefix, utcMonth(now), job.owner),
    usageInFlightKey(prefix, job.owner),
  ];
  const lifetime = Math.ceil(Math.max(job.boundMs, job.lifetimeMs ?? 0));
  const r = (await runScript(
    redis,
    ADMIT,
    keys.length,
    ...keys,
    job.id,
    Math.ceil(job.boundMs),
    now,
    lifetime,
  )) as [string, string?, string?, number?];
  if (r[0] === "wait") return { action: "wait" };
  if (r[0] !== "over") return { action: "admit" };
  const quota = spent(r[1] as UsagePeriod, Number(r[2]), Number(r[3]), now);
  return { action: "over", quota, error: quotaExceeded(quota, now) };
}

/** Drops a job's in-flight reservation without recording anything (it was not sent after all). */
export async function releaseDispatch(
  redis: Redis,
  prefix: string,
  owner: string,
  jobId: string,
): Promise<void> {
  await redis.hdel(usageInFlightKey(prefix, owner), jobId);
}
