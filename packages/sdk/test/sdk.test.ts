import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { DeliveryAttempt as CoreDeliveryAttempt, JobView, UpstreamState } from "@zimage/core";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { freePort, makePng, pngSize, waitFor } from "@zimage/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DeliveryAttempt,
  type Job,
  type Upstream,
  verifyWebhook,
  ZImageApiError,
  ZImageGateway,
  ZImageWaitTimeoutError,
  ZImageWebhookError,
} from "../src/index.js";

// The SDK's Job is written by hand for a dependency-free package; these fail to compile if it drifts.
export const toCore = (job: Job): JobView => job;
export const toSdk = (view: JobView): Job => view;
export const attemptToCore = (a: DeliveryAttempt): CoreDeliveryAttempt => a;
export const attemptToSdk = (a: CoreDeliveryAttempt): DeliveryAttempt => a;
// Upstream keeps an index signature for fields added later, so only this direction is checked.
export const upstreamToCore = (u: Upstream): UpstreamState => u;

/** The SDK against a running gateway (api, worker, simulator, private Redis): every method. */
const ADMIN = "admin-key-for-the-sdk-tests-0123456789abcdef";
let cluster: Cluster;
let admin: ZImageGateway;
let user: ZImageGateway;
let hooks: { url: string; got: Array<{ headers: IncomingHttpHeaders; body: string }>; close(): void };

beforeAll(async () => {
  cluster = await startCluster({
    sim: { baseMs: 150 },
    env: { ADMIN_API_KEY: ADMIN, WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_RETRY_SCHEDULE: "0.2,0.2" },
  });
  admin = new ZImageGateway({ baseUrl: cluster.apiUrl, apiKey: ADMIN });
  const created = await admin.keys.create({ name: "sdk-user" });
  user = new ZImageGateway({ baseUrl: cluster.apiUrl, apiKey: created.key });
  const got: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  hooks = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}, 60_000);

afterAll(async () => {
  hooks?.close();
  await cluster?.stop();
});

