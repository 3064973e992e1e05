import { type Cluster, startCluster } from "@zimage/test-cluster";
import { freePort, makePng, pngSize, waitFor } from "@zimage/testkit";
import { type RunningSimulator, startSimulator } from "@zimage/zimage-sim";
import { afterEach, describe, expect, it } from "vitest";

/**
 * Issue #15, item 2: image-to-image on the reference server, whose only edit path is the async pair
 * (`async_edit` + `tasks/{id}`), whose tasks live in memory, and whose result URLs name a host of
 * its own guessing.
 */
let cluster: Cluster | undefined;
let sims: RunningSimulator[] = [];
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});

const reference = async (port: number, baseMs: number) => {
  const sim = await startSimulator({ profile: "reference", port, loadMs: 50, baseMs, logLevel: "silent" });
  sims.push(sim);
  return sim;
};
const editSubmits = (sim: RunningSimulator) =>
  sim.stats().requests.filter((r) => r.path === "/v1/images/async_edit");

describe("async edits on the reference server", () => {
  it("fetches the result from a URL on an unreachable host name, rebased onto the upstream", async () => {
    const sim = await reference(await freePort(), 100);
    cluster = await startCluster({ upstreamUrls: [sim.url] });
    const id = await cluster.submitEdit({ prompt: "rebased" }, makePng(160, 96, 4));
    const v = await cluster.waitFor(id);
    // The simulator names http://zimage-gpu.invalid:<port>/outputs/…: only a rebased fetch succeeds.
    expect(v.status).toBe("succeeded");
    const bytes = Buffer.from(await (await fetch(v.result!.images[0]!.url)).arrayBuffer());
    expect(pngSize(bytes)).toEqual({ width: 160, height: 96 });
    expect(editSubmits(sim)).toHaveLength(1);
  });

  it("a task the restarted server no longer knows is retried, and the job succeeds", async () => {
    const port = await freePort();
    const first = await reference(port, 1_500);
    cluster = await startCluster({ upstreamUrls: [first.url] });
    const id = await cluster.submitEdit({ prompt: "outlive a restart" }, makePng(96, 64, 8));
    await waitFor(() => editSubmits(first).length === 1, { what: "the task to be submitted" });
    // The server restarts mid-task: same address, no memory of the task.
    await first.close();
    sims = sims.filter((s) => s !== first);
    const second = await reference(port, 100);
    const v = await cluster.waitFor(id, ["succeeded", "failed"], 30_000);
    expect(v.status).toBe("succeeded");
    expect(v.attempts).toBe(2);
    expect(editSubmits(second)).toHaveLength(1);
    expect(second.stats().maxInFlight).toBe(1);
  });
});
