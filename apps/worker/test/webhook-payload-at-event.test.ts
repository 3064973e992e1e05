import { createRedis, createWebhookQueue, type JobView, jobViewSchema } from "@zimage/core";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { type Receiver, startReceiver, typeOf, verify } from "./webhook-receiver";

/**
 * Issue #16 §2: a webhook payload is the job as it was when the event happened, not as it is when
 * an attempt finally gets through. Retries are 0.2 s apart and many, so the receiver decides when a
 * delivery succeeds (after the job moved on) and the schedule never runs out first.
 */
let cluster: Cluster | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
  await cluster?.stop();
  cluster = undefined;
});

const ENV = {
  WEBHOOK_ALLOW_PRIVATE: "true",
  WEBHOOK_RETRY_SCHEDULE: Array.from({ length: 150 }, () => "0.2").join(","),
};

async function secretOf(c: Cluster): Promise<string> {
  return ((await (await c.request("GET", "/v1/webhook-secret")).json()) as { secret: string }).secret;
}

/** The first delivery of `type` the receiver accepted, once there is one. */
const accepted = (r: Receiver, type: string, what: string) =>
  waitFor(() => r.deliveries.find((d) => d.answered === 200 && typeOf(d.body) === type), {
    timeoutMs: 30_000,
    what,
  });

describe("webhook payloads are built when the event happens", () => {
  it("a job.running delivery retried after the job succeeded still says running", async () => {
    // job.running is refused until job.succeeded has arrived: the attempt that gets through is
    // made after the job succeeded.
    let succeeded = false;
    receiver = await startReceiver((_n, body) => {
      if (typeOf(body) === "job.succeeded") succeeded = true;
      return succeeded ? 200 : 500;
    });
    cluster = await startCluster({ env: ENV });
    const secret = await secretOf(cluster);
    const id = await cluster.submit({
      prompt: "still running, as far as this event goes",
      size: "256x256",
      webhook: { url: receiver.url, events: ["running", "succeeded"] },
    });
    const delivery = await accepted(receiver, "job.running", "the accepted job.running delivery");
    const refused = receiver.deliveries.filter((d) => d.answered === 500);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((d) => typeOf(d.body) === "job.running")).toBe(true);
    expect((await cluster.view(id)).status).toBe("succeeded");

    const payload = verify(secret, delivery);
    expect(payload.type).toBe("job.running");
    const view = jobViewSchema.parse(payload.data);
    expect(view).toMatchObject({ id, status: "running", completed_at: null, result: null, error: null });
    expect(view.started_at).not.toBeNull();
    expect(view.params).toMatchObject({ prompt: "still running, as far as this event goes" });
    // Every attempt of one delivery carries the same payload data.
    expect(new Set(refused.map((d) => JSON.stringify(verify(secret, d).data)))).toEqual(
      new Set([JSON.stringify(payload.data)]),
    );
  });

  const removals: Array<[string, Record<string, string>, (c: Cluster, id: string) => Promise<void>]> = [
    [
      "swept by the result sweeper",
      { RESULT_TTL: "1", SWEEP_INTERVAL_SECONDS: "0.2" },
      async (c, id) => {
        await waitFor(async () => (await c.request("GET", `/v1/jobs/${id}`)).status === 410, {
          timeoutMs: 20_000,
          what: "the sweeper to remove the job",
        });
      },
    ],
    [
      "deleted by its owner",
      {},
      async (c, id) => {
        expect((await c.request("DELETE", `/v1/jobs/${id}`)).status).toBe(204);
      },
    ],
  ];

  it.each(removals)(
    "a job.succeeded delivery retried after the job was %s still carries the full view",
    async (_how, env, remove) => {
      let removed = false;
      receiver = await startReceiver(() => (removed ? 200 : 503));
      cluster = await startCluster({ env: { ...ENV, ...env } });
      const secret = await secretOf(cluster);
      const id = await cluster.submit({
        prompt: "kept in the payload",
        size: "256x256",
        webhook: { url: receiver.url, events: ["succeeded"] },
      });
      await waitFor(() => receiver!.deliveries.length > 0, { timeoutMs: 20_000, what: "a refused attempt" });
      await remove(cluster, id);
      removed = true;
      const delivery = await accepted(receiver, "job.succeeded", "the accepted job.succeeded delivery");

      const payload = verify(secret, delivery);
      const view: JobView = jobViewSchema.parse(payload.data);
      expect(view).toMatchObject({ id, status: "succeeded", error: null, upstream: "gpu0" });
      expect(view.completed_at).not.toBeNull();
      expect(view.params).toMatchObject({ prompt: "kept in the payload" });
      expect(view.result?.images).toHaveLength(1);
      expect(view.result!.images[0]).toMatchObject({ width: 256, height: 256 });
      // The link is signed at delivery and valid, but the image has gone with its job.
      const image = await fetch(view.result!.images[0]!.url);
      expect(image.status).toBe(410);
      expect(((await image.json()) as { error: { code: string } }).error.code).toBe("job_gone");
    },
  );

  it("a delivery queued by an older version, without a snapshot, is still delivered with the view read at delivery", async () => {
    receiver = await startReceiver(() => 200);
    cluster = await startCluster({ env: ENV });
    const secret = await secretOf(cluster);
    const id = await cluster.submit({ prompt: "queued before the upgrade", size: "256x256" });
    await cluster.waitFor(id, ["succeeded"]);
    // The delivery data the previous version wrote: no view in it.
    const redis = createRedis(cluster.redis.url);
    const webhooks = createWebhookQueue(redis, cluster.env.QUEUE_PREFIX!);
    try {
      await webhooks.add(
        "succeeded",
        { jobId: id, owner: "local", event: "succeeded", url: receiver.url },
        {
          jobId: `${id}-succeeded`,
        },
      );
    } finally {
      await webhooks.close();
      redis.disconnect();
    }
    const delivery = await accepted(receiver, "job.succeeded", "the legacy delivery");
    const view = jobViewSchema.parse(verify(secret, delivery).data);
    expect(view).toMatchObject({ id, status: "succeeded" });
    const image = await fetch(view.result!.images[0]!.url);
    expect(image.status).toBe(200);
  });
});
