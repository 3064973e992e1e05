import { createRedis, type JobData } from "@zimage/core";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

/** Issue #19, feature 1: POST /v1/batches and its reads, against real Redis and real HTTP. */
const ADMIN = "admin-key-for-batches-0123456789abcdef";
const P = "test"; // the key prefix startTestApi uses
let api: TestApi;
let redis: Redis;

beforeAll(async () => {
  api = await startTestApi({ adminKey: ADMIN, allowPrivateWebhooks: true });
  redis = createRedis(api.redis.url);
});
afterAll(async () => {
  redis?.disconnect();
  await api?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field in assertions
type Json = Record<string, any>;

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
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Json, headers: res.headers };
}

async function newKey(name: string, limits: Record<string, number> = {}) {
  const res = await call("POST", "/v1/admin/keys", ADMIN, { name, role: "user", ...limits });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.id as string, key: res.body.key as string };
}

const jobData = async (id: string) => (await api.queue.getJob(id))?.data as JobData | undefined;

describe("POST /v1/batches", () => {
  // First in the file: the queue is empty, so the positions are exactly 1..1000.
  it("a batch of 1000 lands as 1000 jobs with queue positions 1..1000, added with one addBulk", async () => {
    const { id: owner, key } = await newKey("bulk");
    const addBulk = vi.spyOn(api.queue, "addBulk");
    const add = vi.spyOn(api.queue, "add");
    const prompts = Array.from({ length: 1000 }, (_, i) => `image number ${i}`);
    const res = await call("POST", "/v1/batches", key, { prompts, size: "256x256" });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(202);
    expect(addBulk).toHaveBeenCalledTimes(1);
    expect(addBulk.mock.calls[0]![0]).toHaveLength(1000);
    expect(add).not.toHaveBeenCalled();
    addBulk.mockRestore();
    add.mockRestore();

    const batch = res.body;
    expect(batch).toMatchObject({
      object: "batch",
      status: "queued",
      canceled_at: null,
      counts: { total: 1000, queued: 1000, running: 0, succeeded: 0, failed: 0, canceled: 0 },
    });
    expect(res.headers.get("location")).toBe(`/v1/batches/${batch.id}`);
    const ids = batch.job_ids as string[];
    expect(new Set(ids).size).toBe(1000);
    expect(await api.queue.getPrioritizedCount()).toBe(1000);

    // Every job, paged through the batch view in submit order: its prompt, its exact position.
    const seen: Json[] = [];
    let cursor: string | null = "0";
    while (cursor !== null) {
      const page = await call("GET", `/v1/batches/${batch.id}?limit=100&cursor=${cursor}`, key);
      expect(page.status).toBe(200);
      seen.push(...page.body.jobs.data);
      cursor = page.body.jobs.next_cursor;
    }
    expect(seen.map((j) => j.id)).toEqual(ids);
    expect(seen.map((j) => j.queue_position)).toEqual(ids.map((_, i) => i + 1));
    expect(seen.map((j) => j.params.prompt)).toEqual(prompts);
    expect(seen.every((j) => j.status === "queued" && j.params.size === "256x256")).toBe(true);

    // Each job carries the batch and the batch class, and has a single job's bookkeeping.
    const sample = [ids[0]!, ids[499]!, ids[999]!];
    for (const id of sample)
      expect(await jobData(id)).toMatchObject({ batch_id: batch.id, priority: "batch" });
    expect(await redis.scard(`${P}:jobs:pending:${owner}`)).toBe(1000);
    expect(await redis.zcard(`${P}:jobs:owner:${owner}`)).toBe(1000);
    expect(await redis.zmscore(`${P}:jobs:queued-since`, ...sample)).toEqual(
      sample.map(() => expect.any(String)),
    );
    // The key is now over max_pending (1000): the next submit is refused until jobs end.
    const more = await call("POST", "/v1/jobs", key, { prompt: "one more", size: "256x256" });
    expect(more.status).toBe(429);
    expect(more.body.error.code).toBe("too_many_pending_jobs");
  });

  it("the prompts form gives every prompt the shared parameters; the jobs form takes each job's own", async () => {
    const { key } = await newKey("forms");
    const prompts = await call("POST", "/v1/batches", key, {
      prompts: ["a red fox", "a blue whale"],
      size: "512x256",
      num_inference_steps: 8,
      seed: 7,
    });
    expect(prompts.status).toBe(202);
    const [a, b] = prompts.body.job_ids as string[];
    expect((await jobData(a!))!.params).toMatchObject({
      prompt: "a red fox",
      size: "512x256",
      num_inference_steps: 8,
      seed: 7,
    });
    expect((await jobData(b!))!.params).toMatchObject({ prompt: "a blue whale", size: "512x256" });
    expect((await jobData(a!))!.defaulted).toEqual(["guidance_scale"]);

    const jobs = await call("POST", "/v1/batches", key, {
      jobs: [
        { prompt: "interactive one", priority: "interactive", size: "256x256" },
        { prompt: "own hook", webhook: { url: "http://127.0.0.1:9/own" } },
        { prompt: "batch hook" },
      ],
      webhook: { url: "http://127.0.0.1:9/batch", events: ["succeeded"] },
    });
    expect(jobs.status, JSON.stringify(jobs.body)).toBe(202);
    const [x, y, z] = await Promise.all((jobs.body.job_ids as string[]).map(jobData));
    expect(x).toMatchObject({ priority: "interactive", params: { size: "256x256" } });
    expect(x!.webhook).toEqual({ url: "http://127.0.0.1:9/batch", events: ["succeeded"] });
    expect(y!.webhook!.url).toBe("http://127.0.0.1:9/own");
    expect(z).toMatchObject({ priority: "batch", webhook: { url: "http://127.0.0.1:9/batch" } });
  });

  it("one bad job refuses the whole batch, naming its index; nothing is queued or reserved", async () => {
    const { id: owner, key } = await newKey("all-or-nothing");
    const before = await api.queue.getPrioritizedCount();
    const jobs = Array.from({ length: 20 }, (_, i) => ({ prompt: `job ${i}`, size: "256x256" }));
    jobs[17] = { prompt: "bad size", size: "1000x1024" };
    const res = await call("POST", "/v1/batches", key, { jobs });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.details.map((d: Json) => d.path)).toEqual(["jobs.17.size"]);

    const prompts = await call("POST", "/v1/batches", key, { prompts: ["ok", "  "], size: "256x256" });
    expect(prompts.status).toBe(400);
    expect(prompts.body.error.details).toEqual([{ path: "prompts.1", message: "must not be empty" }]);

    const edits = await call("POST", "/v1/batches", key, { jobs: [{ kind: "edit", prompt: "x" }] });
    expect(edits.status).toBe(400);
    const tooMany = await call("POST", "/v1/batches", key, {
      prompts: Array.from({ length: 1001 }, () => "p"),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.details[0]).toMatchObject({
      path: "prompts",
      message: expect.stringContaining("at most 1000"),
    });
    const empty = await call("POST", "/v1/batches", key, { jobs: [] });
    expect(empty.status).toBe(400);

    expect(await api.queue.getPrioritizedCount()).toBe(before);
    expect(await redis.scard(`${P}:jobs:pending:${owner}`)).toBe(0);
    expect(await redis.zcard(`${P}:jobs:owner:${owner}`)).toBe(0);
    expect((await call("GET", "/v1/batches", key)).body.data).toEqual([]);
  });

  it("an Idempotency-Key replay returns the same batch; the key with another body is refused", async () => {
    const { key } = await newKey("idempotent");
    const body = { prompts: ["once", "only"], size: "256x256" };
    const headers = { "idempotency-key": "batch-retry-1" };
    const first = await call("POST", "/v1/batches", key, body, headers);
    expect(first.status).toBe(202);
    const again = await call("POST", "/v1/batches", key, body, headers);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.job_ids).toEqual(first.body.job_ids);
    expect((await call("GET", "/v1/batches", key)).body.data).toHaveLength(1);
    const other = await call("POST", "/v1/batches", key, { ...body, prompts: ["different"] }, headers);
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe("idempotency_key_reused");
  });
});

