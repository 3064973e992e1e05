import {
  createRedis,
  recordJobTiming,
  registerUpstream,
  type UpstreamCapabilities,
  updateUpstreamState,
} from "@zimage/core";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

/** A queued job's `eta_seconds` counts a model load when its pipeline must be loaded first (issue #15). */
let api: TestApi;
let redis: Redis;
beforeAll(async () => {
  api = await startTestApi();
  redis = createRedis(api.redis.url);
  // 1024x1024 at 50 steps (cost 52.4288) in 10 s, and a 60 s model load.
  await recordJobTiming(redis, "test", "ref", { cost: 52.4288, inferenceMs: 10_000, loadMs: 60_000 });
});
afterAll(async () => {
  redis?.disconnect();
  await api?.close();
});

const reference = {
  generate: "sync",
  edit: "async",
  health_shape: "pipelines",
} as UpstreamCapabilities;

async function etaOf(body: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${api.url}/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const view = (await res.json()) as { eta_seconds: number; queue_position: number };
  expect(view.queue_position).toBeGreaterThan(0);
  return view.eta_seconds;
}

describe("eta_seconds", () => {
  it("adds one model load when the only upstream has the other pipeline loaded", async () => {
    await registerUpstream(redis, "test", "ref", "http://ref.invalid");
    await updateUpstreamState(redis, "test", "ref", {
      up: true,
      model_loaded: true,
      capabilities: reference,
      loaded_pipeline: "edit",
    });
    const switching = await etaOf({ prompt: "a fox" });
    await updateUpstreamState(redis, "test", "ref", { loaded_pipeline: "generate" });
    const warm = await etaOf({ prompt: "a fox" });
    // The second job is one place further back (10 s more), yet 60 s sooner: no load ahead of it.
    expect(switching - warm).toBe(60 - 10);
  });
});
