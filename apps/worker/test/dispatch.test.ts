import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { freePort, waitFor } from "@zimage/testkit";
import { startSimulator } from "@zimage/zimage-sim";
import { afterEach, describe, expect, it } from "vitest";

/**
 * Issue #4: the worker side under the conditions an operator meets, with real worker processes,
 * a private Redis and simulators on loopback.
 */
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const imageRequests = (c: Cluster, i = 0) =>
  c.sims[i]!.stats().requests.filter((r) => r.path.startsWith("/v1/images"));

describe("one job per GPU", () => {
  it("two workers and one upstream never send overlapping requests", async () => {
    cluster = await startCluster({ upstreams: 1, workers: 2, sim: { baseMs: 120 } });
    const ids = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((i) => cluster!.submit({ prompt: `p${i}`, size: "256x256" })),
    );
    const views = await Promise.all(ids.map((id) => cluster!.waitFor(id)));
    expect(views.map((v) => v.status)).toEqual(Array(6).fill("succeeded"));
    expect(cluster.sims[0]!.stats().maxInFlight).toBe(1);
    const reqs = imageRequests(cluster).sort((a, b) => a.arrivedAt - b.arrivedAt);
    expect(reqs).toHaveLength(6);
    for (let i = 1; i < reqs.length; i++)
      expect(reqs[i]!.arrivedAt).toBeGreaterThanOrEqual(reqs[i - 1]!.finishedAt!);
    // Counted as each end is announced, just after the job's state moved.
    const state = await waitFor(async () => {
      const [s] = await cluster!.upstreams();
      return s?.jobs_done === 6 && s.busy === false ? s : null;
    });
    expect(state).toMatchObject({ name: "gpu0", up: true, jobs_done: 6, busy: false });
  });

  it("three upstreams drain a queue in parallel", async () => {
    cluster = await startCluster({ upstreams: 3, workers: 1, sim: { baseMs: 400 } });
    const ids = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((i) => cluster!.submit({ prompt: `par${i}`, size: "256x256" })),
    );
    const views = await Promise.all(ids.map((id) => cluster!.waitFor(id)));
    expect(new Set(views.map((v) => v.upstream))).toEqual(new Set(["gpu0", "gpu1", "gpu2"]));
    const all = cluster.sims.flatMap((_, i) => imageRequests(cluster!, i));
    expect(all).toHaveLength(6);
    for (const sim of cluster.sims) expect(sim.stats().maxInFlight).toBe(1);
    // At some moment all three GPUs were working at once.
    const overlapping = all.some(
      (r) => all.filter((o) => o.arrivedAt <= r.arrivedAt && o.finishedAt! > r.arrivedAt).length === 3,
    );
    expect(overlapping).toBe(true);
  });

  it("prefers an upstream whose model is already loaded", async () => {
    cluster = await startCluster({ upstreams: 2, workers: 1, sim: { loadMs: 300, baseMs: 50 } });
    const first = await cluster.waitFor(await cluster.submit({ prompt: "warm up", size: "256x256" }));
    const warm = first.upstream;
    // Let both dispatchers see the new state (health interval 0.25 s).
    await waitFor(async () =>
      (await cluster!.upstreams()).some((u) => u.name === warm && u.model_loaded === true),
    );
    for (let i = 0; i < 3; i++) {
      const v = await cluster.waitFor(await cluster.submit({ prompt: `next ${i}`, size: "256x256" }));
      expect(v.upstream).toBe(warm);
    }
  });
});

