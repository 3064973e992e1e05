import { freePort } from "@zimage/testkit/standalone";
import { Redis } from "ioredis";
import { rssMb, sleep, startGateway, submitMany } from "./gateway";
import { load } from "./load";
import { load as loadAverage } from "./redis-topologies";

export const SIZING_HEADING = "## 10. Sizing figures";

export interface SizingPlan {
  /** Jobs queued (upstream unreachable) for Redis bytes per queued job. */
  queued: number;
  /** Jobs run to completion for Redis bytes per finished job. */
  finished: number;
}

export const SIZING_DEFAULTS: SizingPlan = { queued: 5_000, finished: 1_000 };

async function usedMemory(url: string): Promise<number> {
  const redis = new Redis(url);
  const info = await redis.info("memory");
  redis.disconnect();
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/** Clients connected to the Redis at `url`, not counting the connection that asks. */
async function redisClients(url: string): Promise<number> {
  const redis = new Redis(url);
  const info = await redis.info("clients");
  redis.disconnect();
  return Number(/connected_clients:(\d+)/.exec(info)?.[1]) - 1;
}

const body = (prompt: string) => ({ prompt, size: "1024x1024" });

/** Redis bytes per queued job: `n` submits through the api while the only upstream is unreachable. */
async function bytesPerQueuedJob(n: number): Promise<number> {
  const deadPort = await freePort();
  const { cluster, key } = await startGateway({ upstreamUrls: [`http://127.0.0.1:${deadPort}`] });
  try {
    await submitMany(cluster.apiUrl, key, 20, 4, (i) => body(`warm ${i}`));
    const before = await usedMemory(cluster.redis.url);
    await load({
      url: `${cluster.apiUrl}/v1/jobs`,
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body("a lighthouse at dusk, seen from the sea")),
      connections: 16,
      amount: n,
      expectStatus: 202,
    });
    return ((await usedMemory(cluster.redis.url)) - before) / n;
  } finally {
    await cluster.stop();
  }
}

/**
 * Redis bytes per finished job, with the retention defaults (RESULT_TTL 7 days: the job, its result
 * metadata and its indexes stay until the sweeper removes them): `n` jobs run to completion on a fast
 * simulator, measured against the memory before they were submitted.
 */
async function bytesPerFinishedJob(n: number): Promise<number> {
  const { cluster, key } = await startGateway({ sim: { loadMs: 0, baseMs: 5, msPerStepMegapixel: 0 } });
  try {
    const warm = await submitMany(cluster.apiUrl, key, 20, 4, (i) => ({
      prompt: `warm ${i}`,
      size: "128x128",
    }));
    await cluster.waitFor(warm.at(-1)!, ["succeeded"], 60_000, key);
    const before = await usedMemory(cluster.redis.url);
    const ids = await submitMany(cluster.apiUrl, key, n, 8, (i) => ({ prompt: `job ${i}`, size: "128x128" }));
    await cluster.waitFor(ids.at(-1)!, ["succeeded"], n * 1_000, key);
    for (const id of ids.slice(-20)) await cluster.waitFor(id, ["succeeded"], 60_000, key);
    // Completion writes (result metadata, counters) run in the background of the dispatch: let them land.
    await sleep(1_000);
    return ((await usedMemory(cluster.redis.url)) - before) / n;
  } finally {
    await cluster.stop();
  }
}

interface ProcessFootprint {
  worker: number;
  api: number;
  apiConnections: number;
  workerConnections: number;
}

/**
 * A worker's and the api's RSS with `upstreams` simulators, after each upstream ran 4 jobs, and the
 * Redis connections each process holds.
 */
async function rssWith(upstreams: number): Promise<ProcessFootprint> {
  const metricsPort = await freePort();
  const { cluster, key } = await startGateway({
    upstreams,
    workers: 0,
    sim: { loadMs: 0, baseMs: 20, msPerStepMegapixel: 0 },
    // One worker takes every lease at once (the spread would space them 2 s × k apart).
    env: { LEASE_SPREAD_SECONDS: "0", WORKER_METRICS_PORT: String(metricsPort) },
  });
  try {
    const apiConnections = await redisClients(cluster.redis.url);
    await cluster.startWorker();
    const ids = await submitMany(cluster.apiUrl, key, upstreams * 4, 8, (i) => ({
      prompt: `job ${i}`,
      size: "512x512",
    }));
    for (const id of ids) await cluster.waitFor(id, ["succeeded"], 60_000, key);
    const held = (await cluster.upstreams()).filter((u) => u.owner).length;
    if (held !== upstreams) throw new Error(`the worker holds ${held} of ${upstreams} leases`);
    return {
      worker: await rssMb(`http://127.0.0.1:${metricsPort}/metrics`),
      api: await rssMb(`${cluster.apiUrl}/metrics`),
      apiConnections,
      workerConnections: (await redisClients(cluster.redis.url)) - apiConnections,
    };
  } finally {
    await cluster.stop();
  }
}

/**
 * Issue #18 (6): the figures docs/scaling.md sizes a deployment from: Redis memory per queued and per
 * finished job, and a worker's memory with 1 and 8 upstreams. One run each, on a private redis-server.
 */
export async function sizing(plan: SizingPlan, log: (msg: string) => void): Promise<{ markdown: string }> {
  const loadBefore = loadAverage();
  log(`sizing: ${plan.queued} queued jobs`);
  const queued = await bytesPerQueuedJob(plan.queued);
  log(`sizing: ${plan.finished} finished jobs`);
  const finished = await bytesPerFinishedJob(plan.finished);
  log("sizing: worker RSS with 1 upstream");
  const one = await rssWith(1);
  log("sizing: worker RSS with 8 upstreams");
  const eight = await rssWith(8);
  const loadAfter = loadAverage();
  const markdown = `Redis \`INFO memory\` \`used_memory\` on a private redis-server, before and after; process RSS from each process's
\`process_resident_memory_bytes\` on its \`/metrics\`. One run each (load average ${loadBefore} before, ${loadAfter} after; memory
figures do not depend on the load the way timings do).

| figure | value | how |
|---|---|---|
| Redis memory per queued job | ${Math.round(queued)} bytes | ${plan.queued.toLocaleString("en")} jobs submitted through the api (1024x1024, a 38-character prompt), upstream unreachable |
| Redis memory per finished job | ${Math.round(finished)} bytes | ${plan.finished.toLocaleString("en")} jobs run to success (one 128x128 image each), retention defaults (\`RESULT_TTL\` 7 days) |
| worker RSS, 1 upstream | ${one.worker.toFixed(0)} MiB | one worker process holding 1 lease, after 4 jobs |
| worker RSS, 8 upstreams | ${eight.worker.toFixed(0)} MiB | one worker process holding 8 leases (\`LEASE_SPREAD_SECONDS=0\`), after 32 jobs |
| worker RSS per extra upstream | ${((eight.worker - one.worker) / 7).toFixed(1)} MiB | (8 upstreams − 1 upstream) / 7 |
| Redis connections of one api process | ${one.apiConnections} | \`INFO clients\` with the api alone, after start-up |
| Redis connections of one worker process | ${one.workerConnections} with 1 upstream, ${eight.workerConnections} with 8 | \`INFO clients\` after the worker ran its jobs, less the api's |
| api RSS, idle after those jobs | ${one.api.toFixed(0)} MiB (${eight.api.toFixed(0)} MiB in the 8-upstream run) | |

Images never live in Redis (a result's bytes go to the object store; Redis holds its metadata), so the per-job figures do not
grow with image size. The api and the worker run from TypeScript under tsx here, as the bench starts them.`;
  return { markdown };
}
