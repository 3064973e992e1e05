import { type PrivateRedis, startRedis } from "@zimage/testkit";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newJobId } from "../ids";
import { jobCost } from "../job-cost";
import { createRedis } from "../redis";
import { addJob } from "./add-job";
import { fitRate, readEtaRates, recordJobTiming } from "./eta-rates";
import { getJobSnapshot } from "./get-job-snapshot";
import { createJobQueue } from "./job-queue";
import { queuePosition, readQueuePlace } from "./queue-position";

let redis: PrivateRedis;
let conn: Redis;
let queue: Queue;

beforeAll(async () => {
  redis = await startRedis();
  conn = createRedis(redis.url);
  queue = createJobQueue({
    connection: conn,
    prefix: "t",
    retentionSeconds: 60,
    attempts: 1,
    backoffMs: 1000,
  });
});
afterAll(async () => {
  await queue?.close();
  conn?.disconnect();
  await redis?.stop();
});

describe("job store", () => {
  it("numbers queued jobs from 1 in the order they will run", async () => {
    const ids = [newJobId(), newJobId(), newJobId()];
    for (const id of ids)
      await addJob(queue, id, { kind: "generate", owner: "u", params: { prompt: id } as never });
    const positions = await Promise.all(ids.map((id) => queuePosition(conn, queue, id)));
    expect(positions).toEqual([1, 2, 3]);
    expect(await queuePosition(conn, queue, newJobId())).toBeNull();
  });

  it("orders a queue of mixed priorities by priority, then arrival", async () => {
    const q = createJobQueue({
      connection: conn,
      prefix: "mixed",
      retentionSeconds: 60,
      attempts: 1,
      backoffMs: 1000,
    });
    const add = async (priority: number) => {
      const id = newJobId();
      await addJob(q, id, { kind: "generate", owner: "u", params: { prompt: id } as never }, priority);
      return id;
    };
    const a1 = await add(1);
    const a2 = await add(2);
    const a3 = await add(3);
    const b1 = await add(1);
    const c2 = await add(2);
    const positions = await Promise.all([a1, b1, a2, c2, a3].map((id) => queuePosition(conn, q, id)));
    expect(positions).toEqual([1, 2, 3, 4, 5]);
    await q.close();
  });

  it("reads a job back as a snapshot, and null for an unknown id", async () => {
    const id = newJobId();
    await addJob(queue, id, { kind: "generate", owner: "u", params: { prompt: "p" } as never });
    const snap = await getJobSnapshot(queue, id);
    expect(snap).toMatchObject({ id, state: "prioritized", data: { kind: "generate", owner: "u" } });
    expect(await getJobSnapshot(queue, newJobId())).toBeNull();
  });

  it("reads the jobs ahead in run order with their cost, computed in Lua as jobCost does", async () => {
    const q = createJobQueue({
      connection: conn,
      prefix: "cost",
      retentionSeconds: 60,
      attempts: 1,
      backoffMs: 1000,
    });
    const params = [
      { prompt: "a", size: "2048x1024", num_inference_steps: 8, n: 3 },
      { prompt: "b" },
      { prompt: "c", size: "128x2048", num_inference_steps: 100, n: 1 },
    ];
    for (const [i, p] of params.entries())
      await addJob(q, newJobId(), { kind: i === 1 ? "edit" : "generate", owner: "u", params: p as never });
    const last = newJobId();
    await addJob(q, last, { kind: "generate", owner: "u", params: { prompt: "d" } as never });
    const place = await readQueuePlace(conn, q, last);
    expect(place).toMatchObject({ where: "prioritized", position: 4, aheadCount: 3, delayedUntil: null });
    expect(place.ahead.map((a) => a.kind)).toEqual(["generate", "edit", "generate"]);
    place.ahead.forEach((a, i) => {
      expect(a.cost).toBeCloseTo(jobCost(params[i] as never), 9);
    });
    // Only `examine` jobs are read, whatever the depth; the count is exact.
    const capped = await readQueuePlace(conn, q, last, { examine: 2 });
    expect(capped.aheadCount).toBe(3);
    expect(capped.ahead).toHaveLength(2);
    await q.close();
  });

  it("gives a retry waiting out its backoff a position behind its priority, and when it returns", async () => {
    const q = createJobQueue({
      connection: conn,
      prefix: "delayed",
      retentionSeconds: 60,
      attempts: 1,
      backoffMs: 1000,
    });
    const first = newJobId();
    await addJob(q, first, { kind: "generate", owner: "u", params: { prompt: "x" } as never }, 1);
    await addJob(q, newJobId(), { kind: "generate", owner: "u", params: { prompt: "y" } as never }, 5);
    const retry = newJobId();
    const at = Date.now();
    await q.add(
      "generate",
      { kind: "generate", owner: "u", params: { prompt: "r" } },
      {
        jobId: retry,
        priority: 2,
        delay: 60_000,
      },
    );
    const place = await readQueuePlace(conn, q, retry);
    expect(place.where).toBe("delayed");
    expect(place.position).toBe(2);
    expect(place.delayedUntil).toBeGreaterThanOrEqual(at + 60_000);
    expect(place.delayedUntil).toBeLessThan(at + 65_000);
    await q.close();
  });

  it("learns each upstream's inference time as overhead + rate × cost, and its load time", async () => {
    // Exact points of 500 ms + 20 ms per unit of cost on "a"; "b" is four times slower, one cost seen.
    for (const x of [10, 50, 200, 20, 100]) {
      await recordJobTiming(conn, "t", "a", { cost: x, inferenceMs: 500 + 20 * x, loadMs: 0 });
    }
    await recordJobTiming(conn, "t", "b", { cost: 50, inferenceMs: 4 * (500 + 20 * 50), loadMs: 90_000 });
    await recordJobTiming(conn, "t", "b", { cost: 50, inferenceMs: 4 * (500 + 20 * 50), loadMs: 30_000 });
    const rates = await readEtaRates(conn, "t");
    expect(rates.get("a")!.inference!.overheadMs).toBeCloseTo(500, 3);
    expect(rates.get("a")!.inference!.msPerCost).toBeCloseTo(20, 6);
    expect(rates.get("a")!.loadMs).toBeNull();
    // One cost seen: proportional, exact at that cost.
    expect(rates.get("b")!.inference).toEqual({ overheadMs: 0, msPerCost: 120 });
    // Loads: an exponentially weighted average (weight 0.3).
    expect(rates.get("b")!.loadMs).toBe(72_000);
    expect(fitRate({ w: 0, x: 0, y: 0, xx: 0, xy: 0 })).toBeNull();
  });
});
