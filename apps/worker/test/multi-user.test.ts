import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";

/** Issue #5 against real processes: fair scheduling and cancel of a running job. */
const ADMIN = "cluster-admin-key-0123456789abcdef0123";
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe("fair scheduling", () => {
  it("a user's single job does not wait behind another user's 50", async () => {
    cluster = await startCluster({ sim: { loadMs: 0, baseMs: 300 }, env: { ADMIN_API_KEY: ADMIN } });
    const heavy = await cluster.createKey("heavy");
    const light = await cluster.createKey("light");
    const heavyIds: string[] = [];
    for (let i = 0; i < 50; i++)
      heavyIds.push(await cluster.submit({ prompt: `bulk ${i}`, size: "128x128" }, heavy));
    const lightId = await cluster.submit({ prompt: "just one", size: "128x128" }, light);
    const lightDone = await cluster.waitFor(lightId, ["succeeded"], 30_000, light);
    const heavyThird = await cluster.waitFor(heavyIds[2]!, ["succeeded"], 30_000, heavy);
    // Bound: the light job runs no later than the heavy user's 3rd job.
    expect(Date.parse(lightDone.completed_at!)).toBeLessThanOrEqual(Date.parse(heavyThird.completed_at!));
    const order = cluster.sims[0]!.stats().requests.map((r) => r.prompt);
    expect(order.indexOf("just one")).toBeLessThanOrEqual(2);
    // Keys travel in every request above; none of them, nor the admin key, may reach a log line.
    const logs = cluster.api.output() + cluster.workers.map((w) => w.output()).join("");
    expect(logs).toContain("job dispatched");
    for (const secret of [ADMIN, heavy, light]) expect(logs).not.toContain(secret);
  });
});

describe("cancel a running job", () => {
  it("reads canceled at once, and the result is discarded when the upstream answers", async () => {
    cluster = await startCluster({ sim: { loadMs: 0, baseMs: 1_500 }, env: { ADMIN_API_KEY: ADMIN } });
    const key = await cluster.createKey("changes mind");
    const id = await cluster.submit({ prompt: "too late to stop the GPU", size: "128x128" }, key);
    await cluster.waitFor(id, ["running"], 10_000, key);
    const res = await cluster.request("DELETE", `/v1/jobs/${id}`, { key });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe("canceled");
    // The GPU finishes the request; once the dispatcher is free again, the job is still canceled
    // and its images were never kept.
    await waitFor(
      async () =>
        (await cluster!.upstreams())[0]?.jobs_done === 0 && cluster!.sims[0]!.stats().requests[0]?.finishedAt,
      {
        // A deadline, not a pace: the simulated GPU needs 1.5 s, but a loaded 2-core CI machine
        // once took over 10 s to get there.
        timeoutMs: 30_000,
        what: "the upstream to finish the canceled request",
      },
    );
    await waitFor(async () => (await cluster!.upstreams())[0]?.busy === false, {
      what: "the dispatcher to be free",
    });
    const final = await cluster.view(id, key);
    expect(final).toMatchObject({ status: "canceled", result: null, error: { code: "job_canceled" } });
    expect((await cluster.request("GET", `/v1/jobs/${id}/images/0`, { key })).status).toBe(404);
    expect(await readdir(join(cluster.dataDir, "results", id)).catch(() => [])).toEqual([]);
  });
});
