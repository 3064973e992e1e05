import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  freePort,
  makePng,
  type PrivateRedis,
  pngSize,
  type RunningProcess,
  startProcess,
  startRedis,
  waitFor,
} from "@zimage/testkit";
import { renderImage } from "@zimage/zimage-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The whole pipeline as separate real processes on loopback: private redis-server, the simulator,
 * the api and the worker — the way `pnpm start` runs them.
 */
const root = resolve(import.meta.dirname, "../../..");
const tsx = (file: string) => ["--import", "tsx", resolve(root, file)];

let redis: PrivateRedis;
let dataDir: string;
let sim: RunningProcess;
let api: RunningProcess;
let worker: RunningProcess;
let simUrl: string;
let apiUrl: string;

beforeAll(async () => {
  redis = await startRedis();
  dataDir = await mkdtemp(join(tmpdir(), "zimage-e2e-"));
  const [simPort, apiPort] = [await freePort(), await freePort()];
  simUrl = `http://127.0.0.1:${simPort}`;
  apiUrl = `http://127.0.0.1:${apiPort}`;
  sim = startProcess(process.execPath, tsx("apps/zimage-sim/src/main.ts"), {
    env: {
      SIM_PORT: String(simPort),
      SIM_LOAD_MS: "300",
      SIM_BASE_MS: "150",
      SIM_MS_PER_STEP_MEGAPIXEL: "0",
      LOG_LEVEL: "warn",
    },
  });
  const env = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: "e2e",
    DATA_DIR: dataDir,
    ZIMAGE_UPSTREAMS: `sim=${simUrl}`,
    LOG_LEVEL: "info",
    LOG_PRETTY: "false",
    WORKER_METRICS_PORT: "0",
  };
  api = startProcess(process.execPath, tsx("apps/api/src/main.ts"), {
    env: { ...env, PORT: String(apiPort) },
  });
  worker = startProcess(process.execPath, tsx("apps/worker/src/main.ts"), { env });
  await Promise.all([
    waitFor(async () => (await fetch(`${simUrl}/health`)).ok, { timeoutMs: 30_000, what: "simulator" }),
    api
      .waitForOutput(/api listening/)
      .then(() => waitFor(async () => (await fetch(`${apiUrl}/ready`)).ok, { what: "api ready" })),
    worker.waitForOutput(/worker ready/),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop(), sim?.stop()]);
  await redis?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface View {
  id: string;
  status: string;
  phase: string | null;
  result: {
    images: Array<{
      url: string;
      width: number;
      height: number;
      sha256: string;
      revised_prompt: string | null;
    }>;
  } | null;
  error: unknown;
  timings: Record<string, number | null>;
  upstream: string | null;
}

async function pollUntilDone(id: string): Promise<View> {
  return waitFor(
    async () => {
      const view = (await (await fetch(`${apiUrl}/v1/jobs/${id}`)).json()) as View;
      return ["succeeded", "failed", "canceled"].includes(view.status) ? view : null;
    },
    { timeoutMs: 30_000, intervalMs: 50, what: `job ${id} to finish` },
  );
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("end to end", () => {
  it("runs a text-to-image job from submit to a downloadable PNG", async () => {
    const submit = await fetch(`${apiUrl}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        prompt: 'a sign that says "hello"',
        size: "512x384",
        seed: 7,
        num_inference_steps: 8,
      }),
    });
    expect(submit.status).toBe(202);
    const { id } = (await submit.json()) as View;
    const view = await pollUntilDone(id);
    expect(view.error).toBeNull();
    expect(view.status).toBe("succeeded");
    expect(view.upstream).toBe("sim");
    const image = view.result!.images[0]!;
    expect(image).toMatchObject({ width: 512, height: 384, revised_prompt: expect.any(String) });
    // The first job found the model unloaded, so part of its time was the model load.
    expect(view.timings.load_ms === null || (view.timings.load_ms ?? 0) > 0).toBe(true);
    expect(view.timings.total_ms).toBeGreaterThan(0);

    const download = await fetch(image.url);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("image/png");
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(pngSize(bytes)).toEqual({ width: 512, height: 384 });
    const expected = renderImage({
      prompt: 'a sign that says "hello"',
      width: 512,
      height: 384,
      steps: 8,
      guidance: 4,
      seed: 7,
      index: 0,
    });
    expect(bytes.equals(expected)).toBe(true);
    expect(sha256(bytes)).toBe(image.sha256);
  });

  it("runs an image-to-image job with a real PNG upload", async () => {
    const input = makePng(256, 192, 3);
    const fd = new FormData();
    fd.append("prompt", "the same, at night");
    fd.append("size", "256x192");
    fd.append("image", new Blob([input], { type: "image/png" }), "day.png");
    const submit = await fetch(`${apiUrl}/v1/jobs`, { method: "POST", body: fd });
    expect(submit.status).toBe(202);
    const view = await pollUntilDone(((await submit.json()) as View).id);
    expect(view.status).toBe("succeeded");
    const bytes = Buffer.from(await (await fetch(view.result!.images[0]!.url)).arrayBuffer());
    expect(pngSize(bytes)).toEqual({ width: 256, height: 192 });
    const expected = renderImage({
      prompt: "the same, at night",
      width: 256,
      height: 192,
      steps: 50,
      guidance: 1.5,
      index: 0,
      inputSha256: sha256(input),
    });
    expect(bytes.equals(expected)).toBe(true);
  });

  it("sends jobs submitted together to the simulator one at a time", async () => {
    await fetch(`${simUrl}/_sim/reset`, { method: "POST" });
    const ids = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const res = await fetch(`${apiUrl}/v1/jobs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ prompt: `together ${i}`, size: "256x256" }),
        });
        return ((await res.json()) as View).id;
      }),
    );
    const views = await Promise.all(ids.map(pollUntilDone));
    expect(views.map((v) => v.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    const stats = (await (await fetch(`${simUrl}/_sim/stats`)).json()) as {
      maxInFlight: number;
      requests: Array<{ arrivedAt: number; finishedAt: number; path: string }>;
    };
    expect(stats.maxInFlight).toBe(1);
    const image = stats.requests
      .filter((r) => r.path.startsWith("/v1/images"))
      .sort((a, b) => a.arrivedAt - b.arrivedAt);
    expect(image).toHaveLength(3);
    for (let i = 1; i < image.length; i++)
      expect(image[i]!.arrivedAt).toBeGreaterThanOrEqual(image[i - 1]!.finishedAt);
  });
});
