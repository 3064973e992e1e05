import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createLogger,
  createWebhookQueue,
  type JobData,
  type JobResult,
  markQueued,
  QUEUES,
  readJobSnapshot,
  requestCancel,
  statusOf,
  UpstreamLease,
} from "@zimage/core";
import { FilesystemStore } from "@zimage/storage";
import { usePrivateRedis } from "@zimage/testkit";
import { ZImageClient } from "@zimage/zimage-client";
import { type RunningSimulator, startSimulator } from "@zimage/zimage-sim";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { IdleUnloader } from "./idle-unloader";
import { JobEndings } from "./job-endings";
import { JobLifecycle } from "./job-lifecycle";
import { LeaseHolder } from "./lease-holder";
import { WorkerMetrics } from "./metrics";
import { UpstreamMonitor } from "./upstream-monitor";

/** JobLifecycle on its own: real Redis and BullMQ, a real simulator, no worker process. */
const redis = usePrivateRedis();
const logger = createLogger({ level: "silent", name: "job-lifecycle-test" });
let sim: RunningSimulator;
let dataDir: string;
let n = 0;
const closers: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  sim = await startSimulator({ loadMs: 0, baseMs: 20, msPerStepMegapixel: 0, logLevel: "silent" });
  dataDir = await mkdtemp(join(tmpdir(), "zimage-lifecycle-"));
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});
afterAll(async () => {
  await sim.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function setup() {
  const prefix = `lc${n++}`;
  // BullMQ's blocking fetch needs a connection that retries forever.
  const conn = new Redis(redis.server.url, { maxRetriesPerRequest: null });
  closers.push(async () => conn.disconnect());
  const queue = new Queue<JobData, JobResult>(QUEUES.generate, { connection: conn, prefix });
  const worker = new Worker<JobData, JobResult>(QUEUES.generate, null, {
    connection: conn,
    prefix,
    autorun: false,
    lockDuration: 30_000,
  });
  const webhooks = createWebhookQueue(conn, prefix);
  closers.push(
    () => worker.close(),
    () => queue.close(),
    () => webhooks.close(),
  );
  const client = new ZImageClient({ baseUrl: sim.url, imageTimeoutMs: 10_000, controlTimeoutMs: 2_000 });
  const metrics = new WorkerMetrics();
  const common = { name: "gpu0", client, redis: conn, prefix, logger };
  const monitor = new UpstreamMonitor({ ...common, intervalMs: 60_000 });
  const unloader = new IdleUnloader({ ...common, idleMs: 0, monitor, metrics });
  const lease = new LeaseHolder({
    lease: new UpstreamLease(conn, prefix, "gpu0", "me", 60_000),
    ttlMs: 60_000,
    logger,
    onAcquired: async () => {},
    onLost: () => {},
  });
  closers.push(() => lease.release());
  const endings = new JobEndings({
    redis: conn,
    prefix,
    upstream: "gpu0",
    metrics,
    webhooks,
    webhookSchedule: [1],
    retentionSeconds: 600,
    logger,
  });
  const lifecycle = new JobLifecycle({
    upstream: "gpu0",
    client,
    store: new FilesystemStore({ root: dataDir }),
    redis: conn,
    prefix,
    logger,
    timings: {
      imageTimeoutMs: 10_000,
      coldImageTimeoutMs: 10_000,
      pollIntervalMs: 20,
      modelLoadRetries: 0,
      modelLoadRetryMs: 10,
    },
    lockDurationMs: 30_000,
    retentionSeconds: 600,
    metrics,
    monitor,
    unloader,
    lease,
    endings,
  });
  const data: JobData = {
    kind: "generate",
    owner: "u1",
    params: { prompt: `lifecycle ${prefix}`, size: "128x128", n: 1 },
  } as JobData;
  const add = (extra: Partial<JobData> = {}) => queue.add("generate", { ...data, ...extra }, { attempts: 3 });
  return { prefix, queue, worker, lease, lifecycle, add, metrics };
}

const requestsFor = (prompt: string) =>
  sim.stats().requests.filter((r) => r.path.startsWith("/v1/images") && r.prompt === prompt);

describe("JobLifecycle", () => {
  it("runs a job to completion under a valid lease", async () => {
    const t = await setup();
    expect(await t.lease.hold()).toBe(true);
    const added = await t.add();
    const job = (await t.worker.getNextJob("tok"))!;
    await t.lifecycle.run(job, "tok");
    await t.lifecycle.drain();
    expect(await t.queue.getJobState(added.id!)).toBe("completed");
    expect(requestsFor(`lifecycle ${t.prefix}`)).toHaveLength(1);
  });

  it("gives a job back to the queue, uncounted and unsent, when a later lease term exists", async () => {
    const t = await setup();
    expect(await t.lease.hold()).toBe(true);
    const added = await t.add();
    const job = (await t.worker.getNextJob("tok"))!;
    // Someone else took the upstream meanwhile (our key vanished, as after a pause past the TTL).
    await redis.conn.del(`${t.prefix}:upstream:gpu0:lease`);
    const other = new UpstreamLease(redis.conn, t.prefix, "gpu0", "other", 60_000);
    expect(await other.acquire()).toBe((t.lease.currentTerm ?? 0) + 1);
    await t.lifecycle.run(job, "tok");
    const back = (await t.queue.getJob(added.id!))!;
    expect(await back.getState()).toBe("waiting");
    expect(back.attemptsMade).toBe(0);
    expect(requestsFor(`lifecycle ${t.prefix}`)).toHaveLength(0);
  });

  it("a job canceled while running and then handed back to the queue still reads canceled", async () => {
    const t = await setup();
    expect(await t.lease.hold()).toBe(true);
    const added = await t.add();
    const job = (await t.worker.getNextJob("tok"))!;
    expect(await requestCancel(redis.conn, t.prefix, added.id!, 600)).toMatchObject({ canceled: true });
    await redis.conn.del(`${t.prefix}:upstream:gpu0:lease`);
    await new UpstreamLease(redis.conn, t.prefix, "gpu0", "other", 60_000).acquire();
    await t.lifecycle.run(job, "tok");
    const snapshot = (await readJobSnapshot(t.queue, redis.conn, t.prefix, added.id!))!;
    expect(snapshot.state).toBe("waiting");
    expect(statusOf(snapshot.state, snapshot.failedReason, !!snapshot.cancelRequestedAt)).toBe("canceled");
  });

  it("discards the result of a job canceled while running, and a late cancel is refused once it succeeded", async () => {
    const t = await setup();
    expect(await t.lease.hold()).toBe(true);
    const first = await t.add();
    const job = (await t.worker.getNextJob("tok"))!;
    expect(await requestCancel(redis.conn, t.prefix, first.id!, 600)).toMatchObject({ canceled: true });
    await t.lifecycle.run(job, "tok");
    await t.lifecycle.drain();
    const canceled = (await t.queue.getJob(first.id!))!;
    expect(await canceled.getState()).toBe("failed");
    expect(JSON.parse(canceled.failedReason).code).toBe("job_canceled");

    const second = await t.add();
    const next = (await t.worker.getNextJob("tok"))!;
    await t.lifecycle.run(next, "tok");
    await t.lifecycle.drain();
    expect(await t.queue.getJobState(second.id!)).toBe("completed");
    expect(await requestCancel(redis.conn, t.prefix, second.id!, 600)).toEqual({
      canceled: false,
      decided: "succeeded",
    });
  });

  it("never sends a job fetched after its deadline: it ends canceled with deadline_exceeded", async () => {
    const t = await setup();
    expect(await t.lease.hold()).toBe(true);
    // The deadline passed while the job waited (no sweep runs here: the dispatcher's own check).
    const late = await t.add({ deadline_at: Date.now() - 1 });
    // As a submit's reservation leaves it: the fair clock waits for the job while it is queued.
    await markQueued(redis.conn, t.prefix, late.id!, Date.now());
    const job = (await t.worker.getNextJob("tok"))!;
    await t.lifecycle.run(job, "tok");
    await t.lifecycle.drain();
    const snapshot = (await readJobSnapshot(t.queue, redis.conn, t.prefix, late.id!))!;
    expect(snapshot.state).toBe("failed");
    expect(JSON.parse(snapshot.failedReason!).code).toBe("deadline_exceeded");
    expect(statusOf(snapshot.state, snapshot.failedReason)).toBe("canceled");
    expect(requestsFor(`lifecycle ${t.prefix}`)).toHaveLength(0);
    // It never ran, yet it left queued-since: an entry there would hold the fair clock for minutes.
    expect(await redis.conn.zscore(`${t.prefix}:jobs:queued-since`, late.id!)).toBeNull();
    // A job whose deadline is still ahead runs.
    const inTime = await t.add({ deadline_at: Date.now() + 60_000 });
    const next = (await t.worker.getNextJob("tok"))!;
    await t.lifecycle.run(next, "tok");
    await t.lifecycle.drain();
    expect(await t.queue.getJobState(inTime.id!)).toBe("completed");
    expect(requestsFor(`lifecycle ${t.prefix}`)).toHaveLength(1);
  });
});
