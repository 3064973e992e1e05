import type { Redis } from "ioredis";

/**
 * A rolling average of job duration and of model load time, kept in one small hash: the fetch policy's
 * switch cost and the `Retry-After` of a full pending limit. (`eta_seconds` has its own per-upstream,
 * per-cost model since issue #19: eta-rates.ts.)
 */
const key = (prefix: string) => `${prefix}:gateway:stats`;
const WEIGHT = 0.2;

async function recordAverage(redis: Redis, prefix: string, field: string, ms: number): Promise<void> {
  const prev = Number(await redis.hget(key(prefix), field));
  const next = Number.isFinite(prev) && prev > 0 ? prev + WEIGHT * (ms - prev) : ms;
  await redis.hset(key(prefix), field, Math.round(next));
}

/** Service time of one job on a warm upstream (the request minus any model load). */
export async function recordJobDuration(redis: Redis, prefix: string, ms: number): Promise<void> {
  await recordAverage(redis, prefix, "avg_job_ms", ms);
}

/** Time an upstream took to load its model, as observed from /health during a cold request. */
export async function recordLoadDuration(redis: Redis, prefix: string, ms: number): Promise<void> {
  await recordAverage(redis, prefix, "avg_load_ms", ms);
}

export async function setUpstreamCount(redis: Redis, prefix: string, count: number): Promise<void> {
  await redis.hset(key(prefix), "upstreams", count);
}

export interface DispatchStats {
  avgJobMs: number | null;
  avgLoadMs: number | null;
  upstreams: number;
}

export async function getDispatchStats(redis: Redis, prefix: string): Promise<DispatchStats> {
  const [avg, load, ups] = await redis.hmget(key(prefix), "avg_job_ms", "avg_load_ms", "upstreams");
  const avgJobMs = Number(avg);
  const avgLoadMs = Number(load);
  return {
    avgJobMs: avgJobMs > 0 ? avgJobMs : null,
    avgLoadMs: avgLoadMs > 0 ? avgLoadMs : null,
    upstreams: Math.max(1, Number(ups) || 1),
  };
}
