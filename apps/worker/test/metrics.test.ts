import { spawnSync } from "node:child_process";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";

/** Issue #8: the series move as jobs run, scrapes parse, /metrics and /ready guard what they should. */
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const TOKEN = "metrics-token-for-tests-0123";

/** `name{labels} value` lines → value of the first series whose labels include all of `want`. */
function value(exposition: string, name: string, want: Record<string, string> = {}): number | undefined {
  for (const line of exposition.split("\n")) {
    const m = /^([a-z_:]+)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries(
      [...(m[3] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(want).every(([k, v]) => labels[k] === v)) return Number(m[4]);
  }
  return undefined;
}

/**
 * `promtool check metrics` findings, minus the three lint notes it always makes about prom-client's
 * default Node metrics (gauges whose names end in _total): those names are the library's, not ours.
 * A parse error or any other finding is returned.
 */
function promtoolProblems(exposition: string): string[] {
  const r = spawnSync("promtool", ["check", "metrics"], { input: exposition, encoding: "utf8" });
  if (r.error) throw r.error;
  const defaults =
    /^zimage_gateway_nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
  return `${r.stdout}\n${r.stderr}`
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !defaults.test(l));
}

async function scrape(url: string, token = TOKEN): Promise<string> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/text\/plain/);
  return res.text();
}

function workerMetricsUrl(c: Cluster): string {
  const m = /"metrics":"(http:\/\/[^"]+)"/.exec(c.workers[0]!.output());
  if (!m) throw new Error("worker did not log its metrics URL");
  return m[1]!;
}

describe("metrics", () => {
  it("counts jobs, observes each once, flips model_loaded on unload, and parses", async () => {
    cluster = await startCluster({
      // Inference long enough after the load for the 50 ms /health watch to see the model loaded
      // even on a loaded machine (a load it cannot see is recorded as unknown, not observed).
      sim: { loadMs: 150, baseMs: 400, faults: { oomAbovePixels: 512 * 512 } },
      env: { METRICS_TOKEN: TOKEN, IDLE_UNLOAD_SECONDS: "1.5" },
    });
    const ok1 = await cluster.submit({ prompt: "one", size: "256x256" });
    const ok2 = await cluster.submit({ prompt: "two", size: "256x256" });
    const oom = await cluster.submit({ prompt: "too big", size: "1024x1024" });
    for (const id of [ok1, ok2, oom]) await cluster.waitFor(id);

    const workerUrl = workerMetricsUrl(cluster);
    const gen = { kind: "generate", upstream: "gpu0" };
    // A job's end is counted just after its state moves (JobEndings), so the scrape waits for both ends.
    const loaded = await waitFor(async () => {
      const w = await scrape(workerUrl);
      const ended =
        (value(w, "zimage_gateway_jobs_completed_total", gen) ?? 0) +
        (value(w, "zimage_gateway_jobs_failed_total", { ...gen, reason: "upstream_out_of_memory" }) ?? 0);
      return value(w, "zimage_gateway_upstream_model_loaded", { upstream: "gpu0" }) === 1 && ended >= 3
        ? w
        : null;
    });
    expect(value(loaded, "zimage_gateway_jobs_completed_total", gen)).toBe(2);
    expect(
      value(loaded, "zimage_gateway_jobs_failed_total", { ...gen, reason: "upstream_out_of_memory" }),
    ).toBe(1);
    expect(value(loaded, "zimage_gateway_inference_seconds_count", gen)).toBe(2);
    expect(value(loaded, "zimage_gateway_job_duration_seconds_count", { kind: "generate" })).toBe(2);
    expect(value(loaded, "zimage_gateway_job_queue_wait_seconds_count", { kind: "generate" })).toBe(3);
    expect(value(loaded, "zimage_gateway_model_load_seconds_count", { upstream: "gpu0" })).toBe(1);
    expect(
      value(loaded, "zimage_gateway_upstream_requests_total", { upstream: "gpu0", outcome: "success" }),
    ).toBe(2);
    expect(
      value(loaded, "zimage_gateway_upstream_requests_total", { upstream: "gpu0", outcome: "out_of_memory" }),
    ).toBe(1);
    expect(value(loaded, "zimage_gateway_upstream_up", { upstream: "gpu0" })).toBe(1);
    expect(value(loaded, "zimage_gateway_process_resident_memory_bytes")).toBeGreaterThan(0);

    const unloaded = await waitFor(
      async () => {
        const w = await scrape(workerUrl);
        return value(w, "zimage_gateway_upstream_model_loaded", { upstream: "gpu0" }) === 0 ? w : null;
      },
      { timeoutMs: 10_000, what: "model_loaded to drop after the idle unload" },
    );
    expect(value(unloaded, "zimage_gateway_upstream_unloads_total", { upstream: "gpu0" })).toBe(1);

    const api = await scrape(`${cluster.apiUrl}/metrics`);
    expect(value(api, "zimage_gateway_jobs_submitted_total", { kind: "generate" })).toBe(3);
    expect(value(api, "zimage_gateway_queue_jobs", { state: "completed" })).toBe(2);
    expect(value(api, "zimage_gateway_queue_jobs", { state: "failed" })).toBe(1);
    expect(value(api, "zimage_gateway_queue_oldest_job_age_seconds")).toBe(0);
    expect(
      value(api, "zimage_gateway_http_request_duration_seconds_count", {
        method: "POST",
        route: "/v1/jobs",
        status_code: "202",
      }),
    ).toBe(3);
    // Route templates only: no job id ever becomes a label value.
    expect(
      value(api, "zimage_gateway_http_request_duration_seconds_count", {
        method: "GET",
        route: "/v1/jobs/:id",
      }),
    ).toBeGreaterThan(0);
    for (const id of [ok1, ok2, oom]) {
      expect(api).not.toContain(id);
      expect(unloaded).not.toContain(id);
    }
    // The exposition is valid for Prometheus itself, and our own series pass its lint.
    for (const text of [api, unloaded]) expect(promtoolProblems(text)).toEqual([]);
  });

  it("needs the token when METRICS_TOKEN is set", async () => {
    cluster = await startCluster({ env: { METRICS_TOKEN: TOKEN } });
    expect((await fetch(`${cluster.apiUrl}/metrics`)).status).toBe(401);
    expect(
      (await fetch(workerMetricsUrl(cluster), { headers: { authorization: "Bearer wrong" } })).status,
    ).toBe(401);
    await scrape(`${cluster.apiUrl}/metrics`);
  });
});

