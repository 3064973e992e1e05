import { type Cluster, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";

/**
 * Issue #15: a GPU that keeps failing is taken out of rotation after BREAKER_FAILURES consecutive
 * failed attempts, so it cannot burn every queued job's attempts; after the cool-down one probe job
 * goes through, and a healthy upstream is back in service.
 */
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const imageRequests = (c: Cluster, i = 0) =>
  c.sims[i]!.stats().requests.filter((r) => r.path.startsWith("/v1/images"));
const breakerOf = async (c: Cluster, i = 0) =>
  (await c.upstreams())[i]?.breaker as { state: string; retry_at: string | null } | null;

describe("circuit breaker", () => {
  it("opens after N failed loads, sends nothing while open, and closes on a healthy probe", async () => {
    cluster = await startCluster({
      sim: { loadMs: 20, baseMs: 50, faults: { loadFailures: 1_000 } },
      env: { BREAKER_FAILURES: "2", BREAKER_COOLDOWN_SECONDS: "1.5", MODEL_LOAD_RETRIES: "0" },
    });
    const ids = await Promise.all(
      [1, 2, 3, 4].map((i) => cluster!.submit({ prompt: `b${i}`, size: "128x128" })),
    );
    await waitFor(async () => (await breakerOf(cluster!))?.state === "open", { what: "the breaker to open" });
    const atOpen = imageRequests(cluster).length;
    expect(atOpen).toBe(2);
    // Healthy again: the probe after the cool-down succeeds and the breaker closes.
    cluster.sims[0]!.setFaults({ loadFailures: 0 });
    const views = await Promise.all(ids.map((id) => cluster!.waitFor(id)));
    expect(views.map((v) => v.status)).toEqual(Array(4).fill("succeeded"));
    const after = imageRequests(cluster).slice(atOpen);
    const lastFailure = imageRequests(cluster)[atOpen - 1]!;
    // Nothing reached the GPU during the cool-down.
    expect(after[0]!.arrivedAt - lastFailure.finishedAt!).toBeGreaterThanOrEqual(1_400);
    expect((await breakerOf(cluster))?.state).toBe("closed");
  });

  it("a broken GPU beside a healthy one: jobs go to the healthy one, none fails", async () => {
    cluster = await startCluster({
      upstreams: 2,
      sim: { loadMs: 20, baseMs: 150 },
      env: { BREAKER_FAILURES: "2", BREAKER_COOLDOWN_SECONDS: "60", MODEL_LOAD_RETRIES: "0" },
    });
    cluster.sims[0]!.setFaults({ loadFailures: 1_000 });
    const ids = await Promise.all(
      [1, 2, 3, 4, 5, 6, 7, 8].map((i) => cluster!.submit({ prompt: `h${i}`, size: "128x128" })),
    );
    const views = await Promise.all(ids.map((id) => cluster!.waitFor(id)));
    expect(views.map((v) => v.status)).toEqual(Array(8).fill("succeeded"));
    expect(new Set(views.map((v) => v.upstream))).toEqual(new Set(["gpu1"]));
    expect(imageRequests(cluster, 0).length).toBeLessThanOrEqual(2);
    expect((await breakerOf(cluster, 0))?.state).toBe("open");
  });
});
