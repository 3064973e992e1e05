import { createRedis, newJobId, QUEUES } from "@zimage/core";
import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

/** Issue #16 §3: the api's bookkeeping (indexes, pending sets, queued-since, fair clock) never drifts. */
const ADMIN = "admin-key-for-bookkeeping-0123456789";
const P = "test"; // the key prefix startTestApi uses
let api: TestApi;
let redis: Redis;

beforeAll(async () => {
  api = await startTestApi({ adminKey: ADMIN });
  redis = createRedis(api.redis.url);
});
afterAll(async () => {
  redis?.disconnect();
  await api?.close();
});

type Json = Record<string, unknown> & { error?: { code: string; message: string } };

async function call(
  method: string,
  path: string,
  key: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Json };
}

async function newKey(name: string, limits: Record<string, number> = {}) {
  const res = await call("POST", "/v1/admin/keys", ADMIN, { name, role: "user", ...limits });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.id as string, key: res.body.key as string };
}

const submit = (key: string, prompt: string, headers: Record<string, string> = {}) =>
  call("POST", "/v1/jobs", key, { prompt, size: "256x256" }, headers);

/** Every bookkeeping entry that names `id`. */
async function traces(owner: string, id: string) {
  const [all, own, pending, since] = await Promise.all([
    redis.zscore(`${P}:jobs:all`, id),
    redis.zscore(`${P}:jobs:owner:${owner}`, id),
    redis.sismember(`${P}:jobs:pending:${owner}`, id),
    redis.zscore(`${P}:jobs:queued-since`, id),
  ]);
  return { all, own, pending, since };
}
const NO_TRACES = { all: null, own: null, pending: 0, since: null };

async function scrape(name: string): Promise<number | null> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("indexes are cleaned with their jobs", () => {
  it("DELETE of a finished job removes it from jobs:all and the owner's index", async () => {
    const { id: owner, key } = await newKey("deleter");
    const id = (await submit(key, "to be deleted")).body.id as string;
    expect((await traces(owner, id)).all).toBe("0");
    // Finish it as a dispatcher would (manual fetch; no upstream involved).
    const connection = createRedis(api.redis.url, "worker");
    const worker = new Worker(QUEUES.generate, null, { connection, prefix: P });
    try {
      for (;;) {
        const job = await worker.getNextJob("t");
        if (!job) throw new Error("the job was not in the queue");
        if (job.id === id) {
          await job.moveToFailed(new Error("upstream said no"), "t", false);
          break;
        }
        await job.moveToWait("t");
      }
    } finally {
      await worker.close();
      connection.disconnect();
    }
    expect((await call("DELETE", `/v1/jobs/${id}`, key)).status).toBe(204);
    expect(await traces(owner, id)).toEqual(NO_TRACES);
    expect((await call("GET", `/v1/jobs/${id}`, key)).status).toBe(410);
  });

  it("DELETE of a job canceled while queued removes it from the indexes too", async () => {
    const { id: owner, key } = await newKey("cancel then delete");
    const id = (await submit(key, "never mind")).body.id as string;
    expect((await call("POST", `/v1/jobs/${id}/cancel`, key)).status).toBe(200);
    expect((await call("DELETE", `/v1/jobs/${id}`, key)).status).toBe(204);
    expect(await traces(owner, id)).toEqual(NO_TRACES);
  });

  it("the listing prunes entries whose job BullMQ's own retention removed", async () => {
    const { id: owner, key } = await newKey("backstopped");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await submit(key, `b${i}`)).body.id as string);
    // The job was dispatched (which drops its queued-since entry) and, finished long ago, removed by
    // removeOnComplete/removeOnFail because no sweeper ran: the job goes, nothing else.
    await redis.zrem(`${P}:jobs:queued-since`, ids[1]!);
    await (await api.queue.getJob(ids[1]!))?.remove();
    const list = await call("GET", "/v1/jobs", key);
    expect((list.body.data as Array<{ id: string }>).map((j) => j.id)).toEqual([ids[2], ids[0]]);
    expect(await redis.zscore(`${P}:jobs:owner:${owner}`, ids[1]!)).toBeNull();
    expect(await redis.zscore(`${P}:jobs:all`, ids[1]!)).toBeNull();
  });
});