describe("health and logs", () => {
  it("/ready on api and worker report Redis, and fail while it is stopped", async () => {
    cluster = await startCluster({});
    const workerBase = workerMetricsUrl(cluster).replace(/\/metrics$/, "");
    expect((await fetch(`${workerBase}/health`)).status).toBe(200);
    // Ready once Redis answers; the upstream's check says `starting` until its first probe.
    const ready = await waitFor(async () => {
      const res = await fetch(`${workerBase}/ready`);
      if (res.status !== 200) return null;
      const body = (await res.json()) as { checks: Record<string, string> };
      expect(["starting", "ok"]).toContain(body.checks["upstream:gpu0"]);
      return body.checks["upstream:gpu0"] === "ok" ? body : null;
    });
    expect(ready.checks).toEqual({ redis: "ok", "upstream:gpu0": "ok" });
    await cluster.redis.kill();
    await waitFor(async () => (await fetch(`${workerBase}/ready`)).status === 503, {
      what: "worker /ready to fail",
    });
    await waitFor(async () => (await fetch(`${cluster!.apiUrl}/ready`)).status === 503, {
      what: "api /ready to fail",
    });
    expect((await fetch(`${workerBase}/health`)).status).toBe(200);
  });

  it("every log line about a job carries its id", async () => {
    cluster = await startCluster({});
    const id = await cluster.submit({ prompt: "log me", size: "256x256" });
    await cluster.waitFor(id);
    const lines = cluster.workers[0]!.output()
      .split("\n")
      .filter((l) => l.includes(id));
    const messages = lines.map((l) => JSON.parse(l) as { msg: string; jobId?: string });
    expect(messages.map((m) => m.msg)).toEqual(expect.arrayContaining(["job dispatched", "job succeeded"]));
    for (const m of messages) expect(m.jobId).toBe(id);
  });
});
