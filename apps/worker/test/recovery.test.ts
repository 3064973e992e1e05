import { type Cluster, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const imageRequests = (c: Cluster) =>
  c.sims[0]!.stats().requests.filter((r) => r.path.startsWith("/v1/images"));

describe("crash recovery and shutdown", () => {
  it("a job whose worker is SIGKILLed mid-request completes once, after the upstream is idle", async () => {
    cluster = await startCluster({ workers: 2, sim: { loadMs: 0, baseMs: 2_500 } });
    const id = await cluster.submit({ prompt: "survive", size: "256x256" });
    await cluster.waitFor(id, ["running"]);
    await waitFor(() => imageRequests(cluster!).length === 1, { what: "the request to reach the simulator" });
    const victim = await waitFor(() => cluster!.leaseHolder(), { what: "the lease holder" });
    await victim.stop("SIGKILL");

    const v = await cluster.waitFor(id, ["succeeded", "failed"], 30_000);
    expect(v.status).toBe("succeeded");
    const reqs = imageRequests(cluster).sort((a, b) => a.arrivedAt - b.arrivedAt);
    expect(reqs).toHaveLength(2);
    // The re-dispatch waited for the killed worker's request to finish on the GPU.
    expect(reqs[1]!.arrivedAt).toBeGreaterThanOrEqual(reqs[0]!.finishedAt!);
    expect(cluster.sims[0]!.stats().maxInFlight).toBe(1);
  });

  it("SIGTERM lets the job in flight finish before the worker exits", async () => {
    cluster = await startCluster({ workers: 1, sim: { loadMs: 0, baseMs: 1_500 } });
    const id = await cluster.submit({ prompt: "finish me", size: "256x256" });
    await cluster.waitFor(id, ["running"]);
    const worker = cluster.workers[0]!;
    const code = await worker.stop("SIGTERM", 20_000);
    expect(code).toBe(0);
    expect((await cluster.view(id)).status).toBe("succeeded");
    expect(worker.output()).toMatch(/worker stopped/);
  });

  it("SIGTERM past the grace period returns the job to the queue for another worker", async () => {
    cluster = await startCluster({
      workers: 1,
      sim: { loadMs: 0, baseMs: 2_000 },
      env: { SHUTDOWN_GRACE_SECONDS: "0.3" },
    });
    const id = await cluster.submit({ prompt: "hand over", size: "256x256" });
    await cluster.waitFor(id, ["running"]);
    expect(await cluster.workers[0]!.stop("SIGTERM", 20_000)).toBe(0);
    expect((await cluster.view(id)).status).toBe("queued");
    await cluster.startWorker();
    const v = await cluster.waitFor(id);
    expect(v.status).toBe("succeeded");
    expect(cluster.sims[0]!.stats().maxInFlight).toBe(1);
  });
});

describe("idle unload", () => {
  it("unloads after the idle timeout, not before, and not while jobs keep coming", async () => {
    cluster = await startCluster({ sim: { loadMs: 50, baseMs: 50 }, env: { IDLE_UNLOAD_SECONDS: "1.5" } });
    const sim = cluster.sims[0]!;
    // Jobs 0.5 s apart keep the upstream busy enough: no unload in between.
    for (let i = 0; i < 4; i++) {
      await cluster.waitFor(await cluster.submit({ prompt: `steady ${i}`, size: "256x256" }));
      await new Promise((r) => setTimeout(r, 500)); // the gap between jobs is the thing under test
    }
    expect(sim.stats().unloads).toBe(0);
    const lastEnd = Math.max(...imageRequests(cluster).map((r) => r.finishedAt!));
    await waitFor(() => sim.stats().unloads === 1, { timeoutMs: 10_000, what: "the idle unload" });
    const unload = sim.stats().requests.find((r) => r.path === "/v1/internal/unload")!;
    expect(unload.arrivedAt - lastEnd).toBeGreaterThanOrEqual(1_500);
    expect(sim.stats().modelLoaded).toBe(false);
    const [state] = await cluster.upstreams();
    expect(state).toMatchObject({ model_loaded: false, unloads: 1, last_unload_at: expect.any(String) });
  });
});
