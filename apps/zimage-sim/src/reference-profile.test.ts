import { createHash } from "node:crypto";
import { makePng, pngSize } from "@zimage/testkit";
import { Agent, fetch as undiciFetch } from "undici";
import { describe, expect, it } from "vitest";
import { loadSimulatorConfig } from "./config";
import { renderImage } from "./image-renderer";
import { type Json, useReferenceSimulator } from "./reference-test-client";

const z = useReferenceSimulator();
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
type Images = { created: number; data: Array<Json & { url?: string; b64_json?: string }> };

describe("reference profile: routes", () => {
  it("has no /v1/images/edits, answers FastAPI's 404 and 405, and lists its real routes", async () => {
    await z.start();
    const edits = await z.asyncEdit({ prompt: "x" }, makePng(32, 32), "/v1/images/edits");
    expect(edits.status).toBe(404);
    expect(await edits.json()).toEqual({ detail: "Not Found" });
    const wrongMethod = await fetch(`${z.sim.url}/v1/images/async_edit`);
    expect(wrongMethod.status).toBe(405);
    expect(await wrongMethod.json()).toEqual({ detail: "Method Not Allowed" });
    const doc = await z.get("/openapi.json");
    expect(doc.openapi).toBe("3.1.0");
    const paths = doc.paths as Record<string, Json>;
    expect(Object.keys(paths).sort()).toEqual([
      "/health",
      "/outputs/{filename}",
      "/v1/images/async_edit",
      "/v1/images/async_generate",
      "/v1/images/generations",
      "/v1/images/tasks/{task_id}",
      "/v1/internal/status",
      "/v1/internal/unload",
      "/v1/models",
    ]);
    expect(Object.keys(paths["/v1/internal/unload"]!).sort()).toEqual(["get", "post"]);
    expect(Object.keys(paths["/v1/images/async_edit"]!)).toEqual(["post"]);
  });

  it("reports two pipelines in health, status and models, and unloads both", async () => {
    await z.start();
    const idle = { t2i_loaded: false, edit_loaded: false };
    expect(await z.get("/health")).toEqual({
      status: "ok",
      t2i_model: "Tongyi-MAI/Z-Image",
      edit_model: "Tongyi-MAI/Z-Image-Edit",
      ...idle,
    });
    expect(await z.get("/v1/internal/status")).toEqual({ status: "idle", ...idle });
    const models = (await z.get("/v1/models")).data as Json[];
    expect(models.map((m) => [m.id, m.capabilities])).toEqual([
      ["Tongyi-MAI/Z-Image", ["text-to-image"]],
      ["Tongyi-MAI/Z-Image-Edit", ["image-to-image"]],
    ]);
    expect((await z.generate({ prompt: "load", size: "64x64" })).status).toBe(200);
    expect(await z.get("/health")).toMatchObject({ t2i_loaded: true, edit_loaded: false });
    expect(await z.get("/v1/internal/unload")).toEqual({ status: "models unloaded" });
    expect(await z.get("/health")).toMatchObject(idle);
    expect((await z.post("/v1/internal/unload", "")).status).toBe(200);
    expect(z.sim.stats()).toMatchObject({ unloads: 1, modelLoaded: false });
  });
});

