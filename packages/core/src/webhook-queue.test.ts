import { type PrivateRedis, startRedis } from "@zimage/testkit";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { newJobId } from "./ids";
import type { JobData } from "./job-record";
import { createRedis } from "./redis";
import { addJob } from "./store/add-job";
import { recordJobTiming } from "./store/eta-rates";
import { createJobQueue } from "./store/job-queue";
import { createWebhookQueue, type DeliveryData, notifyWebhook } from "./webhook-queue";

let redis: PrivateRedis;
let conn: Redis;
let jobs: Queue;
let webhooks: Queue<DeliveryData>;
beforeAll(async () => {
  redis = await startRedis();
  conn = createRedis(redis.url);
  jobs = createJobQueue({
    connection: conn,
    prefix: "w",
    retentionSeconds: 60,
    attempts: 1,
    backoffMs: 1000,
  });
  webhooks = createWebhookQueue(conn, "w");
  await recordJobTiming(conn, "w", "gpu", { cost: 52.4288, inferenceMs: 10_000, loadMs: null });
});
afterAll(async () => {
  await jobs?.close();
  await webhooks?.close();
  conn?.disconnect();
  await redis?.stop();
});

const data = (prompt: string): JobData => ({
  kind: "generate",
  owner: "u",
  params: { prompt } as never,
  webhook: { url: "https://example.com/hook", events: ["queued"] },
});

it("a job.queued delivery carries the job's queue position and ETA", async () => {
  const first = newJobId();
  const second = newJobId();
  await addJob(jobs, first, data("first"));
  await addJob(jobs, second, data("second"));
  await notifyWebhook(webhooks, second, data("second"), "queued", [1]);
  const delivery = await webhooks.getJob(`${second}-queued`);
  expect(delivery?.data.view).toMatchObject({ status: "queued", queue_position: 2, eta_seconds: 20 });
});

it("a job already taken when its job.queued is built was the next one: position 1", async () => {
  const gone = newJobId();
  // Never queued here, as if taken and finished before the notification read its place.
  const snapshot = {
    id: gone,
    data: data("gone"),
    state: "prioritized" as const,
    timestamp: Date.now(),
    attemptsMade: 0,
    progress: null,
    returnvalue: null,
  };
  await notifyWebhook(webhooks, gone, data("gone"), "queued", [1], snapshot);
  const delivery = await webhooks.getJob(`${gone}-queued`);
  expect(delivery?.data.view).toMatchObject({ status: "queued", queue_position: 1 });
});
