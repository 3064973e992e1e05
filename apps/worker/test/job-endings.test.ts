import { type Cluster, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { type Receiver, startReceiver } from "./webhook-receiver";

/**
 * Issue #16 §2: every job's end is observed exactly once — including ends that BullMQ decides
 * (stalled too often) — and a cancel and a completion cannot both win.
 */
let cluster: Cluster | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
  await cluster?.stop();
  cluster = undefined;
});

const events = (r: Receiver) => r.deliveries.map((d) => (JSON.parse(d.body) as { type: string }).type);

const imageRequests = (c: Cluster) =>
  c.sims[0]!.stats().requests.filter((r) => r.path.startsWith("/v1/images"));

function failedByReason(exposition: string, reason: string): number {
  const line = exposition
    .split("\n")
    .find((l) => l.startsWith("zimage_gateway_jobs_failed_total{") && l.includes(`reason="${reason}"`));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("every end observed once", () => {
  it("a job that stalls more often than MAX_STALLED_COUNT fails once with job_stalled, webhook and metric included", async () => {
    receiver = await startReceiver(() => 200);
    cluster = await startCluster({
      workers: 2,
      sim: { loadMs: 0, baseMs: 1_500 },
      env: { MAX_STALLED_COUNT: "0", WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_RETRY_SCHEDULE: "0.2" },
    });
    const id = await cluster.submit({
      prompt: "stalls once",
      size: "256x256",
      webhook: { url: receiver.url, events: ["succeeded", "failed", "canceled"] },
    });
    await waitFor(() => imageRequests(cluster!).length === 1, { what: "the request to reach the GPU" });
    const victim = await waitFor(() => cluster!.leaseHolder(), { what: "the lease holder" });
    await victim.stop("SIGKILL");
    const survivor = cluster.workers.find((w) => w !== victim)!;

    const v = await cluster.waitFor(id, ["succeeded", "failed"], 40_000);
    expect(v.status).toBe("failed");
    expect(v.error?.code).toBe("job_stalled");
    // Not sent to the GPU a second time.
    expect(imageRequests(cluster)).toHaveLength(1);
    await waitFor(() => receiver!.deliveries.length >= 1, { timeoutMs: 20_000, what: "the failed webhook" });
    const m = /"metrics":"(http:\/\/[^"]+)"/.exec(survivor.output());
    const exposition = await (await fetch(m![1]!)).text();
    expect(failedByReason(exposition, "job_stalled")).toBe(1);
    expect(events(receiver)).toEqual(["job.failed"]);
  });
});

describe("cancel against completion", () => {
  it("a job answered 'canceled' never ends 'succeeded', and a refused cancel means it did", async () => {
    cluster = await startCluster({ workers: 1, sim: { loadMs: 0, baseMs: 120 } });
    // Cancels land at every point of a job's life, including the moment its result is being stored.
    const outcomes: Array<{ answer: number; final: string; delay: number }> = [];
    for (let i = 0; i < 24; i++) {
      const id = await cluster.submit({ prompt: `race ${i}`, size: "256x256" });
      await cluster.waitFor(id, ["running", "succeeded"]);
      const delay = 60 + i * 5;
      await new Promise((r) => setTimeout(r, delay)); // the point in the job's life being probed
      const res = await cluster.request("POST", `/v1/jobs/${id}/cancel`);
      const final = await cluster.waitFor(id, ["succeeded", "failed", "canceled"]);
      // A cancel answer of 200 "canceled" must hold once the GPU is done; 409 means the job won.
      await waitFor(async () => (await cluster!.upstreams())[0]?.busy === false, {
        what: "the GPU to be free",
      });
      outcomes.push({ answer: res.status, final: (await cluster.view(id)).status, delay });
      expect(final.status).not.toBe("failed");
    }
    for (const o of outcomes) {
      if (o.answer === 200) expect(o).toMatchObject({ final: "canceled" });
      else expect(o).toMatchObject({ answer: 409, final: "succeeded" });
    }
  });
});
