import { type PrivateRedis, startRedis } from "@zimage/testkit";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newJobId } from "../ids";
import { createRedis } from "../redis";
import { addJob } from "./add-job";
import {
  estimateEta,
  getDispatchStats,
  recordJobDuration,
  recordLoadDuration,
  setUpstreamCount,
} from "./dispatch-stats";
import { getJobSnapshot } from "./get-job-snapshot";
import { createJobQueue } from "./job-queue";
import { queuePosition } from "./queue-position";

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

  it("estimates eta from the rolling job duration and upstream count", async () => {
    expect(estimateEta({ avgJobMs: null, avgLoadMs: null, upstreams: 1 }, 3, null)).toBeNull();
    await recordJobDuration(conn, "t", 10_000);
    await setUpstreamCount(conn, "t", 2);
    const stats = await getDispatchStats(conn, "t");
    expect(stats).toEqual({ avgJobMs: 10_000, avgLoadMs: null, upstreams: 2 });
    expect(estimateEta(stats, 3, null)).toBe(20);
    expect(estimateEta(stats, null, 4_000)).toBe(6);
    await recordLoadDuration(conn, "t", 120_000);
    const cold = await getDispatchStats(conn, "t");
    // With every upstream cold, the model load comes first.
    expect(estimateEta(cold, 3, null, true)).toBe(140);
    expect(estimateEta(cold, 3, null, false)).toBe(20);
  });
});
