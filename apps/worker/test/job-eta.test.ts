import { createRedis, readEtaRates } from "@zimage/core";
import { type Cluster, type JobView, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import { type RunningSimulator, startSimulator } from "@zimage/zimage-sim";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { afterEach, describe, expect, it } from "vitest";

/**
 * Issue #19: queue position and ETA, through real processes. The simulator's time is
 * `base + ms per step-megapixel × steps × megapixels × n` (plus its load when cold), scaled down so
 * a test runs in seconds.
 */
let cluster: Cluster | undefined;
let sims: RunningSimulator[] = [];
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});

type View = JobView & { queue_position: number | null; eta_seconds: number | null };

async function submitView(c: Cluster, body: Record<string, unknown>): Promise<View> {
  const res = await c.request("POST", "/v1/jobs", { body });
  expect(res.status).toBe(202);
  return (await res.json()) as View;
}

/** Every `job` event of a job's SSE stream, to its end. */
async function sseViews(c: Cluster, id: string): Promise<View[]> {
  const res = await fetch(`${c.apiUrl}/v1/jobs/${id}/events`, { headers: { accept: "text/event-stream" } });
  const views: View[] = [];
  const events = res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  for await (const e of events) if (e.data) views.push(JSON.parse(e.data) as View);
  return views;
}

/** Views collected while a job goes from submit to its end: GET, the listing, SSE. */
async function everyView(c: Cluster, body: Record<string, unknown>): Promise<View[]> {
  const submitted = await submitView(c, body);
  const views: View[] = [submitted];
  const stream = sseViews(c, submitted.id);
  for (;;) {
    const [one, list] = await Promise.all([
      c.view(submitted.id) as Promise<View>,
      c.request("GET", "/v1/jobs?limit=5").then(async (r) => ((await r.json()) as { data: View[] }).data),
    ]);
    views.push(one, ...list);
    if (["succeeded", "failed", "canceled"].includes(one.status)) break;
  }
  views.push(...(await stream));
  return views;
}

const queuedWithoutPosition = (views: View[]) =>
  views.filter(
    (v) => v.status === "queued" && !(Number.isInteger(v.queue_position) && v.queue_position! >= 1),
  );

describe("queue position", () => {
  it("is an integer for every queued view on an idle queue: submit answer, GET, listing, SSE", async () => {
    cluster = await startCluster({ sim: { loadMs: 0, baseMs: 60 } });
    const views: View[] = [];
    for (let i = 0; i < 12; i++)
      views.push(...(await everyView(cluster, { prompt: `idle ${i}`, size: "256x256" })));
    // Each submit answer says queued (the job was queued when it was answered), as do some reads.
    expect(views.filter((v) => v.status === "queued").length).toBeGreaterThanOrEqual(12);
    expect(queuedWithoutPosition(views)).toEqual([]);
  });

  it("is an integer while a retry waits out its backoff", async () => {
    cluster = await startCluster({
      sim: { loadMs: 0, baseMs: 60, faults: { dropConnections: 1 } },
      env: { JOB_BACKOFF_SECONDS: "1" },
    });
    const views = await everyView(cluster, { prompt: "dropped once", size: "256x256" });
    expect(views.at(-1)?.status).toBe("succeeded");
    // Seen queued again after its first attempt: BullMQ's `delayed`.
    expect(views.some((v) => v.status === "queued" && v.attempts >= 1)).toBe(true);
    expect(queuedWithoutPosition(views)).toEqual([]);
  });
});

/**
 * 100 ms per request plus 40 ms per megapixel-step. Training sizes stay small, the cost varied by
 * steps and n: the simulators run in this process and render real PNGs, whose CPU time (pixels, not
 * steps) would otherwise blur the learned rate at this time scale, and stall the other simulator.
 */
const SIM = { baseMs: 100, msPerStepMegapixel: 40 };
const simMs = (size: number, steps: number, n: number) =>
  SIM.baseMs + (SIM.msPerStepMegapixel * size * size * steps * n) / 1e6;
/** Varied costs, so overhead and rate can be told apart. */
const TRAINING = [
  { size: 256, steps: 8, n: 1 },
  { size: 256, steps: 50, n: 1 },
  { size: 256, steps: 100, n: 4 },
  { size: 128, steps: 100, n: 2 },
  { size: 192, steps: 60, n: 4 },
  { size: 256, steps: 20, n: 2 },
];
const body = (t: { size: number; steps: number; n: number }, prompt: string) => ({
  prompt,
  size: `${t.size}x${t.size}`,
  num_inference_steps: t.steps,
  n: t.n,
});