describe("jobs", () => {
  it("generate, waitFor, get and download", async () => {
    const queued = await user.generate({ prompt: "a red kite", size: "160x128", num_inference_steps: 4 });
    expect(["queued", "running"]).toContain(queued.status);
    const done = await user.waitFor(queued.id, { timeoutMs: 30_000 });
    expect(done.status).toBe("succeeded");
    expect(done.result?.images[0]).toMatchObject({ width: 160, height: 128 });
    expect((await user.get(queued.id)).status).toBe("succeeded");
    expect(pngSize(Buffer.from(await user.download(queued.id, 0)))).toEqual({ width: 160, height: 128 });
  });

  it("retry resubmits the same parameters; delete cancels an unfinished job and deletes a finished one", async () => {
    // As the admin, so this test's canceled job stays out of the user's listing tested below.
    const first = await admin.generate(
      { prompt: "once more", size: "192x128", seed: 3 },
      { waitSeconds: 30 },
    );
    expect(first.status).toBe("succeeded");
    const again = await admin.retry(first.id);
    expect(again.id).not.toBe(first.id);
    expect(again.params).toMatchObject({ prompt: "once more", size: "192x128", seed: 3 });
    const done = await admin.waitFor(again.id, { timeoutMs: 30_000 });
    expect(done.result?.images[0]).toMatchObject({ width: 192, height: 128 });

    expect(await admin.delete(first.id)).toBeNull();
    await expect(admin.get(first.id)).rejects.toMatchObject({ status: 410, code: "job_gone" });
    const queued = await admin.generate({ prompt: "cancel me by delete", size: "128x128" });
    const canceled = await admin.delete(queued.id);
    if (canceled) expect(canceled.status).toBe("canceled");
    else await expect(admin.get(queued.id)).rejects.toMatchObject({ status: 410 }); // it had already run
  });

  it("edit uploads the image as multipart and keeps its shape", async () => {
    const job = await user.edit({ image: makePng(64, 96), filename: "in.png" }, { prompt: "sepia", n: 2 });
    const done = await user.waitFor(job.id, { timeoutMs: 30_000 });
    expect(done.kind).toBe("edit");
    // The input's size fitted to the bounds (issue #17): 64x96 is under the minimum, so 128x192.
    expect(done.result?.images.map((i) => [i.width, i.height])).toEqual([
      [128, 192],
      [128, 192],
    ]);
  });

  it("generate with waitSeconds answers with the finished job", async () => {
    const job = await user.generate({ prompt: "quick", size: "128x128" }, { waitSeconds: 20 });
    expect(job.status).toBe("succeeded");
  });

  it("replays a submit with the same idempotency key instead of queueing it twice", async () => {
    const a = await user.generate({ prompt: "once" }, { idempotencyKey: "sdk-test-once" });
    const b = await user.generate({ prompt: "once" }, { idempotencyKey: "sdk-test-once" });
    expect(b.id).toBe(a.id);
    await user.waitFor(a.id, { timeoutMs: 30_000 });
  });

  it("events streams the job's changes until it finishes", async () => {
    const job = await user.generate({ prompt: "streamed", size: "128x128" });
    const seen: string[] = [];
    for await (const view of user.events(job.id)) seen.push(view.status);
    expect(seen.at(-1)).toBe("succeeded");
    expect(seen.length).toBeGreaterThanOrEqual(1);
  });

  it("cancel a queued job, and list and listAll page through jobs", async () => {
    const sim = cluster.sims[0]!;
    sim.setFaults({ latencyMs: 1500 });
    try {
      const first = await user.generate({ prompt: "busy" });
      await waitFor(async () => (await user.get(first.id)).status === "running", {
        what: "first job running",
      });
      const second = await user.generate({ prompt: "to cancel" });
      const canceled = await user.cancel(second.id);
      expect(canceled.status).toBe("canceled");
      const page = await user.list({ limit: 2 });
      expect(page.data.map((j) => j.id)).toEqual([second.id, first.id]);
      expect(page.has_more).toBe(true);
      const onlyCanceled = await user.list({ status: "canceled" });
      expect(onlyCanceled.data.map((j) => j.id)).toEqual([second.id]);
      const all: string[] = [];
      for await (const j of user.listAll({ limit: 3 })) all.push(j.id);
      expect(all.slice(0, 2)).toEqual([second.id, first.id]);
      expect(new Set(all).size).toBe(all.length);
      expect(all.length).toBeGreaterThanOrEqual(7);
      await user.waitFor(first.id, { timeoutMs: 30_000 });
    } finally {
      sim.setFaults({ latencyMs: 0 });
    }
  });

  it("waitFor gives up at its timeout with a typed error, and the job carries on", async () => {
    const sim = cluster.sims[0]!;
    sim.setFaults({ latencyMs: 2500 });
    try {
      const job = await user.generate({ prompt: "slow" });
      const err = await user.waitFor(job.id, { timeoutMs: 1000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ZImageWaitTimeoutError);
      expect((err as ZImageWaitTimeoutError).jobId).toBe(job.id);
      sim.setFaults({ latencyMs: 0 });
      expect((await user.waitFor(job.id, { timeoutMs: 30_000 })).status).toBe("succeeded");
    } finally {
      sim.setFaults({ latencyMs: 0 });
    }
  });

  it("throws typed errors with the gateway's code", async () => {
    const bad = await user.generate({ prompt: "x", size: "1000x1000" }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ZImageApiError);
    expect(bad).toMatchObject({ status: 400, code: "invalid_request" });
    // The message names what is wrong, so a script can print it as it is.
    expect((bad as ZImageApiError).message).toMatch(/size: .*divisible by 32/);
    expect((bad as ZImageApiError).details).toEqual([{ path: "size", message: expect.any(String) }]);
    const missing = await user.get("01JZZZZZZZZZZZZZZZZZZZZZZZ").catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404, code: "job_not_found" });
  });
});