describe("reading and canceling a batch", () => {
  it("another key's batch is 404 batch_not_found, and not in its list; an admin reads it", async () => {
    const alice = await newKey("alice");
    const bob = await newKey("bob");
    const made = await call("POST", "/v1/batches", alice.key, { prompts: ["mine"], size: "256x256" });
    const id = made.body.id as string;
    for (const [method, path] of [
      ["GET", `/v1/batches/${id}`],
      ["POST", `/v1/batches/${id}/cancel`],
      ["GET", "/v1/batches/batch_01ARZ3NDEKTSV4RRFFQ69G5FAV"],
      ["GET", "/v1/batches/not-an-id"],
    ] as const) {
      const res = await call(method, path, bob.key);
      expect(res.status, path).toBe(404);
      expect(res.body.error.code).toBe("batch_not_found");
    }
    expect((await call("GET", "/v1/batches", bob.key)).body.data).toEqual([]);
    const listed = await call("GET", "/v1/batches", alice.key);
    expect(listed.body.data.map((b: Json) => b.id)).toEqual([id]);
    expect((await call("GET", `/v1/batches/${id}`, ADMIN)).status).toBe(200);
    // Still queued: Bob's attempt canceled nothing.
    expect((await call("GET", `/v1/batches/${id}`, alice.key)).body.counts.queued).toBe(1);
  });

  it("cancel cancels every queued job of the batch and answers the counts", async () => {
    const { id: owner, key } = await newKey("cancel");
    const made = await call("POST", "/v1/batches", key, {
      prompts: ["a", "b", "c", "d", "e"],
      size: "256x256",
    });
    const ids = made.body.job_ids as string[];
    // One job canceled on its own first: the batch cancel leaves it as it is.
    expect((await call("POST", `/v1/jobs/${ids[1]}/cancel`, key)).status).toBe(200);
    const res = await call("POST", `/v1/batches/${made.body.id}/cancel`, key);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: made.body.id,
      status: "canceled",
      canceled_at: expect.any(String),
      canceled_jobs: 4,
      counts: { total: 5, queued: 0, running: 0, canceled: 5 },
    });
    for (const id of ids) {
      const view = await call("GET", `/v1/jobs/${id}`, key);
      expect(view.body).toMatchObject({ status: "canceled", error: { code: "job_canceled" } });
    }
    expect(await redis.scard(`${P}:jobs:pending:${owner}`)).toBe(0);
    const twice = await call("POST", `/v1/batches/${made.body.id}/cancel`, key);
    expect(twice.body).toMatchObject({ canceled_jobs: 0, status: "canceled" });

    // A batch whose jobs all ended already (here: each canceled alone) has nothing to cancel.
    const ended = await call("POST", "/v1/batches", key, { prompts: ["x"], size: "256x256" });
    await call("POST", `/v1/jobs/${ended.body.job_ids[0]}/cancel`, key);
    const late = await call("POST", `/v1/batches/${ended.body.id}/cancel`, key);
    expect(late.body).toMatchObject({ canceled_jobs: 0, status: "completed", canceled_at: null });
  });

  it("a batch needs one free pending slot, and then holds all its jobs", async () => {
    const { key } = await newKey("limited", { max_pending: 3 });
    const big = await call("POST", "/v1/batches", key, {
      prompts: ["1", "2", "3", "4", "5"],
      size: "256x256",
    });
    expect(big.status).toBe(202);
    const refused = await call("POST", "/v1/batches", key, { prompts: ["6"], size: "256x256" });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("too_many_pending_jobs");
    expect((await call("GET", "/v1/batches", key)).body.data).toHaveLength(1);
  });
});