describe("reference profile: generations", () => {
  it("ignores seed and unknown fields, rounds sizes down to 32, honours n, never revises the prompt", async () => {
    await z.start();
    const res = await z.generate({
      prompt: "a fox",
      size: "300x200",
      n: 2,
      seed: 7,
      style: "x",
      response_format: "b64_json",
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Images;
    expect(body.data).toHaveLength(2);
    expect(Object.keys(body.data[0]!)).toEqual(["b64_json"]);
    const first = Buffer.from(body.data[0]!.b64_json!, "base64");
    expect(pngSize(first)).toEqual({ width: 288, height: 192 });
    const expected = renderImage({
      prompt: "a fox",
      width: 288,
      height: 192,
      steps: 50,
      guidance: 4,
      index: 0,
    });
    expect(first.equals(expected)).toBe(true);
  });

  it("answers URLs on the host it guesses for itself; the file is served at the real origin", async () => {
    const sim = await z.start();
    const body = (await (await z.generate({ prompt: "by url", size: "64x96" })).json()) as Images;
    const url = new URL(body.data[0]!.url!);
    expect(url.origin).toBe(`http://zimage-gpu.invalid:${sim.port}`);
    expect(url.pathname).toMatch(/^\/outputs\/gen_\d+_[0-9a-f]{8}\.png$/);
    await expect(fetch(url)).rejects.toThrow();
    const file = await fetch(`${sim.url}${url.pathname}`);
    expect(file.headers.get("content-type")).toBe("image/png");
    expect(pngSize(Buffer.from(await file.arrayBuffer()))).toEqual({ width: 64, height: 96 });
    expect(await (await fetch(`${sim.url}/outputs/gen_0_missing.png`)).json()).toEqual({
      detail: "File not found",
    });
  });

  it("answers FastAPI's 422 list for bad fields and bad JSON", async () => {
    await z.start();
    const bad = await z.generate({ n: "two", guidance_scale: "high" });
    expect(bad.status).toBe(422);
    const detail = ((await bad.json()) as { detail: Json[] }).detail;
    expect(detail.map((d) => [d.type, d.loc])).toEqual([
      ["missing", ["body", "prompt"]],
      ["int_parsing", ["body", "n"]],
      ["float_parsing", ["body", "guidance_scale"]],
    ]);
    const notJson = await z.post("/v1/images/generations", "{prompt:");
    expect(notJson.status).toBe(422);
    expect(((await notJson.json()) as { detail: Json[] }).detail[0]).toMatchObject({ type: "json_invalid" });
    expect(z.sim.stats().imageRequests).toBe(0);
  });

  it("async_generate answers a task at once and keeps only image 0", async () => {
    await z.start();
    const id = await z.submit(z.post("/v1/images/async_generate", { prompt: "async", size: "64x64", n: 3 }));
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const task = await z.waitTask(id);
    expect(task.status).toBe("completed");
    expect(task.data).toHaveLength(1);
    const png = await fetch(`${z.sim.url}${new URL(task.data![0]!.url!).pathname}`);
    const bytes = Buffer.from(await png.arrayBuffer());
    expect(
      bytes.equals(renderImage({ prompt: "async", width: 64, height: 64, steps: 50, guidance: 4, index: 0 })),
    ).toBe(true);
  });
});

describe("reference profile: async edits and tasks", () => {
  it("answers processing at once while the edit model is still loading", async () => {
    await z.start({ editLoadMs: 2000 });
    const submitted = await z.asyncEdit({ prompt: "night" }, makePng(64, 64));
    const body = (await submitted.json()) as Json;
    expect(body).toMatchObject({ status: "processing", task_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(await z.get(`/v1/images/tasks/${body.task_id}`)).toEqual({ status: "processing" });
    expect(z.sim.stats()).toMatchObject({ loading: true, inFlight: 1 });
    expect(await z.get("/v1/internal/status")).toEqual({
      status: "generating",
      t2i_loaded: false,
      edit_loaded: false,
    });
  });

  it("edits at the input's size with steps 50 and guidance 4, ignoring other fields; URL on publicHost", async () => {
    const sim = await z.start({ publicHost: "http://gpu-box.invalid:9999" });
    const input = makePng(96, 64);
    const id = await z.submit(z.asyncEdit({ prompt: "night", size: "512x512", guidance_scale: "1" }, input));
    const task = await z.waitTask(id);
    expect(task.status).toBe("completed");
    const url = new URL(task.data![0]!.url!);
    expect(url.origin).toBe("http://gpu-box.invalid:9999");
    const bytes = Buffer.from(await (await fetch(`${sim.url}${url.pathname}`)).arrayBuffer());
    const expected = renderImage({
      prompt: "night",
      width: 96,
      height: 64,
      steps: 50,
      guidance: 4,
      index: 0,
      inputSha256: sha256(input),
    });
    expect(bytes.equals(expected)).toBe(true);
  });

  it("rejects an edit without image or prompt with FastAPI's 422", async () => {
    await z.start();
    const res = await z.asyncEdit({ prompt: "" });
    expect(res.status).toBe(422);
    const detail = ((await res.json()) as { detail: Json[] }).detail;
    expect(detail.map((d) => d.loc)).toEqual([
      ["body", "image"],
      ["body", "prompt"],
    ]);
  });

  it("answers 200 failed for an unknown task, and forgets its tasks on restart", async () => {
    const first = await z.start();
    expect(await z.get("/v1/images/tasks/nope")).toEqual({
      status: "failed",
      error: "Task not found (server may have restarted or ID is invalid). Please submit a new request.",
    });
    const id = await z.submit(z.post("/v1/images/async_generate", { prompt: "kept?", size: "64x64" }));
    expect((await z.waitTask(id)).status).toBe("completed");
    const port = first.port;
    await z.stop();
    await z.start({ port });
    // A fresh connection pool: the global one still holds a keep-alive socket to the old server.
    const after = await undiciFetch(`${z.sim.url}/v1/images/tasks/${id}`, { dispatcher: new Agent() });
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/^Task not found/),
    });
  });
});

describe("reference profile: configuration", () => {
  it("reads SIM_PROFILE, the per-pipeline load times and the public host from the environment", () => {
    const cfg = loadSimulatorConfig({
      SIM_PROFILE: "reference",
      SIM_T2I_LOAD_MS: "100",
      SIM_EDIT_LOAD_MS: "200",
      SIM_PUBLIC_HOST: "http://gpu.invalid:8003/",
    });
    expect(cfg).toMatchObject({
      profile: "reference",
      t2iLoadMs: 100,
      editLoadMs: 200,
      publicHost: "http://gpu.invalid:8003",
    });
    expect(loadSimulatorConfig({}).profile).toBe("documented");
    expect(() => loadSimulatorConfig({ SIM_PROFILE: "real" })).toThrow(/SIM_PROFILE/);
  });
});
