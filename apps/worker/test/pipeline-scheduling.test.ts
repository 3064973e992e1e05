import { type Cluster, startCluster } from "@zimage/test-cluster";
import { makePng } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";

/**
 * Issue #15, item 5, across processes on the reference server, whose two pipelines evict each
 * other: a dispatcher keeps the loaded pipeline busy with jobs of its kind, within a window of K
 * jobs, instead of paying a model load at every switch of kind.
 */
const ADMIN = "admin-key-for-the-scheduling-tests-0123456789";
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function alternatingQueue(c: Cluster, jobs: number) {
  const keys = [await c.createKey("alice"), await c.createKey("bob")];
  const submitted: Array<{ id: string; prompt: string; key: string }> = [];
  for (let i = 0; i < jobs; i++) {
    const key = keys[i % 2]!;
    const prompt = `job ${i}`;
    // Each user alternates kinds, so the queue alternates too: t2i, t2i, edit, edit, t2i, …
    const id =
      Math.floor(i / 2) % 2 === 0
        ? await c.submit({ prompt, size: "128x128" }, key)
        : await c.submitEdit({ prompt }, makePng(64, 64, i), key);
    submitted.push({ id, prompt, key });
  }
  return submitted;
}

describe("pipeline-aware scheduling", () => {
  it("one upstream: loads at most ceil(jobs / K) + 1, and no job overtaken by more than K", async () => {
    const K = 3;
    const JOBS = 12;
    cluster = await startCluster({
      sim: { profile: "reference", loadMs: 300, baseMs: 40 },
      env: { ADMIN_API_KEY: ADMIN, PIPELINE_WINDOW_JOBS: String(K) },
    });
    const jobs = await alternatingQueue(cluster, JOBS);
    const views = await Promise.all(jobs.map((j) => cluster!.waitFor(j.id, undefined, 60_000, j.key)));
    expect(views.map((v) => v.status)).toEqual(Array(JOBS).fill("succeeded"));
    const stats = cluster.sims[0]!.stats();
    const loads = stats.pipelineLoads!.t2i + stats.pipelineLoads!.edit;
    expect(loads).toBeLessThanOrEqual(Math.ceil(JOBS / K) + 1);
    // The order the GPU ran them in, against the order they were submitted in.
    const ran = stats.requests
      .filter((r) => r.path === "/v1/images/generations" || r.path === "/v1/images/async_edit")
      .sort((a, b) => a.arrivedAt - b.arrivedAt)
      .map((r) => jobs.findIndex((j) => j.prompt === r.prompt));
    expect([...ran].sort((a, b) => a - b)).toEqual(jobs.map((_, i) => i));
    for (const [position, index] of ran.entries()) {
      const overtakenBy = ran.slice(0, position).filter((other) => other > index).length;
      expect(overtakenBy, `job ${index} was overtaken by ${overtakenBy}`).toBeLessThanOrEqual(K);
    }
  });

  it("two upstreams, one warm for each kind: each keeps its pipeline", async () => {
    cluster = await startCluster({
      upstreams: 2,
      sim: { profile: "reference", loadMs: 300, baseMs: 40 },
      env: { ADMIN_API_KEY: ADMIN },
    });
    const key = await cluster.createKey("warm-up");
    // Two cold GPUs take the two jobs at the head at once: one loads each pipeline.
    const warm = [
      await cluster.submit({ prompt: "warm t2i", size: "128x128" }, key),
      await cluster.submitEdit({ prompt: "warm edit" }, makePng(64, 64), key),
    ];
    const warmViews = await Promise.all(warm.map((id) => cluster!.waitFor(id, undefined, 30_000, key)));
    expect(new Set(warmViews.map((v) => v.upstream)).size).toBe(2);
    const jobs = await alternatingQueue(cluster, 12);
    const views = await Promise.all(jobs.map((j) => cluster!.waitFor(j.id, undefined, 60_000, j.key)));
    expect(views.map((v) => v.status)).toEqual(Array(12).fill("succeeded"));
    if (process.env.DEBUG_SCHED)
      for (const s of cluster.sims)
        console.log(
          JSON.stringify(s.stats().pipelineLoads),
          s
            .stats()
            .requests.filter((r) => !r.path.includes("tasks"))
            .map(
              (r) =>
                `${r.path.slice(11)}:${r.prompt}@${Math.round(r.arrivedAt % 100000)}-${Math.round((r.finishedAt ?? 0) % 100000)}`,
            )
            .join(" "),
        );
    for (const sim of cluster.sims) {
      expect(sim.stats().evictions).toBe(0);
      const loads = sim.stats().pipelineLoads!;
      expect(loads.t2i + loads.edit).toBe(1);
    }
  });
});
