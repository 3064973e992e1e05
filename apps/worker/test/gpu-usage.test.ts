import { spawnSync } from "node:child_process";
import { type Cluster, type JobView, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";

/** Issue #19, feature 4, against real processes: GPU-time accounting, `GET /v1/usage`, budgets. */
const ADMIN = "cluster-admin-key-0123456789abcdef0123";
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

interface Figures {
  jobs: number;
  images: number;
  gpu_seconds: number;
}
interface Usage extends Record<string, unknown> {
  totals: Figures;
  days: Array<Figures & { date: string; upstreams: Record<string, Figures> }>;
  by_upstream: Record<string, Figures>;
  by_key?: Array<Figures & { key: string; name: string | null }>;
}

const idOf = (key: string) => key.split("_")[1]!;
const today = () => new Date().toISOString().slice(0, 10);
const gpuMs = (v: JobView) => (v.timings.load_ms ?? 0) + (v.timings.inference_ms ?? 0);

async function usage(c: Cluster, key: string, query = ""): Promise<Usage> {
  const res = await c.request("GET", `/v1/usage${query}`, { key });
  if (res.status !== 200)
    throw new Error(`GET /v1/usage${query} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Usage;
}

/** Polls until the key's usage shows `jobs` jobs (the GPU time is recorded just after a job ends). */
const usageOf = (c: Cluster, key: string, jobs: number, gpuSeconds?: number) =>
  waitFor(
    async () => {
      const u = await usage(c, key);
      const done =
        u.totals.jobs === jobs && (gpuSeconds === undefined || u.totals.gpu_seconds === gpuSeconds);
      return done ? u : null;
    },
    { timeoutMs: 20_000, what: `usage to show ${jobs} jobs` },
  );

async function setBudget(c: Cluster, key: string, body: Record<string, number | null>): Promise<void> {
  const res = await c.request("PATCH", `/v1/admin/keys/${idOf(key)}`, { key: ADMIN, body });
  expect(res.status).toBe(200);
}

describe("GPU usage", () => {
  it("records each job's load and inference time, by UTC day and by upstream, per key", async () => {
    cluster = await startCluster({
      upstreams: 2,
      // Every job starts cold (IDLE_UNLOAD_SECONDS 0 in the test cluster): load and inference both count.
      sim: { loadMs: 300, baseMs: 250 },
      env: { ADMIN_API_KEY: ADMIN, METRICS_TOKEN: "metrics-token-for-tests-0123" },
    });
    const a = await cluster.createKey("team a");
    const b = await cluster.createKey("team b");
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await cluster.submit({ prompt: `a ${i}`, size: "128x128" }, a));
    const bId = await cluster.submit({ prompt: "b", size: "128x128", n: 2 }, b);
    const views = await Promise.all(ids.map((id) => cluster!.waitFor(id, ["succeeded"], 30_000, a)));
    const bView = await cluster.waitFor(bId, ["succeeded"], 30_000, b);

    // What the dispatcher measured for each job (its timings) is what its key is billed, to the ms.
    const expectedMs = views.reduce((s, v) => s + gpuMs(v), 0);
    const own = await usageOf(cluster, a, 4, expectedMs / 1000);
    // ...and at least the simulator's own inference time per job.
    expect(own.totals.gpu_seconds).toBeGreaterThanOrEqual(4 * 0.25);
    expect(own).toMatchObject({ object: "usage", key: idOf(a), to: today() });
    expect(own.totals).toEqual({ jobs: 4, images: 4, gpu_seconds: expectedMs / 1000 });
    expect(own.days).toHaveLength(1);
    expect(own.days[0]!.date).toBe(today());
    const perUpstream: Record<string, Figures> = {};
    for (const v of views) {
      perUpstream[v.upstream!] ??= { jobs: 0, images: 0, gpu_seconds: 0 };
      const u = perUpstream[v.upstream!]!;
      u.jobs++;
      u.images++;
      u.gpu_seconds = (Math.round(u.gpu_seconds * 1000) + gpuMs(v)) / 1000;
    }
    expect(own.by_upstream).toEqual(perUpstream);
    expect(own.days[0]!.upstreams).toEqual(perUpstream);
    // A cold start was seen and billed as load.
    expect(views.some((v) => (v.timings.load_ms ?? 0) > 0)).toBe(true);

    // Another key's usage is its own; a user may not read it, an admin may, one key or all.
    const bUsage = await usageOf(cluster, b, 1, gpuMs(bView) / 1000);
    expect(bUsage.totals.images).toBe(2);
    const refused = await cluster.request("GET", `/v1/usage?key=${idOf(b)}`, { key: a });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    expect((await cluster.request("GET", "/v1/usage?key=all", { key: a })).status).toBe(403);
    const asAdmin = await usage(cluster, ADMIN, `?key=${idOf(a)}`);
    expect(asAdmin.totals).toEqual(own.totals);
    const all = await usage(cluster, ADMIN, "?key=all");
    expect(all.totals.jobs).toBe(5);
    const rows = [
      { key: idOf(a), name: "team a", ...own.totals },
      { key: idOf(b), name: "team b", ...bUsage.totals },
    ].sort((x, y) => y.gpu_seconds - x.gpu_seconds);
    expect(all.by_key).toEqual(rows);

    // Prometheus: totals per upstream, kind and phase, never per key; they add up to the usage.
    const m = /"metrics":"(http:\/\/[^"]+)"/.exec(cluster.workers[0]!.output());
    const exposition = await (
      await fetch(m![1]!, { headers: { authorization: "Bearer metrics-token-for-tests-0123" } })
    ).text();
    let gpuTotal = 0;
    let images = 0;
    for (const line of exposition.split("\n")) {
      if (line.startsWith("zimage_gateway_gpu_seconds_total{")) {
        expect(line).toMatch(/phase="(load|inference)"/);
        gpuTotal += Number(line.split(" ").at(-1));
      }
      if (line.startsWith("zimage_gateway_images_total{")) images += Number(line.split(" ").at(-1));
    }
    expect(exposition).not.toMatch(/gpu_seconds_total\{[^}]*key=/);
    expect(Math.round(gpuTotal * 1000)).toBe(expectedMs + gpuMs(bView));
    expect(images).toBe(6);
    const check = spawnSync("promtool", ["check", "metrics"], { input: exposition, encoding: "utf8" });
    if (!check.error) expect(`${check.stdout}${check.stderr}`).not.toMatch(/gpu_seconds|images_total/);
  });

  it("answers 400 to a malformed or unbounded range, and to an unknown parameter", async () => {
    cluster = await startCluster({ env: { ADMIN_API_KEY: ADMIN } });
    for (const q of [
      "?from=2026-02-30",
      "?from=2026-01-02&to=2026-01-01",
      "?from=2024-01-01&to=2026-01-01",
      "?key=NOT%20A%20KEY",
      "?since=2026-01-01",
    ]) {
      const res = await cluster.request("GET", `/v1/usage${q}`, { key: ADMIN });
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    }
    const empty = await usage(cluster, ADMIN, "?from=2026-01-01&to=2026-01-31");
    expect(empty).toMatchObject({
      from: "2026-01-01",
      to: "2026-01-31",
      totals: { jobs: 0, images: 0, gpu_seconds: 0 },
      days: [],
    });
  });
});

describe("GPU budgets", () => {
  it("a spent daily budget refuses the next job with 429 and its reset time, and a new UTC day resets it", async () => {
    cluster = await startCluster({ sim: { loadMs: 0, baseMs: 300 }, env: { ADMIN_API_KEY: ADMIN } });
    const key = await cluster.createKey("budgeted");
    await setBudget(cluster, key, { gpu_seconds_per_day: 0.2 });
    const first = await cluster.submit({ prompt: "spends it", size: "128x128" }, key);
    const view = await cluster.waitFor(first, ["succeeded"], 30_000, key);
    await usageOf(cluster, key, 1, gpuMs(view) / 1000);

    const res = await cluster.request("POST", "/v1/jobs", {
      key,
      body: { prompt: "one too many", size: "128x128" },
    });
    expect(res.status).toBe(429);
    const body = (await res.json()) as { error: { code: string; details: Record<string, unknown> } };
    const midnight = new Date(`${today()}T00:00:00Z`).getTime() + 86_400_000;
    expect(body.error.code).toBe("quota_exceeded");
    expect(body.error.details).toMatchObject({
      period: "day",
      limit_seconds: 0.2,
      used_seconds: gpuMs(view) / 1000,
      resets_at: new Date(midnight).toISOString(),
    });
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(Math.abs(retryAfter - (midnight - Date.now()) / 1000)).toBeLessThan(60);

    // A new day: today's usage becomes yesterday's (the day is in the key name), and the key runs again.
    const redis = new Redis(cluster.redis.url);
    try {
      const yesterday = new Date(midnight - 2 * 86_400_000).toISOString().slice(0, 10);
      await redis.rename(
        `cluster:usage:day:${today()}:${idOf(key)}`,
        `cluster:usage:day:${yesterday}:${idOf(key)}`,
      );
    } finally {
      redis.disconnect();
    }
    const next = await cluster.submit({ prompt: "a new day", size: "128x128" }, key);
    expect((await cluster.waitFor(next, undefined, 30_000, key)).status).toBe("succeeded");
  });

  it("with two upstreams and a backlog of the key's jobs, the budget is overshot by at most one job", async () => {
    cluster = await startCluster({
      upstreams: 2,
      sim: { loadMs: 0, baseMs: 400 },
      env: { ADMIN_API_KEY: ADMIN },
    });
    const key = await cluster.createKey("backlog");
    const other = await cluster.createKey("unlimited");
    await setBudget(cluster, key, { gpu_seconds_per_day: 1 });
    const ids = [];
    for (let i = 0; i < 8; i++)
      ids.push(await cluster.submit({ prompt: `budgeted ${i}`, size: "128x128" }, key));
    // Only this key's jobs are queued, so both upstreams take them at once (no other key's job between).
    const ends = await Promise.all(ids.map((id) => cluster!.waitFor(id, undefined, 60_000, key)));
    // Another key is not held back by this one's budget.
    const free = await cluster.submit({ prompt: "free", size: "128x128" }, other);
    expect((await cluster.waitFor(free, undefined, 60_000, other)).status).toBe("succeeded");

    const ran = ends.filter((v) => v.status === "succeeded");
    const refused = ends.filter((v) => v.status === "failed");
    expect(ran.length + refused.length).toBe(8);
    expect(refused.length).toBeGreaterThan(0);
    for (const v of refused) {
      expect(v.error?.code).toBe("quota_exceeded");
      expect(v.upstream).toBeNull();
    }
    // The refused jobs never reached a GPU: the simulators saw only the ones that ran.
    const seen = cluster.sims.flatMap((s) => s.stats().requests.map((r) => r.prompt));
    expect(seen.filter((p) => p?.startsWith("budgeted")).length).toBe(ran.length);
    const usedMs = ran.reduce((s, v) => s + gpuMs(v), 0);
    const largest = Math.max(...ran.map(gpuMs));
    expect(usedMs).toBeGreaterThanOrEqual(1_000);
    expect(usedMs).toBeLessThan(1_000 + largest);
    const u = await usageOf(cluster, key, ran.length, usedMs / 1000);
    expect(u.totals.images).toBe(ran.length);
  });
});
