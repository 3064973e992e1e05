import type { BatchView } from "@zimage/core";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Batch, type Job, ZImageApiError, ZImageGateway } from "../src/index.js";

// The SDK's Batch is written by hand for a dependency-free package; these fail to compile if it drifts.
export const toCore = (batch: Batch): BatchView => batch;
export const toSdk = (view: BatchView): Batch => view;

/** `client.batches` against a running gateway (api, worker, simulator, private Redis). */
const ADMIN = "admin-key-for-the-sdk-batch-tests-0123456789";
let cluster: Cluster;
let alice: ZImageGateway;
let bob: ZImageGateway;

beforeAll(async () => {
  cluster = await startCluster({ sim: { loadMs: 0, baseMs: 150 }, env: { ADMIN_API_KEY: ADMIN } });
  const admin = new ZImageGateway({ baseUrl: cluster.apiUrl, apiKey: ADMIN });
  alice = new ZImageGateway({
    baseUrl: cluster.apiUrl,
    apiKey: (await admin.keys.create({ name: "alice" })).key,
  });
  bob = new ZImageGateway({
    baseUrl: cluster.apiUrl,
    apiKey: (await admin.keys.create({ name: "bob" })).key,
  });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe("client.batches", () => {
  it("create, waitFor with progress, jobs in order, list, and another key's 404", async () => {
    const created = await alice.batches.create({
      prompts: ["sdk one", "sdk two", "sdk three"],
      size: "128x128",
    });
    expect(created).toMatchObject({ object: "batch", status: "queued", counts: { total: 3, queued: 3 } });
    expect(created.job_ids).toHaveLength(3);
    const readings: Batch[] = [];
    const done = await alice.batches.waitFor(created.id, {
      intervalMs: 100,
      timeoutMs: 60_000,
      onProgress: (b) => readings.push(b),
    });
    expect(done.status).toBe("completed");
    expect(done.counts).toEqual({ total: 3, queued: 0, running: 0, succeeded: 3, failed: 0, canceled: 0 });
    expect(readings.at(-1)!.status).toBe("completed");
    const jobs: Job[] = [];
    for await (const job of alice.batches.jobs(created.id)) jobs.push(job);
    expect(jobs.map((j) => j.id)).toEqual(created.job_ids);
    expect(jobs.map((j) => j.params.prompt)).toEqual(["sdk one", "sdk two", "sdk three"]);
    expect((await alice.download(jobs[0]!.id)).byteLength).toBeGreaterThan(0);
    expect((await alice.batches.list()).data.map((b) => b.id)).toContain(created.id);

    const err = await bob.batches.get(created.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZImageApiError);
    expect(err).toMatchObject({ status: 404, code: "batch_not_found" });
  });

  it("a refused batch names the bad job; cancel answers how many jobs it canceled", async () => {
    const err = await alice.batches
      .create({ jobs: [{ prompt: "fine" }, { prompt: "bad", n: 9 }] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, code: "invalid_request" });
    expect(JSON.stringify((err as ZImageApiError).details)).toContain("jobs.1.n");

    const slow = await alice.batches.create({
      jobs: Array.from({ length: 4 }, (_, i) => ({
        prompt: `later ${i}`,
        size: "128x128",
        num_inference_steps: 100,
      })),
    });
    const canceled = await alice.batches.cancel(slow.id);
    expect(canceled.status).toBe("canceled");
    // A job that finished before the cancel keeps its outcome; every other one was canceled by it.
    expect(canceled.counts.canceled + canceled.counts.succeeded).toBe(4);
    expect(canceled.canceled_jobs).toBe(canceled.counts.canceled);
    expect(canceled.canceled_jobs).toBeGreaterThanOrEqual(3);
    expect((await alice.batches.waitFor(slow.id)).status).toBe("canceled");
  });
});
