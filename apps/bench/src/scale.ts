import { freePort } from "@zimage/testkit/standalone";
import { Redis } from "ioredis";
import { rssMb, startGateway, submit } from "./gateway";
import { load } from "./load";
import { percentile } from "./stats";

export interface ScaleRun {
  jobs: number;
  redisBytesPerJob: number;
  apiRssMb: number;
  workerRssMb: number;
  /** GET of the last queued job (its view computes queue_position), median ms. */
  lastJobViewMs: number;
  lastJobPosition: number;
  submitMsEmpty: number;
  submitMsDeep: number;
}

async function timed(fn: () => Promise<unknown>, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return percentile(times, 50);
}

async function usedMemory(url: string): Promise<number> {
  const redis = new Redis(url);
  const info = await redis.info("memory");
  redis.disconnect();
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/**
 * Issue #9.4: `jobs` queued jobs (their upstream is unreachable, so nothing runs): Redis memory per
 * job, api and worker RSS, how long the last job's view (with its queue_position) takes, and submit
 * latency on an empty queue and at that depth.
 */
export async function scale(jobs: number): Promise<ScaleRun> {
  const [deadPort, workerMetrics] = [await freePort(), await freePort()];
  const { cluster, key } = await startGateway({
    upstreamUrls: [`http://127.0.0.1:${deadPort}`],
    env: { WORKER_METRICS_PORT: String(workerMetrics) },
  });
  try {
    const body = (p: string) => ({ prompt: p, size: "1024x1024" });
    const submitMsEmpty = await timed(() => submit(cluster.apiUrl, key, body("empty")), 20);
    const before = await usedMemory(cluster.redis.url);
    await load({
      url: `${cluster.apiUrl}/v1/jobs`,
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body("a lighthouse at dusk, seen from the sea")),
      connections: 32,
      amount: jobs,
      expectStatus: 202,
    });
    const after = await usedMemory(cluster.redis.url);
    const last = await submit(cluster.apiUrl, key, body("the last one"));
    const view = async () =>
      (await (
        await fetch(`${cluster.apiUrl}/v1/jobs/${last.id}`, { headers: { authorization: `Bearer ${key}` } })
      ).json()) as { queue_position: number };
    const lastJobPosition = (await view()).queue_position;
    const lastJobViewMs = await timed(view, 20);
    const submitMsDeep = await timed(() => submit(cluster.apiUrl, key, body("deep")), 20);
    return {
      jobs,
      redisBytesPerJob: (after - before) / jobs,
      apiRssMb: await rssMb(`${cluster.apiUrl}/metrics`),
      workerRssMb: await rssMb(`http://127.0.0.1:${workerMetrics}/metrics`),
      lastJobViewMs,
      lastJobPosition,
      submitMsEmpty,
      submitMsDeep,
    };
  } finally {
    await cluster.stop();
  }
}
