import type { Redis } from "ioredis";
import { daysBetween, utcDay, utcMonth } from "../usage-period";
import { runScript } from "./run-script";

/**
 * GPU usage per API key, per UTC day and per upstream (issue #19). One hash per key and day holds
 * the day's totals (`jobs`, `images`, `gpu_ms`, `load_ms`, `inference_ms`) and the same per upstream
 * (`<field>@<upstream>`); a set per day lists the keys with usage that day (the admin's `key=all`);
 * one hash per key and month holds the month's `gpu_ms` (the monthly budget reads one field instead of
 * 31 days). All carry the retention TTL (USAGE_RETENTION_DAYS), so nothing grows without bound: the
 * number of keys is days × API keys, and the fields per hash are bounded by the upstreams.
 *
 * Each record is guarded by its own short-lived SET NX marker (an attempt's run number, or the job's
 * end), so a record repeated by a second observer — a retry, a reconciled end — never counts twice.
 */
export const usageDayKey = (prefix: string, day: string, owner: string) =>
  `${prefix}:usage:day:${day}:${owner}`;
export const usageMonthKey = (prefix: string, month: string, owner: string) =>
  `${prefix}:usage:month:${month}:${owner}`;
export const usageKeysOfDay = (prefix: string, day: string) => `${prefix}:usage:keys:${day}`;
export const usageInFlightKey = (prefix: string, owner: string) => `${prefix}:usage:in-flight:${owner}`;
const attemptMark = (prefix: string, jobId: string, run: number) => `${prefix}:usage:att:${jobId}:${run}`;
const endMark = (prefix: string, jobId: string) => `${prefix}:usage:end:${jobId}`;

/** How long a record's once-only marker is kept: longer than any repeat of the same record can come. */
const MARK_SECONDS = 2 * 86_400;

// KEYS: mark, day hash, day's key set, month hash, in-flight hash. ARGV: mark ttl, retention ttl,
// owner, upstream, job id, then field/increment pairs (the month hash takes gpu_ms only).
// The key's in-flight reservation (gpu-quota.ts) is released whether or not this is a repeat.
const RECORD = `
redis.call("HDEL", KEYS[5], ARGV[5])
if redis.call("SET", KEYS[1], "1", "EX", ARGV[1], "NX") == false then return 0 end
local up = ARGV[4]
for i = 6, #ARGV, 2 do
  local n = tonumber(ARGV[i + 1])
  if n ~= 0 then
    redis.call("HINCRBY", KEYS[2], ARGV[i], n)
    redis.call("HINCRBY", KEYS[2], ARGV[i] .. "@" .. up, n)
    if ARGV[i] == "gpu_ms" then redis.call("HINCRBY", KEYS[4], "gpu_ms", n) end
  end
end
redis.call("EXPIRE", KEYS[2], ARGV[2])
redis.call("SADD", KEYS[3], ARGV[3])
redis.call("EXPIRE", KEYS[3], ARGV[2])
redis.call("EXPIRE", KEYS[4], ARGV[2])
return 1`;

export interface UsageRecordBase {
  owner: string;
  upstream: string;
  jobId: string;
  /** When the usage happened (epoch ms): the UTC day it is counted on. */
  at: number;
  /** USAGE_RETENTION_DAYS in seconds. */
  retentionSeconds: number;
}

async function record(
  redis: Redis,
  prefix: string,
  mark: string,
  r: UsageRecordBase,
  fields: Array<[string, number]>,
): Promise<boolean> {
  const keys = [
    mark,
    usageDayKey(prefix, utcDay(r.at), r.owner),
    usageKeysOfDay(prefix, utcDay(r.at)),
    usageMonthKey(prefix, utcMonth(r.at), r.owner),
    usageInFlightKey(prefix, r.owner),
  ];
  const args = [MARK_SECONDS, Math.ceil(r.retentionSeconds), r.owner, r.upstream, r.jobId];
  for (const [f, n] of fields) args.push(f, Math.max(0, Math.round(n)));
  return (await runScript(redis, RECORD, keys.length, ...keys, ...args)) === 1;
}

