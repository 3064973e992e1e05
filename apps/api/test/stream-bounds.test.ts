import { connect, type Socket } from "node:net";
import { createRedis, jobEventsChannel, publishJobEvent } from "@zimage/core";
import { waitFor } from "@zimage/testkit";
import type { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

/**
 * Issue #17, "Bounded resources": SSE streams and waiting requests are capped per key and per
 * process, honour backpressure, and release everything they hold whenever the client leaves.
 */
const ADMIN = "admin-key-for-the-stream-bounds-tests-0123456789";
let api: TestApi | undefined;
let direct: Redis | undefined;
const sockets = new Set<Socket>();
const aborts = new Set<AbortController>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  for (const a of aborts) a.abort();
  aborts.clear();
  direct?.disconnect();
  direct = undefined;
  await api?.close();
  api = undefined;
});

type Json = { id: string; key: string; error: { code: string; message: string } };
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

async function call(path: string, key: string, init: RequestInit = {}) {
  const res = await fetch(`${api!.url}${path}`, {
    ...init,
    headers: { ...auth(key), "content-type": "application/json", ...init.headers },
  });
  const body = (await res.json().catch(() => ({}))) as Json;
  return { status: res.status, headers: res.headers, body };
}

async function newKey(name: string): Promise<{ id: string; key: string }> {
  const res = await call("/v1/admin/keys", ADMIN, {
    method: "POST",
    body: JSON.stringify({ name, role: "user" }),
  });
  expect(res.status).toBe(201);
  return { id: res.body.id, key: res.body.key };
}

async function submit(key: string, prompt = "a fox", extra: Record<string, unknown> = {}): Promise<string> {
  const res = await call("/v1/jobs", key, {
    method: "POST",
    body: JSON.stringify({ prompt, size: "256x256", ...extra }),
  });
  expect(res.status).toBe(202);
  return res.body.id;
}

/** A held request through fetch: resolves with the response once its headers are in (or never, for a long-poll). */
function openHeld(
  path: string,
  key: string,
  init: RequestInit = {},
): { abort: () => void; response: Promise<Response> } {
  const controller = new AbortController();
  aborts.add(controller);
  const response = fetch(`${api!.url}${path}`, {
    ...init,
    headers: { ...auth(key), accept: "text/event-stream", ...init.headers },
    signal: controller.signal,
  });
  // Aborting rejects it; the test does not care.
  response.catch(() => {});
  return { abort: () => controller.abort(), response };
}

