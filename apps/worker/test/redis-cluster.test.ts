import { resolve } from "node:path";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import {
  makePng,
  type PrivateRedisCluster,
  pngSize,
  startProcess,
  startRedisCluster,
  waitFor,
} from "@zimage/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Receiver, startReceiver, verify } from "./webhook-receiver";

/**
 * Issue #18 (2): the gateway on a 3-master Redis Cluster. QUEUE_PREFIX `{gw}` is a hash tag, so every
 * key the gateway and BullMQ write lands in one slot and no Lua script or MULTI is CROSSSLOT; the
 * job event bus subscribes through the Cluster client.
 */
let redis: PrivateRedisCluster | undefined;
let cluster: Cluster | undefined;
let receiver: Receiver | undefined;

beforeAll(async () => {
  redis = await startRedisCluster({ masters: 3 });
  receiver = await startReceiver(() => 200);
  cluster = await startCluster({
    externalRedis: { ...redis.env, QUEUE_PREFIX: "{gw}" },
    sim: { loadMs: 0, baseMs: 150 },
    env: { WEBHOOK_ALLOW_PRIVATE: "true", ADMIN_API_KEY: "cluster-admin-key-0123456789abcdef" },
  });
});
afterAll(async () => {
  await cluster?.stop();
  await receiver?.close();
  await redis?.stop();
});

/** Reads `GET /v1/events` until `done(text so far)`; the stream's own recheck is 15 s, so a match well before that came through pub/sub. */
async function readOwnerStream(c: Cluster, key: string, done: (text: string) => boolean, timeoutMs: number) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let text = "";
  try {
    const res = await fetch(`${c.apiUrl}/v1/events`, {
      headers: { authorization: `Bearer ${key}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      text += Buffer.from(chunk).toString();
      if (done(text)) return true;
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return false;
}

describe("Redis Cluster", () => {
  it("runs keys, submit, webhooks, edit and cancel, with every key in the prefix's one slot", async () => {
    const c = cluster!;
    // API keys, their rate limiter and the failed-auth limiter are Redis too.
    const key = await c.createKey("on-cluster");
    expect((await c.request("GET", "/v1/jobs", { key: "zk_not-a-key" })).status).toBe(401);
    const secret = (
      (await (await c.request("GET", "/v1/webhook-secret", { key })).json()) as { secret: string }
    ).secret;

    // Text-to-image with a webhook; watched over the owner stream, which only pub/sub makes prompt.
    let id = "";
    const streamed = readOwnerStream(
      c,
      key,
      (t) => id !== "" && t.includes(id) && t.includes('"succeeded"'),
      10_000,
    ).catch((err: Error) => err); // reported by the expect below, not as an unhandled rejection
    id = await c.submit(
      { prompt: "on a cluster", size: "256x256", webhook: { url: receiver!.url, events: ["succeeded"] } },
      key,
    );
    const done = await c.waitFor(id, undefined, undefined, key);
    expect(done.status).toBe("succeeded");
    const image = await fetch(done.result!.images[0]!.url);
    expect(pngSize(Buffer.from(await image.arrayBuffer()))).toEqual({ width: 256, height: 256 });
    expect(await streamed).toBe(true);
    await waitFor(() => receiver!.deliveries.length === 1, { what: "the webhook delivery" });
    const payload = verify(secret, receiver!.deliveries[0]!) as { type: string; data: { id: string } };
    expect(payload).toMatchObject({ type: "job.succeeded", data: { id } });

    // An edit (multipart upload, input kept in the store).
    const editId = await c.submitEdit({ prompt: "edited" }, makePng(96, 64, 8), key);
    const edit = await c.waitFor(editId, undefined, undefined, key);
    expect(edit.status).toBe("succeeded");

    // Cancel a job while another holds the GPU.
    const ahead = await c.submit({ prompt: "ahead", size: "256x256" }, key);
    const behind = await c.submit({ prompt: "behind", size: "256x256" }, key);
    expect((await c.request("POST", `/v1/jobs/${behind}/cancel`, { key })).status).toBe(200);
    expect((await c.waitFor(behind, undefined, undefined, key)).status).toBe("canceled");
    expect((await c.waitFor(ahead, undefined, undefined, key)).status).toBe("succeeded");
    expect(c.sims[0]!.stats().maxInFlight).toBe(1);

    // Every key the gateway and BullMQ wrote hashes to the tag's slot: the other masters hold none.
    const slot = Number((await redis!.onEachNode("CLUSTER", "KEYSLOT", "{gw}"))[0]);
    const sizes = (await redis!.onEachNode("DBSIZE")).map(Number);
    const inSlot = (await redis!.onEachNode("CLUSTER", "COUNTKEYSINSLOT", String(slot))).map(Number);
    expect(sizes.reduce((a, b) => a + b)).toBeGreaterThan(10);
    expect(inSlot).toEqual(sizes);
  });

  it("refuses to start on a Cluster with a QUEUE_PREFIX that has no hash tag", async () => {
    const api = startProcess(
      process.execPath,
      ["--import", "tsx", resolve(import.meta.dirname, "../../api/src/main.ts")],
      { env: { ...redis!.env, QUEUE_PREFIX: "gw", PORT: "0" } },
    );
    expect(await api.exited).toBe(1);
    expect(api.output()).toMatch(/QUEUE_PREFIX.*hash tag.*QUEUE_PREFIX=\{gw\}/s);
  });
});
