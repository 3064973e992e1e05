import type { Redis } from "ioredis";
import { runScript } from "./run-script";

/**
 * What ETA has learned about each upstream's speed (issue #19), from the jobs it finished: its
 * inference time as a function of a job's cost (`jobCost`: width × height × steps × n in
 * megapixel-steps), and, separately, how long it takes to load a model.
 *
 * Inference time is fitted as `overhead + rate × cost` by least squares over exponentially weighted
 * sums (each new job weighs 1, older ones fade by DECAY per job: about the last 15 jobs count), so a
 * GPU that slows down (thermal limits, a new driver) is followed within a few jobs, and a fixed
 * per-request overhead (text encoding, VAE decode, HTTP) is not smeared into the per-step rate. Five
 * numbers per upstream in one small hash: `<upstream>|w|x|y|xx|xy` and `<upstream>|load_ms`; bounded by
 * the number of upstreams ever configured.
 */
const key = (prefix: string) => `${prefix}:gateway:eta`;
export const ETA_DECAY = 0.93;
/** Load times are fewer and vary less: a plain exponentially weighted average. */
const LOAD_WEIGHT = 0.3;

const RECORD = `
local u = ARGV[1]
local x = tonumber(ARGV[2])
local y = tonumber(ARGV[3])
local load = tonumber(ARGV[4])
local d = tonumber(ARGV[5])
local lw = tonumber(ARGV[6])
local function get(f) return tonumber(redis.call("HGET", KEYS[1], u .. "|" .. f)) or 0 end
if x and y and x > 0 and y >= 0 then
  redis.call("HSET", KEYS[1],
    u .. "|w", get("w") * d + 1,
    u .. "|x", get("x") * d + x,
    u .. "|y", get("y") * d + y,
    u .. "|xx", get("xx") * d + x * x,
    u .. "|xy", get("xy") * d + x * y)
end
if load and load > 0 then
  local prev = get("load_ms")
  if prev > 0 then load = prev + lw * (load - prev) end
  redis.call("HSET", KEYS[1], u .. "|load_ms", math.floor(load + 0.5))
end
return 1
`;

/**
 * Records one job the upstream ran: its cost, its inference time, and the model load it paid (null
 * or 0: none observed). Called by the worker when the GPU answered (process-job.ts).
 */
export async function recordJobTiming(
  redis: Redis,
  prefix: string,
  upstream: string,
  t: { cost: number; inferenceMs: number; loadMs: number | null },
): Promise<void> {
  await runScript(
    redis,
    RECORD,
    1,
    key(prefix),
    upstream,
    t.cost,
    Math.max(0, t.inferenceMs),
    t.loadMs ?? 0,
    ETA_DECAY,
    LOAD_WEIGHT,
  );
}

/** Inference takes `overheadMs + msPerCost × cost` milliseconds. */
export interface InferenceRate {
  overheadMs: number;
  msPerCost: number;
}

/** One upstream's learned speed; each part null until a job (a load) was seen on it. */
export interface UpstreamRate {
  inference: InferenceRate | null;
  loadMs: number | null;
}

interface Sums {
  w: number;
  x: number;
  y: number;
  xx: number;
  xy: number;
}

/**
 * The least-squares line through the weighted points. When the recent jobs all had about the same
 * cost (no spread to separate overhead from rate), or the fit is not physical (a negative overhead
 * or rate), the line through the origin: time proportional to cost, which is exact for the cost seen
 * and scales with it.
 */
export function fitRate(s: Sums): InferenceRate | null {
  if (!(s.w > 0) || !(s.xx > 0)) return null;
  const mx = s.x / s.w;
  const my = s.y / s.w;
  const vx = s.xx / s.w - mx * mx;
  if (vx > (0.1 * mx) ** 2) {
    const b = (s.xy / s.w - mx * my) / vx;
    const a = my - b * mx;
    if (b > 0 && a >= 0) return { overheadMs: a, msPerCost: b };
  }
  return { overheadMs: 0, msPerCost: s.xy / s.xx };
}

/** Every upstream's learned rate (those with nothing learned yet are absent). One HGETALL. */
export async function readEtaRates(redis: Redis, prefix: string): Promise<Map<string, UpstreamRate>> {
  const raw = await redis.hgetall(key(prefix));
  const sums = new Map<string, Sums & { load: number }>();
  for (const [field, value] of Object.entries(raw)) {
    const cut = field.lastIndexOf("|");
    const name = field.slice(0, cut);
    const stat = field.slice(cut + 1);
    const s = sums.get(name) ?? { w: 0, x: 0, y: 0, xx: 0, xy: 0, load: 0 };
    const v = Number(value);
    if (stat === "load_ms") s.load = v;
    else if (stat in s) s[stat as keyof Sums] = v;
    sums.set(name, s);
  }
  const rates = new Map<string, UpstreamRate>();
  for (const [name, s] of sums) {
    rates.set(name, { inference: fitRate(s), loadMs: s.load > 0 ? s.load : null });
  }
  return rates;
}