describe("retries", () => {
  it("waits out Retry-After on 429 and then gets the job in", async () => {
    const key = await admin.keys.create({ name: "one-at-a-time", max_pending: 1 });
    const statuses: number[] = [];
    const counting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if ((init?.method ?? "GET") === "POST") statuses.push(res.status);
      return res;
    };
    const limited = new ZImageGateway({
      baseUrl: cluster.apiUrl,
      apiKey: key.key,
      fetch: counting,
      maxRetries: 10,
    });
    cluster.sims[0]!.setFaults({ latencyMs: 800 });
    try {
      const first = await limited.generate({ prompt: "holds the only slot" });
      const second = await limited.generate({ prompt: "waits for it" });
      expect(statuses[0]).toBe(202);
      expect(statuses).toContain(429);
      expect(statuses.at(-1)).toBe(202);
      expect(second.id).not.toBe(first.id);
      await limited.waitFor(second.id, { timeoutMs: 30_000 });
    } finally {
      cluster.sims[0]!.setFaults({ latencyMs: 0 });
    }
  });
});

describe("webhooks", () => {
  it("the secret verifies a delivery; a tampered one or the rotated-away secret does not", async () => {
    const secret = await user.webhookSecret();
    expect(secret).toMatch(/^whsec_/);
    const job = await user.generate({ prompt: "call me", size: "128x128", webhook: { url: hooks.url } });
    await user.waitFor(job.id, { timeoutMs: 30_000 });
    const delivery = await waitFor(() => hooks.got.find((d) => d.body.includes(job.id)), {
      what: "the webhook delivery",
    });
    const headers = delivery.headers as Record<string, string>;
    const payload = verifyWebhook(delivery.body, headers, secret);
    expect(payload).toMatchObject({ type: "job.succeeded", data: { id: job.id, status: "succeeded" } });
    expect(() => verifyWebhook(delivery.body.replace("succeeded", "failed"), headers, secret)).toThrow(
      ZImageWebhookError,
    );
    const attempts = await waitFor(async () => {
      const list = await user.deliveries(job.id);
      return list.length > 0 ? list : null;
    });
    expect(attempts[0]).toMatchObject({ event: "succeeded", status_code: 204 });
    const rotated = await user.rotateWebhookSecret();
    expect(rotated).not.toBe(secret);
    expect(() => verifyWebhook(delivery.body, headers, rotated)).toThrow(ZImageWebhookError);
  });
});

describe("webhook redelivery", () => {
  it("lists an exhausted delivery among the dead letters and redelivers it", async () => {
    // Nothing listens there: every attempt is refused, and the delivery ends after its three tries.
    const url = `http://127.0.0.1:${await freePort()}/hook`;
    const job = await user.generate({ prompt: "nobody home", size: "128x128", webhook: { url } });
    const letter = await waitFor(
      async () => (await admin.deadLetters({ limit: 100 })).data.find((d) => d.job_id === job.id) ?? null,
      { timeoutMs: 30_000, what: "the dead letter" },
    );
    expect([letter.webhook_id, letter.event, letter.attempts, letter.error]).toEqual([
      `${job.id}-succeeded`,
      "succeeded",
      3,
      expect.stringMatching(/ECONNREFUSED/),
    ]);
    expect(await user.deadLetters().catch((e: unknown) => e)).toMatchObject({ status: 403 });
    const redelivery = await user.redeliver(job.id, "succeeded");
    expect(redelivery).toEqual({
      object: "webhook.redelivery",
      webhook_id: `${job.id}-succeeded`,
      job_id: job.id,
      event: "succeeded",
      redelivery: 1,
      previous_state: "exhausted",
    });
    const attempts = await waitFor(async () => {
      const list = await user.deliveries(job.id);
      return list.some((a) => a.redelivery === 1) ? list : null;
    });
    expect(new Set(attempts.map((a) => a.webhook_id))).toEqual(new Set([`${job.id}-succeeded`]));
    expect(await user.redeliver(job.id, "queued").catch((e: unknown) => e)).toMatchObject({
      status: 404,
      code: "delivery_not_found",
    });
  });
});

