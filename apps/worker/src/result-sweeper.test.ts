import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addJob, createJobQueue, createLogger, createRedis, indexJob, newJobId, QUEUES } from "@zimage/core";
import { createStore } from "@zimage/storage";
import { usePrivateRedis } from "@zimage/testkit";
import { Worker } from "bullmq";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ResultSweeper } from "./result-sweeper";

const redis = usePrivateRedis();
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "zimage-sweeper-"));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** Queues `n` jobs of `owner` (indexed as the api does) and finishes them, as a dispatcher would. */
async function finishedJobs(prefix: string, owner: string, n: number): Promise<string[]> {
  const queue = createJobQueue({
    connection: redis.conn,
    prefix,
    retentionSeconds: 3600,
    attempts: 1,
    backoffMs: 1000,
  });
  const connection = createRedis(redis.server.url, "worker");
  const worker = new Worker(QUEUES.generate, null, { connection, prefix });
  const ids: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const id = newJobId();
      await indexJob(redis.conn, prefix, owner, id);
      await addJob(queue, id, { kind: "generate", owner, params: { prompt: `p${i}` } } as never);
      ids.push(id);
    }
    for (let i = 0; i < n; i++) {
      const job = await worker.getNextJob("token");
      if (!job) throw new Error("no job to finish");
      if (i % 2 === 0) await job.moveToCompleted({ images: [] }, "token", false);
      else await job.moveToFailed(new Error("upstream said no"), "token", false);
    }
  } finally {
    await worker.close();
    connection.disconnect();
    await queue.close();
  }
  return ids;
}

it("removes swept jobs from the listing indexes (jobs:all and the owner's)", async () => {
  const prefix = "sweep-index";
  const ids = await finishedJobs(prefix, "alice", 4);
  expect(await redis.conn.zcard(`${prefix}:jobs:all`)).toBe(4);

  const sweeper = new ResultSweeper({
    connection: redis.conn,
    prefix,
    store: createStore({ kind: "fs", root: dataDir }),
    ttlMs: 0,
    intervalMs: 60_000,
    owner: "test",
    logger: createLogger({ name: "sweeper-test", level: "silent" }),
  });
  try {
    expect(await sweeper.sweep()).toBe(4);
  } finally {
    await sweeper.stop();
  }
  expect(await redis.conn.zcard(`${prefix}:jobs:all`)).toBe(0);
  expect(await redis.conn.zcard(`${prefix}:jobs:owner:alice`)).toBe(0);
  // The 410 marker stays: it is what the api answers from once the job is gone.
  expect(await redis.conn.get(`${prefix}:job:${ids[0]}:gone`)).toBe("alice");
});
