import {
  createRedis,
  registerUpstream,
  type UpstreamCapabilities,
  type UpstreamState,
  updateUpstreamState,
} from "@zimage/core";
import type { Redis } from "ioredis";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { modelSchema, upstreamSchema } from "../src/openapi/upstream-schemas";
import { startTestApi, type TestApi } from "./helpers";

/** `GET /v1/upstreams` and `GET /v1/models` show what dispatchers discovered (issue #15). */
const ADMIN = "admin-key-for-the-upstream-views-tests-0123456789";
const auth = { headers: { authorization: `Bearer ${ADMIN}` } };
let api: TestApi;
let redis: Redis;
beforeAll(async () => {
  api = await startTestApi({ adminKey: ADMIN });
  redis = createRedis(api.redis.url);
});
afterAll(async () => {
  redis?.disconnect();
  await api?.close();
});
beforeEach(async () => {
  await redis.del("test:upstreams");
});

/** The reference server as discovered: two models, async edits, one pipeline loaded. */
const reference: UpstreamCapabilities = {
  generate: "sync",
  edit: "async",
  source: { generate: "discovered", edit: "pinned" },
  routes_from: "openapi",
  routes: ["POST /v1/images/generations", "POST /v1/images/async_edit", "GET /v1/images/tasks/{task_id}"],
  models: [
    { id: "Tongyi-MAI/Z-Image", capabilities: ["text-to-image"] },
    { id: "Tongyi-MAI/Z-Image-Edit", capabilities: ["image-to-image"] },
  ],
  health_shape: "pipelines",
  discovered_at: "2026-01-01T00:00:00.000Z",
};
const turbo = {
  defaults: { num_inference_steps: 8, guidance_scale: 0 },
  bounds: { num_inference_steps: [8, 9] as [number, number], guidance_scale: [0, 0] as [number, number] },
};

async function seed() {
  await registerUpstream(redis, "test", "ref", "http://operator:hunter2@gpu0.lan:8003");
  await updateUpstreamState(redis, "test", "ref", {
    up: true,
    capabilities: reference,
    loaded_pipeline: "edit",
    breaker: {
      state: "open",
      consecutive_failures: 3,
      opened_at: "2026-01-01T00:00:00.000Z",
      retry_at: null,
    },
    params: turbo,
  });
  // A documented-profile upstream: one model, no capabilities listed, nothing discovered yet.
  await registerUpstream(redis, "test", "doc", "http://gpu1.lan:8000");
  await updateUpstreamState(redis, "test", "doc", { up: true, models: ["z-image-turbo"] });
}

describe("GET /v1/upstreams", () => {
  it("shows capabilities, loaded pipeline, breaker and params, and never a URL's credentials", async () => {
    await seed();
    const res = await fetch(`${api.url}/v1/upstreams`, auth);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain("hunter2");
    const { data } = JSON.parse(text) as { data: UpstreamState[] };
    const ref = data.find((u) => u.name === "ref")!;
    expect(ref).toMatchObject({
      url: "http://gpu0.lan:8003",
      capabilities: reference,
      loaded_pipeline: "edit",
      breaker: { state: "open", consecutive_failures: 3 },
      params: turbo,
    });
    // The OpenAPI document describes every field the route answers (it is written by hand).
    for (const u of data)
      expect(Object.keys(upstreamSchema.properties)).toEqual(expect.arrayContaining(Object.keys(u)));
    expect(data.find((u) => u.name === "doc")).toMatchObject({
      capabilities: null,
      loaded_pipeline: null,
      breaker: null,
      params: null,
    });
  });
});

describe("GET /v1/models", () => {
  it("lists each model's capabilities and, per upstream serving it, its defaults and bounds", async () => {
    await seed();
    const res = await fetch(`${api.url}/v1/models`, auth);
    const { data } = (await res.json()) as { data: Array<Record<string, unknown>> };
    expect(data.map((m) => m.id).sort()).toEqual([
      "Tongyi-MAI/Z-Image",
      "Tongyi-MAI/Z-Image-Edit",
      "z-image-turbo",
    ]);
    expect(data.find((m) => m.id === "Tongyi-MAI/Z-Image-Edit")).toEqual({
      id: "Tongyi-MAI/Z-Image-Edit",
      object: "model",
      created: 0,
      owned_by: "zimage-gateway",
      upstreams: ["ref"],
      capabilities: ["image-to-image"],
      params: [{ upstream: "ref", ...turbo }],
    });
    for (const m of data)
      expect(Object.keys(modelSchema.properties)).toEqual(expect.arrayContaining(Object.keys(m)));
    expect(data.find((m) => m.id === "z-image-turbo")).toMatchObject({
      upstreams: ["doc"],
      capabilities: null,
      params: [{ upstream: "doc", defaults: {}, bounds: {} }],
    });
  });

  it("keeps OpenAI's models.list() shape", async () => {
    await seed();
    const client = new OpenAI({ apiKey: ADMIN, baseURL: `${api.url}/v1`, maxRetries: 0 });
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      expect(model).toMatchObject({ object: "model", created: 0, owned_by: "zimage-gateway" });
      ids.push(model.id);
    }
    expect(ids).toContain("Tongyi-MAI/Z-Image");
  });

  it("names the default model, served by every upstream, until an upstream's list is known", async () => {
    await registerUpstream(redis, "test", "cold", "http://gpu2.lan:8000");
    const { data } = (await (await fetch(`${api.url}/v1/models`, auth)).json()) as {
      data: Array<Record<string, unknown>>;
    };
    expect(data).toEqual([
      expect.objectContaining({ id: "z-image-turbo", upstreams: ["cold"], capabilities: null }),
    ]);
  });
});
