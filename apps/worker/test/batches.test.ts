import { type Cluster, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";

/** Issue #19, feature 1 against real processes: a batch's counts follow its jobs through the simulator. */
const ADMIN = "cluster-admin-key-batches-0123456789ab";
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

interface Counts {
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  canceled: number;
}
interface Batch {
  id: string;
  status: string;
  counts: Counts;
  job_ids?: string[];
  jobs?: { data: Array<{ id: string; status: string; result: unknown }> };
}

describe("a batch on the simulator", () => {
  it("GET counts move from queued through running to completed as the jobs run", async () => {
    cluster = await startCluster({ sim: { loadMs: 0, baseMs: 400 }, env: { ADMIN_API_KEY: ADMIN } });
    const key = await cluster.createKey("batcher");
    const res = await cluster.request("POST", "/v1/batches", {
      key,
      body: { prompts: ["one", "two", "three", "four", "five"], size: "128x128" },
    });
    expect(res.status).toBe(202);
    const created = (await res.json()) as Batch;
    const read = async () =>
      (await (await cluster!.request("GET", `/v1/batches/${created.id}`, { key })).json()) as Batch;
    const seen: Batch[] = [];
    const final = await waitFor(
      async () => {
        const b = await read();
        seen.push(b);
        return b.status === "completed" ? b : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50, what: "the batch to complete" },
    );
    // Every reading adds up, and some reading caught a job running with others done or waiting.
    for (const b of seen) {
      const { total, queued, running, succeeded, failed, canceled } = b.counts;
      expect(queued + running + succeeded + failed + canceled).toBe(total);
    }
    expect(seen.some((b) => b.status === "running" && b.counts.running >= 1)).toBe(true);
    expect(seen.some((b) => b.counts.succeeded > 0 && b.counts.queued > 0)).toBe(true);
    expect(final.counts).toEqual({ total: 5, queued: 0, running: 0, succeeded: 5, failed: 0, canceled: 0 });
    expect(final.jobs!.data.map((j) => j.status)).toEqual(Array(5).fill("succeeded"));
    // The simulator ran them in submit order (fair share keeps one key's jobs FIFO).
    expect(cluster.sims[0]!.stats().requests.map((r) => r.prompt)).toEqual([
      "one",
      "two",
      "three",
      "four",
      "five",
    ]);
  });

  it("canceling a batch with a job on the GPU cancels that one and the queued ones", async () => {
    cluster = await startCluster({ sim: { loadMs: 0, baseMs: 1_500 }, env: { ADMIN_API_KEY: ADMIN } });
    const key = await cluster.createKey("changes mind");
    const res = await cluster.request("POST", "/v1/batches", {
      key,
      body: { prompts: ["first", "second", "third"], size: "128x128" },
    });
    const created = (await res.json()) as Batch;
    await cluster.waitFor(created.job_ids![0]!, ["running"], 20_000, key);
    const cancel = await cluster.request("POST", `/v1/batches/${created.id}/cancel`, { key });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({
      status: "canceled",
      canceled_jobs: 3,
      counts: { total: 3, queued: 0, running: 0, succeeded: 0, canceled: 3 },
    });
    await waitFor(async () => (await cluster!.upstreams())[0]?.busy === false, {
      timeoutMs: 20_000,
      what: "the dispatcher to be free",
    });
    for (const id of created.job_ids!) expect((await cluster.view(id, key)).status).toBe("canceled");
    expect(cluster.sims[0]!.stats().requests.map((r) => r.prompt)).toEqual(["first"]);
  });
});