describe("admin", () => {
  it("manages keys, and a revoked key is refused", async () => {
    const created = await admin.keys.create({ name: "temp", rate_per_minute: 5 });
    expect(created.key).toMatch(/^zk_/);
    expect((await admin.keys.list()).map((k) => k.name)).toContain("temp");
    expect((await admin.keys.setLimits(created.id, { max_pending: 3 })).max_pending).toBe(3);
    await admin.keys.revoke(created.id);
    const refused = await new ZImageGateway({ baseUrl: cluster.apiUrl, apiKey: created.key })
      .list()
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 401, code: "invalid_api_key" });
    const forbidden = await user.keys.list().catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ status: 403, code: "forbidden" });
  });

  it("submits with a priority class and a deadline, and a batch-only key is refused interactive", async () => {
    const job = await user.generate({
      prompt: "nightly",
      size: "256x256",
      priority: "batch",
      cancel_after: 600,
    });
    expect(job.priority).toBe("batch");
    expect(Date.parse(job.deadline_at!) - Date.parse(job.created_at)).toBeGreaterThan(590_000);
    expect(job.batch_id).toBeNull();
    expect((await user.waitFor(job.id, { timeoutMs: 30_000 })).status).toBe("succeeded");
    const past = await user
      .generate({ prompt: "too late", cancel_after: new Date(Date.now() - 1_000).toISOString() })
      .catch((e: unknown) => e);
    expect(past).toMatchObject({ status: 400, code: "invalid_request" });

    const nightly = await admin.keys.create({ name: "nightly", priority_classes: ["batch"] });
    expect(nightly.priority_classes).toEqual(["batch"]);
    const batchOnly = new ZImageGateway({ baseUrl: cluster.apiUrl, apiKey: nightly.key });
    expect((await batchOnly.generate({ prompt: "by default", size: "256x256" })).priority).toBe("batch");
    const refused = await batchOnly
      .generate({ prompt: "now", priority: "interactive" })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ZImageApiError);
    expect(refused).toMatchObject({ status: 403, code: "priority_not_allowed" });
    expect(
      (await admin.keys.setLimits(nightly.id, { priority_classes: ["interactive", "batch"] }))
        .priority_classes,
    ).toEqual(["interactive", "batch"]);
    expect((await batchOnly.generate({ prompt: "now", size: "256x256" })).priority).toBe("interactive");
  });

  it("reads upstreams and models", async () => {
    const [gpu] = await admin.upstreams();
    expect(gpu).toMatchObject({ name: "gpu0", up: true });
    expect((await user.models()).map((m) => m.id)).toContain("z-image-turbo");
  });
});

describe("usage and GPU budgets", () => {
  it("usage() reports the GPU time a key's jobs used; a spent budget refuses the next submit", async () => {
    const created = await admin.keys.create({ name: "sdk-usage" });
    const team = new ZImageGateway({ baseUrl: cluster.apiUrl, apiKey: created.key });
    const job = await team.waitFor((await team.generate({ prompt: "billed", size: "128x128" })).id);
    expect(job.status).toBe("succeeded");
    const billedMs = (job.timings.load_ms ?? 0) + job.timings.inference_ms!;
    const mine = await waitFor(async () => {
      const u = await team.usage();
      return u.totals.jobs === 1 && u.totals.gpu_seconds === billedMs / 1000 ? u : null;
    });
    expect(mine).toMatchObject({ object: "usage", key: created.id, totals: { images: 1 } });
    expect(mine.by_upstream).toEqual({ gpu0: mine.totals });
    // Another key's usage is refused to a user; an admin reads it, or every key's.
    await expect(team.usage({ key: "all" })).rejects.toMatchObject({ status: 403, code: "forbidden" });
    expect((await admin.usage({ key: created.id })).totals).toEqual(mine.totals);
    const all = await admin.usage({ key: "all" });
    expect(all.by_key?.find((k) => k.key === created.id)).toEqual({
      key: created.id,
      name: "sdk-usage",
      ...mine.totals,
    });
    await expect(team.usage({ from: "2026-13-01" })).rejects.toMatchObject({
      status: 400,
      code: "invalid_request",
    });

    const limited = await admin.keys.setLimits(created.id, { gpu_seconds_per_day: 0.05 });
    expect(limited).toMatchObject({ gpu_seconds_per_day: 0.05, gpu_seconds_per_month: null });
    const refused = await team.generate({ prompt: "over budget", size: "128x128" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ZImageApiError);
    expect(refused).toMatchObject({
      status: 429,
      code: "quota_exceeded",
      details: { period: "day", limit_seconds: 0.05 },
    });
    await admin.keys.setLimits(created.id, { gpu_seconds_per_day: null });
    expect((await team.generate({ prompt: "unlimited again", size: "128x128" })).status).toBe("queued");
  });
});