describe("fair share", () => {
  it("a batch's jobs take successive fair slots in the batch class: another key's batch job goes in after the batch's first, an interactive job ahead of all", async () => {
    const own = await startTestApi({ adminKey: ADMIN });
    try {
      const make = async (name: string) => {
        const res = await fetch(`${own.url}/v1/admin/keys`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
          body: JSON.stringify({ name, role: "user" }),
        });
        return ((await res.json()) as { key: string }).key;
      };
      const [heavy, light] = [await make("heavy"), await make("light")];
      const post = async (key: string, path: string, body: unknown) =>
        (await fetch(`${own.url}${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        }).then((r) => r.json())) as Json;
      const batch = await post(heavy, "/v1/batches", {
        prompts: ["h1", "h2", "h3", "h4", "h5"],
        size: "256x256",
      });
      // Fair share within the batch class: the light key's batch job goes right after the batch's first.
      const single = await post(light, "/v1/jobs", { prompt: "l1", size: "256x256", priority: "batch" });
      expect(single.queue_position).toBe(2);
      // An interactive job goes ahead of every batch job.
      const urgent = await post(light, "/v1/jobs", { prompt: "l2", size: "256x256" });
      expect(urgent.queue_position).toBe(1);
      const positions = await Promise.all(
        (batch.job_ids as string[]).map(async (id) => {
          const res = await fetch(`${own.url}/v1/jobs/${id}`, {
            headers: { authorization: `Bearer ${heavy}` },
          });
          return ((await res.json()) as Json).queue_position;
        }),
      );
      expect(positions).toEqual([2, 4, 5, 6, 7]);
    } finally {
      await own.close();
    }
  });
});