/**
 * The GPU time of one dispatch of a job (`run`: BullMQ's count of its starts, so a re-dispatch is a
 * new record and a repeat of the same one is not): model load and inference as the dispatcher
 * measured them, whatever the attempt's outcome. Releases the key's in-flight reservation.
 */
export function recordGpuAttempt(
  redis: Redis,
  prefix: string,
  r: UsageRecordBase & { run: number; loadMs: number; inferenceMs: number },
): Promise<boolean> {
  return record(redis, prefix, attemptMark(prefix, r.jobId, r.run), r, [
    ["gpu_ms", r.loadMs + r.inferenceMs],
    ["load_ms", r.loadMs],
    ["inference_ms", r.inferenceMs],
  ]);
}

/** A job that used a GPU ended: one job, and the images it delivered. Counted once per job. */
export function recordJobUsage(
  redis: Redis,
  prefix: string,
  r: UsageRecordBase & { images: number },
): Promise<boolean> {
  return record(redis, prefix, endMark(prefix, r.jobId), r, [
    ["jobs", 1],
    ["images", r.images],
  ]);
}

export interface UsageCounts {
  jobs: number;
  images: number;
  gpu_ms: number;
}
export interface DayUsage extends UsageCounts {
  upstreams: Record<string, UsageCounts>;
}
/** owner → day → usage; days and owners without usage are absent. */
export type UsageTable = Map<string, Map<string, DayUsage>>;

const COUNTED = ["jobs", "images", "gpu_ms"] as const;

function parseDay(h: Record<string, string>): DayUsage | null {
  if (Object.keys(h).length === 0) return null;
  const day: DayUsage = { jobs: 0, images: 0, gpu_ms: 0, upstreams: {} };
  for (const [field, value] of Object.entries(h)) {
    const at = field.indexOf("@");
    const name = (at < 0 ? field : field.slice(0, at)) as (typeof COUNTED)[number];
    if (!COUNTED.includes(name)) continue;
    if (at < 0) day[name] += Number(value) || 0;
    else {
      const up = field.slice(at + 1);
      day.upstreams[up] ??= { jobs: 0, images: 0, gpu_ms: 0 };
      day.upstreams[up][name] += Number(value) || 0;
    }
  }
  return day;
}

/**
 * The usage of some keys (`owners`), or of every key with usage (`"all"`), on the days from `from` to
 * `to` (UTC, both included). Callers bound the range: one read per key and day.
 */
export async function readUsage(
  redis: Redis,
  prefix: string,
  owners: string[] | "all",
  from: string,
  to: string,
): Promise<UsageTable> {
  const days = daysBetween(from, to);
  let pairs: Array<[string, string]>;
  if (owners === "all") {
    const sets = redis.pipeline();
    for (const day of days) sets.smembers(usageKeysOfDay(prefix, day));
    const members = (await sets.exec()) ?? [];
    pairs = days.flatMap((day, i) =>
      ((members[i]?.[1] as string[] | undefined) ?? []).map((o) => [o, day] as [string, string]),
    );
  } else {
    pairs = owners.flatMap((o) => days.map((day) => [o, day] as [string, string]));
  }
  const reads = redis.pipeline();
  for (const [owner, day] of pairs) reads.hgetall(usageDayKey(prefix, day, owner));
  const rows = (await reads.exec()) ?? [];
  const table: UsageTable = new Map();
  pairs.forEach(([owner, day], i) => {
    const [err, h] = rows[i] ?? [];
    if (err) throw err;
    const usage = parseDay((h ?? {}) as Record<string, string>);
    if (!usage) return;
    if (!table.has(owner)) table.set(owner, new Map());
    table.get(owner)!.set(day, usage);
  });
  return table;
}

/** GPU ms a key used on a UTC day and in a UTC month (what its budgets are measured against). */
export async function readGpuUsed(
  redis: Redis,
  prefix: string,
  owner: string,
  at: number,
): Promise<{ day: number; month: number }> {
  const [day, month] = await Promise.all([
    redis.hget(usageDayKey(prefix, utcDay(at), owner), "gpu_ms"),
    redis.hget(usageMonthKey(prefix, utcMonth(at), owner), "gpu_ms"),
  ]);
  return { day: Number(day) || 0, month: Number(month) || 0 };
}
