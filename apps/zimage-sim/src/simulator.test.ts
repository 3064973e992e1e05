import { createHash } from "node:crypto";
import { makePng, pngSize, waitFor } from "@zimage/testkit";
import jpeg from "jpeg-js";
import { afterEach, describe, expect, it } from "vitest";
import { loadSimulatorConfig } from "./config";
import { renderImage } from "./image-renderer";
import { type RunningSimulator, type SimulatorOptions, startSimulator } from "./simulator";

let sim: RunningSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const start = async (opts: SimulatorOptions = {}) => {
  sim = await startSimulator({ loadMs: 20, baseMs: 10, msPerStepMegapixel: 0, ...opts });
  return sim;
};
const get = async (path: string) =>
  (await fetch(`${sim!.url}${path}`)).json() as Promise<Record<string, unknown>>;
const generate = (body: Record<string, unknown>) =>
  fetch(`${sim!.url}/v1/images/generations`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
const edit = (fields: Record<string, string>, image: Buffer, filename = "in.png") => {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append("image", new Blob([image]), filename);
  return fetch(`${sim!.url}/v1/images/edits`, { method: "POST", body: fd });
};
type Images = { created: number; data: Array<{ b64_json?: string; url?: string; revised_prompt: string }> };
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("Z-Image simulator", () => {
  it("loads the model lazily on the first image request", async () => {
    await start();
    expect(await get("/health")).toMatchObject({ model_loaded: false });
    expect((await generate({ prompt: "first" })).status).toBe(200);
    expect(await get("/health")).toMatchObject({ model_loaded: true });
    await generate({ prompt: "second" });
    expect(sim!.stats().loads).toBe(1);
  });

  it("returns deterministic PNGs of the requested size, equal to renderImage", async () => {
    await start();
    const body = { prompt: "a red fox", size: "320x192", seed: 3, num_inference_steps: 9, n: 2 };
    const a = (await (await generate(body)).json()) as Images;
    const b = (await (await generate(body)).json()) as Images;
    const [img0, img1] = a.data.map((d) => Buffer.from(d.b64_json!, "base64"));
    expect(pngSize(img0!)).toEqual({ width: 320, height: 192 });
    expect(
      img0!.equals(
        renderImage({
          prompt: "a red fox",
          width: 320,
          height: 192,
          steps: 9,
          guidance: 4,
          seed: 3,
          index: 0,
        }),
      ),
    ).toBe(true);
    expect(img0!.equals(img1!)).toBe(false);
    expect(b.data[0]!.b64_json).toBe(a.data[0]!.b64_json);
    expect(a.data[0]!.revised_prompt).toBe("a red fox");
  });

  it("serves the file for response_format url", async () => {
    await start();
    const res = (await (
      await generate({ prompt: "by url", size: "128x128", response_format: "url" })
    ).json()) as Images;
    const file = await fetch(res.data[0]!.url!);
    expect(file.headers.get("content-type")).toBe("image/png");
    expect(pngSize(Buffer.from(await file.arrayBuffer()))).toEqual({ width: 128, height: 128 });
  });

  it("edits a real PNG and a real JPEG, defaulting to the input's size", async () => {
    await start();
    const png = makePng(96, 64);
    const res = (await (await edit({ prompt: "night", response_format: "b64_json" }, png)).json()) as Images;
    const out = Buffer.from(res.data[0]!.b64_json!, "base64");
    expect(pngSize(out)).toEqual({ width: 96, height: 64 });
    expect(
      out.equals(
        renderImage({
          prompt: "night",
          width: 96,
          height: 64,
          steps: 50,
          guidance: 1.5,
          index: 0,
          inputSha256: sha256(png),
        }),
      ),
    ).toBe(true);
    const jpg = Buffer.from(
      jpeg.encode({ width: 64, height: 32, data: Buffer.alloc(64 * 32 * 4, 128) }, 90).data,
    );
    const viaJpeg = await edit({ prompt: "x", size: "128x64" }, jpg, "in.jpg");
    expect(viaJpeg.status).toBe(200);
    expect(((await viaJpeg.json()) as Images).data[0]!.url).toMatch(/\/v1\/files\//);
  });

  it("rejects garbage images, a text file named .png, bad sizes and a missing prompt", async () => {
    await start();
    expect((await edit({ prompt: "x" }, Buffer.from("hello"), "x.png")).status).toBe(400);
    const png = makePng(32, 32);
    expect((await edit({ prompt: "x" }, png.subarray(0, 40))).status).toBe(400);
    expect((await generate({ prompt: "x", size: "1000x1000" })).status).toBe(422);
    expect((await generate({ size: "512x512" })).status).toBe(422);
    expect(sim!.stats().imageRequests).toBe(0);
  });

  it("says generating while a request is in flight, idle otherwise", async () => {
    await start({ baseMs: 400 });
    expect(await get("/v1/internal/status")).toMatchObject({ status: "idle" });
    const pending = generate({ prompt: "slow", size: "128x128" });
    await waitFor(async () => (await get("/v1/internal/status")).status === "generating");
    await pending;
    expect(await get("/v1/internal/status")).toMatchObject({ status: "idle" });
  });

  it("serialises concurrent requests and records that two were open at once", async () => {
    await start({ baseMs: 150 });
    await Promise.all([
      generate({ prompt: "a", size: "128x128" }),
      generate({ prompt: "b", size: "128x128" }),
    ]);
    const [first, second] = sim!.stats().requests;
    expect(second!.startedAt!).toBeGreaterThanOrEqual(first!.finishedAt!);
    expect(sim!.stats().maxInFlight).toBe(2);
  });

  it("unloads by GET and by POST", async () => {
    await start();
    await generate({ prompt: "load", size: "128x128" });
    expect(await get("/v1/internal/unload")).toEqual({ status: "unloaded" });
    expect(await get("/health")).toMatchObject({ model_loaded: false });
    await generate({ prompt: "load again", size: "128x128" });
    expect((await fetch(`${sim!.url}/v1/internal/unload`, { method: "POST" })).status).toBe(200);
    expect(sim!.stats()).toMatchObject({ loads: 2, unloads: 2, modelLoaded: false });
  });

  it("lists its model", async () => {
    await start();
    expect(((await get("/v1/models")).data as Array<{ id: string }>)[0]!.id).toBe("z-image-turbo");
  });
});

describe("fault injection", () => {
  it("fails the next model loads with 500 Model loading failed, then recovers", async () => {
    await start({ faults: { loadFailures: 1 } });
    const failed = await generate({ prompt: "x", size: "128x128" });
    expect(failed.status).toBe(500);
    expect(await failed.text()).toMatch(/Model loading failed/);
    expect((await get("/health")).model_loaded).toBe(false);
    expect((await generate({ prompt: "x", size: "128x128" })).status).toBe(200);
  });

  it("runs out of memory above the pixel budget", async () => {
    await start({ faults: { oomAbovePixels: 256 * 256 } });
    expect((await generate({ prompt: "x", size: "256x256" })).status).toBe(200);
    const oom = await generate({ prompt: "x", size: "512x512" });
    expect(oom.status).toBe(500);
    expect(await oom.text()).toMatch(/out of memory/);
  });

  it("drops the connection of the next request", async () => {
    await start({ faults: { dropConnections: 1 } });
    await expect(generate({ prompt: "x", size: "128x128" })).rejects.toThrow();
    expect((await generate({ prompt: "x", size: "128x128" })).status).toBe(200);
  });

  it("adds latency and answers a one-off error, set through the admin endpoint", async () => {
    await start();
    const put = await fetch(`${sim!.url}/_sim/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ latencyMs: 200, failNext: { status: 422, body: { detail: "nope" } } }),
    });
    expect(put.status).toBe(200);
    const t0 = Date.now();
    const res = await generate({ prompt: "x", size: "128x128" });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ detail: "nope" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    const bad = await fetch(`${sim!.url}/_sim/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ latencyMs: -1 }),
    });
    expect(bad.status).toBe(400);
    await fetch(`${sim!.url}/_sim/reset`, { method: "POST" });
    expect(await get("/_sim/faults")).toMatchObject({ latencyMs: 0, failNext: null });
  });

  it("reads faults and timings from the environment, naming a bad variable", () => {
    const cfg = loadSimulatorConfig({
      SIM_LOAD_MS: "50",
      SIM_FAULT_LOAD_FAILURES: "2",
      SIM_FAULT_OOM_ABOVE_PIXELS: "1000",
    });
    expect(cfg).toMatchObject({ loadMs: 50, faults: { loadFailures: 2, oomAbovePixels: 1000 } });
    expect(() => loadSimulatorConfig({ SIM_PORT: "http" })).toThrow(/SIM_PORT/);
  });
});