describe("a failed submit leaves nothing behind", () => {
  it("when Queue.add throws, the job has no index, pending or queued-since entry", async () => {
    const { id: owner, key } = await newKey("unlucky");
    const before = await redis.zcard(`${P}:jobs:queued-since`);
    const add = vi.spyOn(api.queue, "add").mockRejectedValueOnce(new Error("Redis went away"));
    try {
      const res = await submit(key, "lost");
      expect(res.status).toBe(500);
    } finally {
      add.mockRestore();
    }
    expect(await redis.zcard(`${P}:jobs:owner:${owner}`)).toBe(0);
    expect(await redis.scard(`${P}:jobs:pending:${owner}`)).toBe(0);
    expect(await redis.zcard(`${P}:jobs:queued-since`)).toBe(before);
    // The next submit works and is the only one recorded.
    const ok = await submit(key, "found");
    expect(ok.status).toBe(202);
    expect(await traces(owner, ok.body.id as string)).toMatchObject({ all: "0", own: "0", pending: 1 });
  });

  it("the oldest-queued-job gauge ignores an id whose job is not queued", async () => {
    // A ghost from a crash between the bookkeeping and Queue.add: two hours old, no job.
    const ghost = newJobId();
    await redis.zadd(`${P}:jobs:queued-since`, Date.now() - 7_200_000, ghost);
    const age = await scrape("zimage_gateway_queue_oldest_job_age_seconds");
    expect(age).not.toBeNull();
    expect(age!).toBeLessThan(3600);
    expect(await redis.zscore(`${P}:jobs:queued-since`, ghost)).toBeNull();
  });
});

describe("limits hold under concurrency", () => {
  it("60 concurrent submits with max_pending 3 accept exactly 3", async () => {
    const { id: owner, key } = await newKey("stampede", { max_pending: 3 });
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => submit(key, `s${i}`)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 202).length).toBe(3);
    expect(statuses.filter((s) => s === 429).length).toBe(57);
    expect(results.find((r) => r.status === 429)?.body.error?.code).toBe("too_many_pending_jobs");
    expect(await redis.scard(`${P}:jobs:pending:${owner}`)).toBe(3);
  });

  it("two concurrent requests with one Idempotency-Key spend one fair slot and one rate point", async () => {
    const pairs = 10;
    // Exactly one rate point per job: the 11th distinct submit fits only if no pair spent two.
    const { id: owner, key } = await newKey("impatient", { rate_per_minute: pairs + 1 });
    const results = await Promise.all(
      Array.from({ length: pairs }, (_, i) => [
        submit(key, `pair ${i}`, { "idempotency-key": `race-${i}` }),
        submit(key, `pair ${i}`, { "idempotency-key": `race-${i}` }),
      ]).flat(),
    );
    for (let i = 0; i < pairs; i++) {
      const [a, b] = [results[2 * i]!, results[2 * i + 1]!];
      expect([a.status, b.status].sort()).toEqual([200, 202]);
      expect(a.body.id).toBe(b.body.id);
    }
    // Weight 1 from an empty clock: one slot per job.
    expect(Number(await redis.hget(`${P}:fair:last`, owner))).toBe(pairs);
    expect((await submit(key, "one more")).status).toBe(202);
  });
});

describe("fair share", () => {
  it("accepts a weight below 1, and such a key's jobs are spaced 1/weight slots apart", async () => {
    const { id: owner, key } = await newKey("background", { priority_weight: 0.25 });
    const patched = await call("PATCH", `/v1/admin/keys/${owner}`, ADMIN, { priority_weight: 0.5 });
    expect(patched.status).toBe(200);
    expect(patched.body.priority_weight).toBe(0.5);
    expect((await call("PATCH", `/v1/admin/keys/${owner}`, ADMIN, { priority_weight: 0 })).status).toBe(400);
    await call("PATCH", `/v1/admin/keys/${owner}`, ADMIN, { priority_weight: 0.25 });
    const priorities: number[] = [];
    for (let i = 0; i < 3; i++) {
      const id = (await submit(key, `bg ${i}`)).body.id as string;
      priorities.push((await api.queue.getJob(id))!.priority);
    }
    expect([priorities[1]! - priorities[0]!, priorities[2]! - priorities[1]!]).toEqual([4, 4]);
  });

  it("re-bases the virtual clock near BullMQ's priority limit instead of failing or saturating", async () => {
    const { id: owner, key } = await newKey("marathon");
    const before = (await scrape("zimage_gateway_fair_share_rebases_total")) ?? 0;
    // Two million slots have been served without the queue ever being empty.
    await redis.set(`${P}:fair:served`, "2097100");
    await redis.hset(`${P}:fair:last`, owner, "2097151");
    const res = await submit(key, "after two million");
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const priority = (await api.queue.getJob(res.body.id as string))!.priority;
    expect(priority).toBeLessThan(1_000_000);
    expect(await scrape("zimage_gateway_fair_share_rebases_total")).toBe(before + 1);
  });
});