describe("retry policy", () => {
  it("retries a failed model load after a wait and succeeds", async () => {
    cluster = await startCluster({ sim: { faults: { loadFailures: 2 } } });
    const v = await cluster.waitFor(await cluster.submit({ prompt: "load me", size: "256x256" }));
    expect(v.status).toBe("succeeded");
    expect(imageRequests(cluster)).toHaveLength(3);
  });

  it("fails with upstream_model_load_failed once the load retries are spent", async () => {
    cluster = await startCluster({ sim: { faults: { loadFailures: 10 } }, env: { MODEL_LOAD_RETRIES: "2" } });
    const v = await cluster.waitFor(await cluster.submit({ prompt: "never loads", size: "256x256" }));
    expect(v.status).toBe("failed");
    expect(v.error?.code).toBe("upstream_model_load_failed");
  });

  it("retries a dropped connection without duplicating results", async () => {
    cluster = await startCluster({ sim: { faults: { dropConnections: 1 } } });
    const v = await cluster.waitFor(await cluster.submit({ prompt: "dropped once", size: "256x256", n: 2 }));
    expect(v.status).toBe("succeeded");
    expect(v.attempts).toBeGreaterThanOrEqual(1);
    expect(imageRequests(cluster)).toHaveLength(2);
    // One file per image, both from the one dispatch that got an answer (named `<run>-<index>.png`).
    const files = (await readdir(join(cluster.dataDir, "results", v.id))).sort();
    expect(files).toHaveLength(2);
    const run = files[0]!.split("-")[0];
    expect(files).toEqual([`${run}-0.png`, `${run}-1.png`]);
  });

  it("fails at once on a 4xx with the upstream's message", async () => {
    cluster = await startCluster({
      sim: { faults: { failNext: { status: 422, body: { detail: "prompt rejected by policy" } } } },
    });
    const v = await cluster.waitFor(await cluster.submit({ prompt: "rejected", size: "256x256" }));
    expect(v.status).toBe("failed");
    expect(v.error).toMatchObject({
      code: "upstream_rejected",
      message: expect.stringContaining("prompt rejected by policy"),
    });
    expect(imageRequests(cluster)).toHaveLength(1);
  });

  it("fails on out-of-memory with advice to use a smaller size", async () => {
    cluster = await startCluster({ sim: { faults: { oomAbovePixels: 512 * 512 } } });
    const v = await cluster.waitFor(await cluster.submit({ prompt: "too big", size: "1024x1024" }));
    expect(v.status).toBe("failed");
    expect(v.error?.code).toBe("upstream_out_of_memory");
    expect(v.error?.message).toMatch(/1024x1024.*smaller size/);
    expect(imageRequests(cluster)).toHaveLength(1);
  });

  it("fails with upstream_timeout when the upstream takes longer than allowed", async () => {
    cluster = await startCluster({
      sim: { faults: { latencyMs: 3_000 } },
      env: { IMAGE_TIMEOUT_SECONDS: "0.5", COLD_IMAGE_TIMEOUT_SECONDS: "0.8" },
    });
    const v = await cluster.waitFor(await cluster.submit({ prompt: "slow", size: "256x256" }));
    expect(v.status).toBe("failed");
    expect(v.error?.code).toBe("upstream_timeout");
  });
});

describe("phases", () => {
  it("a job on a cold upstream reports loading, then generating", async () => {
    cluster = await startCluster({ sim: { loadMs: 1_000, baseMs: 1_000 } });
    const id = await cluster.submit({ prompt: "phases", size: "256x256" });
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const v = await cluster!.view(id);
        if (v.phase) seen.add(v.phase);
        return v.status === "succeeded";
      },
      { timeoutMs: 15_000, intervalMs: 20 },
    );
    expect([...seen]).toEqual(["loading", "generating"]);
    const done = await cluster.view(id);
    expect(done.timings.load_ms).toBeGreaterThanOrEqual(900);
  });
});

describe("upstream down and back", () => {
  it("jobs wait while the only upstream is unreachable and run when it answers", async () => {
    const port = await freePort();
    cluster = await startCluster({ upstreamUrls: [`http://127.0.0.1:${port}`] });
    const id = await cluster.submit({ prompt: "patience", size: "256x256" });
    await waitFor(async () => (await cluster!.upstreams())[0]?.up === false, {
      what: "upstream marked down",
    });
    expect((await cluster.view(id)).status).toBe("queued");
    const sim = await startSimulator({ port, loadMs: 50, baseMs: 50, logLevel: "silent" });
    try {
      const v = await cluster.waitFor(id);
      expect(v.status).toBe("succeeded");
      expect((await cluster.upstreams())[0]?.up).toBe(true);
    } finally {
      await sim.close();
    }
  });
});
