import { setTimeout as sleep } from "node:timers/promises";
import { leaseKey, QUEUES } from "@zimage/core";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import type { RunningProcess } from "@zimage/testkit";
import { Redis } from "ioredis";

/**
 * Issue #16 §2: how long the in-flight job of a SIGKILLed lease holder takes to go back on the GPU,
 * with the DEFAULT dispatcher timings (not the tests' fast ones). A measurement, not a test:
 *
 *   node --import tsx apps/worker/chaos/measure-stalled-recovery.ts [runs=3]
 *
 * One cluster (private Redis, 1 simulated GPU, api, 2 workers). Each run submits one job, SIGKILLs
 * the holder 1 s into the job's GPU request, and timestamps what follows. At the kill it reads the
 * state that decides the delay from Redis: the lease's and the job lock's remaining TTL, BullMQ's
 * `stalled-check` throttle key (one stalled check per STALLED_INTERVAL for the whole queue, whoever
 * runs it) and whether the job is already in the `stalled` set (marked by an earlier check).
 */
const RUNS = Number(process.argv[2] ?? 3);
const DEFAULT_TIMINGS = {
  LEASE_TTL_SECONDS: "15",
  LEASE_SPREAD_SECONDS: "2",
  LOCK_DURATION_SECONDS: "15",
  STALLED_INTERVAL_SECONDS: "15",
  HEALTH_INTERVAL_SECONDS: "10",
  UPSTREAM_POLL_SECONDS: "0.5",
  JOB_BACKOFF_SECONDS: "5",
};
const GPU_MS = 5_000;
const PREFIX = "cluster";
const q = (k: string) => `${PREFIX}:${QUEUES.generate}:${k}`;

const alive = (w: RunningProcess) => w.child.exitCode === null && w.child.signalCode === null;

async function measure(cluster: Cluster, redis: Redis, i: number) {
  const sim = cluster.sims[0]!;
  const holder = await until(() => cluster.leaseHolder(), 60_000, "a lease holder");
  const prompt = `stalled recovery ${Date.now()} #${i}`;
  const requestsFor = () =>
    sim.stats().requests.filter((r) => r.prompt === prompt && r.path.includes("images"));
  const id = await cluster.submit({ prompt, size: "128x128" });
  await until(() => requestsFor().length === 1, 60_000, "the job's request on the GPU");
  await sleep(1_000);

  const [leaseMs, lockMs, checkMs, marked] = await Promise.all([
    redis.pttl(leaseKey(PREFIX, "gpu0")),
    redis.pttl(q(`${id}:lock`)),
    redis.pttl(q("stalled-check")),
    redis.sismember(q("stalled"), id),
  ]);
  const killedAt = Date.now();
  await holder.stop("SIGKILL");

  const at: Record<string, number | null> = { newHolder: null, redispatched: null, succeeded: null };
  const deadline = killedAt + 150_000;
  while (Date.now() < deadline && at.succeeded === null) {
    const since = (Date.now() - killedAt) / 1000;
    if (at.newHolder === null) {
      const owner = await redis.get(leaseKey(PREFIX, "gpu0"));
      if (owner && !owner.includes(`:${holder.pid}:`)) at.newHolder = since;
    }
    if (at.redispatched === null && requestsFor().length >= 2) {
      at.redispatched = Math.round((requestsFor()[1]!.arrivedAt - killedAt) / 100) / 10;
    }
    if ((await cluster.view(id)).status === "succeeded") at.succeeded = since;
    await sleep(100);
  }
  const s = (ms: number) => (ms < 0 ? "none" : `${(ms / 1000).toFixed(1)} s`);
  const result = {
    run: i,
    atKill: {
      leaseExpiresIn: s(leaseMs),
      jobLockExpiresIn: s(lockMs),
      stalledCheckThrottleFor: s(checkMs),
      jobAlreadyMarkedStalled: marked === 1,
    },
    predictedRedispatch: `${predict(leaseMs, lockMs, checkMs, marked === 1).toFixed(1)} s (+ up to one checker tick)`,
    secondsAfterKill: Object.fromEntries(
      Object.entries(at).map(([k, v]) => [k, v === null ? "not within 150 s" : Number(v.toFixed(1))]),
    ),
  };
  console.log(JSON.stringify(result));
  // A new standby for the next run.
  if (cluster.workers.filter(alive).length < 2) await cluster.startWorker();
}

/**
 * When the job should go back to the queue, from the state at the kill: every worker process runs
 * the stalled checker (dispatcher.ts), so a check runs as soon as the queue-wide `stalled-check`
 * key has expired (up to one timer tick later), whoever holds the lease; the job is moved back by the
 * first check that finds it already marked and its lock gone, and every check marks the active jobs.
 * The lease only decides who then dispatches it (`leaseMs`, reported beside).
 */
function predict(_leaseMs: number, lockMs: number, checkMs: number, marked: boolean): number {
  const interval = Number(DEFAULT_TIMINGS.STALLED_INTERVAL_SECONDS) * 1000;
  const acquired = 0;
  let throttledUntil = Math.max(0, checkMs);
  let isMarked = marked;
  for (let t = acquired; t < acquired + 10 * interval; t += interval) {
    if (t < throttledUntil) continue;
    if (isMarked && t >= lockMs) return t / 1000;
    isMarked = true;
    throttledUntil = t + interval;
  }
  return Number.NaN;
}

async function until<T>(probe: () => T | Promise<T>, ms: number, what: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const cluster = await startCluster({
  workers: 2,
  sim: { loadMs: 0, baseMs: GPU_MS },
  env: { ...DEFAULT_TIMINGS, IDLE_UNLOAD_SECONDS: "600" },
});
const redis = new Redis(cluster.redis.url);
try {
  console.log(JSON.stringify({ timings: DEFAULT_TIMINGS, gpuMsPerJob: GPU_MS }));
  for (let i = 1; i <= RUNS; i++) await measure(cluster, redis, i);
} finally {
  redis.disconnect();
  await cluster.stop();
}
