import { createLogger, createWebhookQueue, type JobData, type JobResult, QUEUES } from "@zimage/core";
import { usePrivateRedis } from "@zimage/testkit";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { EndReconciler } from "./end-reconciler";
import { JobEndings } from "./job-endings";
import { WorkerMetrics } from "./metrics";

const redis = usePrivateRedis();
const logger = createLogger({ level: "silent", name: "end-reconciler-test" });
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

describe("EndReconciler", () => {
  it("announces, once, an end whose dispatcher died between moving the job and announcing it", async () => {
    const prefix = "rec";
    const conn = new Redis(redis.server.url, { maxRetriesPerRequest: null });
    const queue = new Queue<JobData, JobResult>(QUEUES.generate, { connection: conn, prefix });
    const worker = new Worker<JobData, JobResult>(QUEUES.generate, null, { connection: conn, prefix });
    const webhooks = createWebhookQueue(conn, prefix);
    closers.push(
      () => worker.close(),
      () => queue.close(),
      () => webhooks.close(),
    );
    closers.push(async () => conn.disconnect());
    const metrics = new WorkerMetrics();
    const endings = new JobEndings({
      redis: conn,
      prefix,
      upstream: "unknown",
      metrics,
      webhooks,
      webhookSchedule: [1],
      retentionSeconds: 600,
      logger,
    });
    const reconciler = new EndReconciler({ redis: conn, prefix, queue, endings, intervalMs: 60_000, logger });
    const data = {
      kind: "generate",
      owner: "u1",
      params: { prompt: "orphaned end", size: "128x128", n: 1 },
      webhook: { url: "https://hooks.example/x", events: ["succeeded"] },
    } as JobData;
    const added = await queue.add("generate", data);
    await conn.sadd(`${prefix}:jobs:pending:u1`, added.id!);
    const job = (await worker.getNextJob("tok"))!;
    const result: JobResult = { images: [], upstream: "gpu7", load_ms: 0, inference_ms: 5 };
    // The move, and then nothing: the process died before announcing it.
    await job.moveToCompleted(result, "tok", false);

    // Within the grace period the normal path still may announce: left alone.
    expect(await reconciler.sweep(Date.now())).toBe(0);
    const later = Date.now() + 20_000;
    expect(await reconciler.sweep(later)).toBe(1);
    expect(await reconciler.sweep(later)).toBe(0);
    expect(await webhooks.getJob(`${added.id}-succeeded`)).toBeDefined();
    expect(await conn.sismember(`${prefix}:jobs:pending:u1`, added.id!)).toBe(0);
    const exposition = await metrics.registry.metrics();
    expect(exposition).toMatch(/zimage_gateway_jobs_completed_total\{[^}]*upstream="gpu7"[^}]*\} 1/);
  });
});