/** A raw HTTP request on its own socket, which the test may cut at any moment or never read from. */
function rawGet(path: string, key: string): Socket {
  const socket = connect(Number(new URL(api!.url).port), "127.0.0.1");
  sockets.add(socket);
  // Reset by the server when it gives up on a reader: expected here.
  socket.on("error", () => {});
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nAccept: text/event-stream\r\n\r\n`,
  );
  return socket;
}

const held = () => api!.streams.stats();
const nothingHeld = () => {
  const s = held();
  const bus = api!.events.counts();
  return (
    s.sse === 0 &&
    s.wait === 0 &&
    s.keys === 0 &&
    s.timers === 0 &&
    bus.waiters === 0 &&
    bus.subscribers === 0
  );
};

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${api!.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

async function redisClients(): Promise<number> {
  return String(await direct!.client("LIST"))
    .trim()
    .split("\n").length;
}

describe("stream caps", () => {
  it("refuses a key's stream over MAX_STREAMS_PER_KEY with 429 and Retry-After, lets another key in, and answers 503 over MAX_STREAMS_PER_PROCESS", async () => {
    api = await startTestApi({ adminKey: ADMIN, streamLimits: { perKey: 3, perProcess: 5 } });
    const a = await newKey("a");
    const b = await newKey("b");
    const c = await newKey("c");
    const jobA = await submit(a.key);
    const jobB = await submit(b.key);

    const first = [
      openHeld(`/v1/jobs/${jobA}/events`, a.key),
      openHeld("/v1/events", a.key),
      openHeld(`/v1/jobs/${jobA}?wait=60`, a.key, { headers: { accept: "application/json" } }),
    ];
    await waitFor(() => held().sse === 2 && held().wait === 1, { what: "a's three held connections" });

    // The fourth of any kind, SSE or long-poll, is refused with the usual error shape.
    for (const path of ["/v1/events", `/v1/jobs/${jobA}/events`, `/v1/jobs/${jobA}?wait=5`]) {
      const over = await call(path, a.key);
      expect(over.status, path).toBe(429);
      expect(over.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(over.body.error.code).toBe("too_many_streams");
      expect(over.body.error.message).toMatch(/MAX_STREAMS_PER_KEY/);
    }
    // `Prefer: wait` is a preference: over the cap the job is queued and answered at once, unwaited.
    const preferred = await call("/v1/jobs", a.key, {
      method: "POST",
      headers: { prefer: "wait=30" },
      body: JSON.stringify({ prompt: "still queued", size: "256x256" }),
    });
    expect(preferred.status).toBe(202);
    expect(preferred.headers.get("preference-applied")).toBeNull();
    // The OpenAI facade holds its request too, so it is refused before any job is created.
    const openai = await call("/v1/images/generations", a.key, {
      method: "POST",
      body: JSON.stringify({ prompt: "refused", size: "256x256" }),
    });
    expect(openai.status).toBe(429);
    expect(openai.body.error.code).toBe("too_many_streams");
    expect(openai.headers.get("x-should-retry")).toBeNull();

    // Another key still gets in, up to the process's cap...
    const second = [openHeld(`/v1/jobs/${jobB}/events`, b.key), openHeld("/v1/events", b.key)];
    for (const h of second) expect((await h.response).status).toBe(200);
    // ...past which everyone gets 503.
    const full = await call("/v1/events", c.key);
    expect(full.status).toBe(503);
    expect(full.body.error.code).toBe("streams_at_capacity");
    expect(full.headers.get("retry-after")).toMatch(/^\d+$/);

    // A stream that ends frees its slot.
    first[0]!.abort();
    await waitFor(() => held().sse === 3, { what: "the slot to free" });
    const again = openHeld("/v1/events", a.key);
    expect((await again.response).status).toBe(200);
  });
});

describe("abandoned streams", () => {
  it("release every slot, waiter, subscription and timer wherever the client leaves, and Redis returns to where it was", async () => {
    api = await startTestApi({ adminKey: ADMIN, redisProxy: true, streamLimits: { writeTimeoutMs: 60_000 } });
    direct = createRedis(api.redis.url);
    const user = await newKey("user");
    const job = await submit(user.key);
    const adminJob = await submit(ADMIN);
    const baselineClients = await redisClients();
    const subscriptions = async () =>
      ((await direct!.pubsub("NUMSUB", jobEventsChannel("test"))) as [string, number])[1];
    expect(await subscriptions()).toBe(1);
    expect(nothingHeld()).toBe(true);
    const paths = (id: string) => [`/v1/jobs/${id}/events`, "/v1/events", `/v1/jobs/${id}?wait=30`];

    // 1. Immediately after connecting.
    for (let i = 0; i < 10; i++) for (const p of paths(job)) rawGet(p, user.key).destroy();

    // 2. Mid-setup: the api's Redis stalls, so each request is stuck in the await before its stream
    //    is set up (the admin key needs no Redis, so those hold their slot; the user's are stuck in
    //    authentication). The clients leave; then Redis answers.
    api.proxy!.cut("blackhole");
    const stuck = [
      ...Array.from({ length: 5 }, () => paths(adminJob).map((p) => rawGet(p, ADMIN))).flat(),
      ...paths(job).map((p) => rawGet(p, user.key)),
    ];
    await waitFor(() => held().sse === 10 && held().wait === 5, { what: "the admin's requests in setup" });
    for (const s of stuck) s.destroy();
    // The slots free at once, while the reads are still pending.
    await waitFor(() => held().sse === 0 && held().wait === 0, { what: "slots freed during setup" });
    api.proxy!.restore();
    // Commands on one connection answer in order: once this read is back, so are those before it.
    expect((await call(`/v1/jobs/${job}`, user.key)).status).toBe(200);

    // 3. Mid-stream: every kind of held connection, established, then abandoned.
    const open = [
      openHeld(`/v1/jobs/${job}/events`, user.key),
      openHeld("/v1/events", user.key),
      openHeld(`/v1/jobs/${job}?wait=30`, user.key),
      openHeld("/v1/jobs", user.key, {
        method: "POST",
        headers: { prefer: "wait=30", "content-type": "application/json" },
        body: JSON.stringify({ prompt: "waited for", size: "256x256" }),
      }),
      openHeld("/v1/images/generations", user.key, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: "held", size: "256x256" }),
      }),
    ];
    await waitFor(() => held().sse === 2 && held().wait === 3 && api!.events.counts().waiters === 4, {
      what: "every held connection established",
    });
    for (const h of open) h.abort();

    await waitFor(nothingHeld, { what: "nothing held", timeoutMs: 15_000 });
    expect(await redisClients()).toBe(baselineClients);
    expect(await subscriptions()).toBe(1);
    expect(await metric("zimage_gateway_open_streams")).toBe(0);
    expect(await metric("zimage_gateway_stream_timers")).toBe(0);

    // Nothing keeps polling Redis on behalf of a client that left (a single-job stream re-reads every
    // 2 s): over this window the api sends Redis nothing; the two INFO calls are the test's own.
    const processed = async () =>
      Number(/total_commands_processed:(\d+)/.exec(await direct!.info("stats"))![1]);
    const before = await processed();
    await new Promise((r) => setTimeout(r, 2_500)); // a measuring window, not a synchronisation
    expect((await processed()) - before).toBeLessThanOrEqual(1);
  });

  it("keeps a reader that never reads to a bounded buffer, coalesces its events, then disconnects it", async () => {
    api = await startTestApi({ adminKey: ADMIN, streamLimits: { writeTimeoutMs: 4_000 } });
    direct = createRedis(api.redis.url);
    const owner = await newKey("watched");
    const other = await newKey("other");
    // Large views (a 12 KB prompt and negative prompt each, in 3-byte UTF-8 characters), so a few
    // rounds of position changes overrun what the kernel buffers for a socket nobody reads.
    const big = "字".repeat(4000);
    const jobs = 40;
    for (let i = 0; i < jobs; i++)
      await submit(owner.key, `${big}${i}`.slice(-4000), { negative_prompt: big });

    const slow = rawGet("/v1/events", owner.key);
    slow.pause();
    // A fast reader of the same stream paces the rounds: it has seen a round when the slow one's
    // stream has been handed it too.
    let frames = 0;
    let tail = "";
    const fast = openHeld("/v1/events", owner.key);
    const reading = (async () => {
      const body = (await fast.response).body!;
      const decoder = new TextDecoder();
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        const text = tail + decoder.decode(chunk, { stream: true });
        frames += text.split("event: job\n").length - 1;
        tail = text.slice(-12);
      }
    })().catch(() => {});
    await waitFor(() => frames >= jobs, { what: "the opening views" });
    await waitFor(() => held().sse === 2, { what: "both streams open" });

    let maxBuffered = 0;
    let ahead: string | null = null;
    const deadline = Date.now() + 45_000;
    const coalesced = () => metric("zimage_gateway_sse_events_coalesced_total");
    const stalled = () => metric("zimage_gateway_sse_clients_stalled_total");
    while ((await coalesced()) === 0 && (await stalled()) === 0) {
      expect(Date.now(), "no backpressure before the deadline").toBeLessThan(deadline);
      // The other key's first job goes ahead of most of the owner's (fair share), or leaves again:
      // either way their positions move, and a dispatch makes the streams re-read them.
      const seen = frames;
      if (ahead) {
        expect((await call(`/v1/jobs/${ahead}`, other.key, { method: "DELETE" })).status).toBe(200);
        ahead = null;
      } else ahead = await submit(other.key);
      await publishJobEvent(direct, "test", { id: "ANY", type: "dispatched" });
      await waitFor(() => frames >= seen + jobs / 2, { what: "a round of position changes" });
      maxBuffered = Math.max(maxBuffered, held().bufferedBytes);
    }
    expect(await coalesced()).toBeGreaterThan(0);
    // The slow socket's buffer stayed at the high-water mark plus at most one event (~25 KB) although
    // megabytes of events were produced for it.
    expect(maxBuffered).toBeLessThan(96 * 1024);
    expect(await metric("zimage_gateway_stream_buffered_bytes")).toBeLessThan(96 * 1024);
    // Then, after STREAM_WRITE_TIMEOUT_SECONDS without reading, the server hangs up on it.
    await waitFor(async () => (await stalled()) === 1, {
      what: "the slow reader disconnected",
    });
    await waitFor(() => held().sse === 1, { what: "only the fast stream left" });
    fast.abort();
    await reading;
    await waitFor(nothingHeld, { what: "nothing held" });
  });
});
