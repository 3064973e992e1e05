import { type Cluster, startCluster } from "@zimage/test-cluster";
import { freePort, pngSize, waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { type Delivery, type Receiver, startReceiver, verify as verifySignature } from "./webhook-receiver";

/** Issue #6: signed webhook deliveries with durable retries, verified by a real receiver. */
let cluster: Cluster | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
  await cluster?.stop();
  cluster = undefined;
});

const ENV = { WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_RETRY_SCHEDULE: "0.3,0.3,0.3,0.3,0.3" };

async function secretOf(c: Cluster): Promise<string> {
  return ((await (await c.request("GET", "/v1/webhook-secret")).json()) as { secret: string }).secret;
}

const verify = (secret: string, d: Delivery) =>
  verifySignature(secret, d) as {
    type: string;
    data: { id: string; status: string; result: { images: Array<{ url: string }> } | null };
  };

describe("webhooks", () => {
  it("delivers each asked-for event, signed so the reference library verifies it and rejects a tampered one", async () => {
    receiver = await startReceiver(() => 200);
    cluster = await startCluster({ env: ENV });
    const secret = await secretOf(cluster);
    expect(secret).toMatch(/^whsec_/);
    const id = await cluster.submit({
      prompt: "call me back",
      size: "256x256",
      webhook: { url: receiver.url, events: ["queued", "running", "succeeded"] },
    });
    await waitFor(() => receiver!.deliveries.length >= 3, { timeoutMs: 20_000, what: "three deliveries" });
    const payloads = receiver.deliveries.map((d) => verify(secret, d));
    expect(payloads.map((p) => p.type).sort()).toEqual(["job.queued", "job.running", "job.succeeded"]);
    const done = payloads.find((p) => p.type === "job.succeeded")!;
    expect(done.data).toMatchObject({ id, status: "succeeded" });
    const image = await fetch(done.data.result!.images[0]!.url);
    expect(pngSize(Buffer.from(await image.arrayBuffer()))).toEqual({ width: 256, height: 256 });
    const tampered = {
      ...receiver.deliveries[0]!,
      body: receiver.deliveries[0]!.body.replace("job.", "job.x"),
    };
    expect(() => verify(secret, tampered)).toThrow();
    expect(() =>
      verify(
        "whsec_" + Buffer.from("another secret, 24 bytes!").toString("base64"),
        receiver!.deliveries[0]!,
      ),
    ).toThrow();
  });

  it("retries a failing receiver and delivers exactly once, with the same webhook-id on every attempt", async () => {
    receiver = await startReceiver((n) => (n < 3 ? 500 : 200));
    cluster = await startCluster({ env: ENV });
    const id = await cluster.submit({ prompt: "persist", size: "256x256", webhook: { url: receiver.url } });
    await waitFor(() => receiver!.deliveries.some((d) => d.answered === 200), {
      timeoutMs: 20_000,
      what: "the accepted delivery",
    });
    const attempts = await waitFor(async () => {
      const list = (
        (await (await cluster!.request("GET", `/v1/jobs/${id}/deliveries`)).json()) as {
          data: Array<{
            status_code: number;
            webhook_id: string;
            next_retry_at: string | null;
            attempt: number;
          }>;
        }
      ).data;
      return list.length === 4 ? list : null;
    });
    expect(receiver.deliveries.map((d) => d.answered)).toEqual([500, 500, 500, 200]);
    expect(new Set(receiver.deliveries.map((d) => d.headers["webhook-id"])).size).toBe(1);
    expect(attempts.map((a) => a.status_code)).toEqual([500, 500, 500, 200]);
    expect(attempts.map((a) => a.next_retry_at !== null)).toEqual([true, true, true, false]);
  });

  it("stops at a 4xx answer", async () => {
    receiver = await startReceiver(() => 410);
    cluster = await startCluster({ env: ENV });
    const id = await cluster.submit({ prompt: "unwanted", size: "256x256", webhook: { url: receiver.url } });
    const [attempt] = await waitFor(async () => {
      const list = (
        (await (await cluster!.request("GET", `/v1/jobs/${id}/deliveries`)).json()) as {
          data: Array<{ status_code: number; next_retry_at: string | null }>;
        }
      ).data;
      return list.length > 0 ? list : null;
    });
    expect(attempt).toMatchObject({ status_code: 410, next_retry_at: null });
  });

  it("keeps pending deliveries through an api and worker restart", async () => {
    const port = await freePort();
    cluster = await startCluster({ env: { ...ENV, WEBHOOK_RETRY_SCHEDULE: "0.5,1,1,1,1,1,1,1,1,1,1,1" } });
    const id = await cluster.submit({
      prompt: "across restarts",
      size: "256x256",
      webhook: { url: `http://127.0.0.1:${port}/hook` },
    });
    // Nothing listens yet: the first attempts fail with connection refused.
    await waitFor(
      async () => {
        const list = (
          (await (await cluster!.request("GET", `/v1/jobs/${id}/deliveries`)).json()) as { data: unknown[] }
        ).data;
        return list.length >= 1;
      },
      { timeoutMs: 20_000, what: "a failed attempt" },
    );
    await cluster.workers[0]!.stop("SIGKILL");
    await cluster.restartApi();
    await cluster.startWorker();
    receiver = await startReceiver(() => 200, port);
    // A delivery in flight at the kill comes back within LOCK_DURATION + STALLED_INTERVAL (3 s here).
    await waitFor(() => receiver!.deliveries.length === 1, {
      timeoutMs: 20_000,
      what: "the delivery after restarts",
    });
    expect(JSON.parse(receiver.deliveries[0]!.body)).toMatchObject({ type: "job.succeeded", data: { id } });
  });
});