async function train(c: Cluster, times = 1): Promise<void> {
  for (let r = 0; r < times; r++)
    for (const [i, t] of TRAINING.entries()) {
      const v = await c.waitFor(await c.submit(body(t, `training ${r}.${i}`)), undefined, 60_000);
      expect(v.status).toBe("succeeded");
    }
}

describe("eta_seconds", () => {
  it("of a 2048x2048, 50-step, n=4 job is proportionally larger than a small job's", async () => {
    cluster = await startCluster({ sim: { loadMs: 0, ...SIM } });
    await train(cluster);
    const small = await submitView(cluster, body({ size: 512, steps: 50, n: 1 }, "small"));
    await cluster.waitFor(small.id);
    const big = await submitView(cluster, body({ size: 2048, steps: 50, n: 4 }, "big"));
    // The simulator takes 0.62 s and 33.7 s: 64 times the cost (the overhead is not multiplied).
    // (The big job is not awaited: the cluster stops under it.)
    expect(small.eta_seconds).toBeLessThanOrEqual(2);
    expect(big.eta_seconds!).toBeGreaterThanOrEqual(10 * small.eta_seconds!);
    const expected = simMs(2048, 50, 4) / 1000;
    expect(big.eta_seconds).toBeGreaterThanOrEqual(Math.floor(0.8 * expected));
    expect(big.eta_seconds).toBeLessThanOrEqual(Math.ceil(1.25 * expected));
  });

  it("adds the learned model load when the job's pipeline is cold on every upstream", async () => {
    const LOAD_MS = 3_000;
    cluster = await startCluster({ sim: { loadMs: LOAD_MS, ...SIM } });
    await train(cluster); // the first training job pays the load, and it is learned
    const job = body({ size: 1024, steps: 50, n: 1 }, "warm");
    const warm = await submitView(cluster, job);
    await cluster.waitFor(warm.id);
    await fetch(`${cluster.sims[0]!.url}/v1/internal/unload`, { method: "POST" });
    await waitFor(async () => (await cluster!.upstreams())[0]?.model_loaded === false, {
      timeoutMs: 20_000,
      what: "the worker to see the model unloaded",
    });
    const cold = await submitView(cluster, { ...job, prompt: "cold" });
    expect(cold.eta_seconds! - warm.eta_seconds!).toBeGreaterThanOrEqual(2);
    expect(cold.eta_seconds! - warm.eta_seconds!).toBeLessThanOrEqual(4);
  });

  it("learns a rate per upstream: two GPUs of different speed", async () => {
    sims = await Promise.all([
      startSimulator({ loadMs: 0, baseMs: 100, msPerStepMegapixel: 20, logLevel: "silent" }),
      startSimulator({ loadMs: 0, baseMs: 100, msPerStepMegapixel: 80, logLevel: "silent" }),
    ]);
    cluster = await startCluster({ upstreamUrls: sims.map((s) => s.url) });
    // Two at a time, so both GPUs run a share of every cost.
    const ids: string[] = [];
    for (let r = 0; r < 3; r++)
      for (const [i, t] of TRAINING.entries()) ids.push(await cluster.submit(body(t, `pair ${r}.${i}`)));
    for (const id of ids) expect((await cluster.waitFor(id, undefined, 120_000)).status).toBe("succeeded");
    const redis = createRedis(cluster.redis.url);
    try {
      const rates = await readEtaRates(redis, "cluster");
      const fast = rates.get("gpu0")!.inference!;
      const slow = rates.get("gpu1")!.inference!;
      // Each GPU has its own rate, four times apart. The bounds are generous: on a loaded machine the
      // per-request overhead (HTTP, PNG encode and decode, all on this one CPU) is noisy and large
      // next to these scaled-down times.
      expect(slow.msPerCost).toBeGreaterThan(2 * fast.msPerCost);
      expect(fast.msPerCost).toBeGreaterThan(0);
      expect(fast.msPerCost).toBeLessThan(80 * 0.75);
      expect(slow.msPerCost).toBeGreaterThan(20 * 2);
    } finally {
      redis.disconnect();
    }
  });
});
