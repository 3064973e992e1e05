import {
  createRedis,
  registerUpstream,
  type UpstreamCapabilities,
  type UpstreamParamRules,
  updateUpstreamState,
} from "@zimage/core";
import { makePng } from "@zimage/testkit";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

/**
 * Submit refuses what no upstream can run (issue #15), on every submit endpoint: the native JSON and
 * multipart `POST /v1/jobs`, and the OpenAI facade's generations and edits. Upstream states are
 * written into Redis as a dispatcher would after discovering its upstream.
 */
let api: TestApi;
let redis: Redis;
beforeAll(async () => {
  api = await startTestApi();
  redis = createRedis(api.redis.url);
});
afterAll(async () => {
  redis?.disconnect();
  await api?.close();
});
beforeEach(async () => {
  // Each test registers its own upstreams; the api reads the set of names (store/upstream-state.ts).
  await redis.del("test:upstreams");
});

const modes = (generate: "sync" | null, edit: "sync" | "async" | null): UpstreamCapabilities => ({
  generate,
  edit,
  source: { generate: "discovered", edit: "discovered" },
  routes_from: "openapi",
  routes: [],
  models: [],
  health_shape: generate && edit === "async" ? "pipelines" : "single",
  discovered_at: new Date().toISOString(),
});

async function upstream(
  name: string,
  capabilities: UpstreamCapabilities | null,
  params: UpstreamParamRules | null = null,
): Promise<void> {
  await registerUpstream(redis, "test", name, `http://${name}.invalid`);
  await updateUpstreamState(redis, "test", name, { capabilities, params, owner: `worker-of-${name}` });
}

type Kind = "generate" | "edit";
interface Shape {
  name: string;
  kind: Kind;
  submit(fields: Record<string, string | number>): Promise<Response>;
}

const png = makePng(64, 64);
const multipart = (fields: Record<string, string | number>) => {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, String(v));
  fd.append("image", new Blob([png], { type: "image/png" }), "in.png");
  return fd;
};
// The OpenAI endpoints answer 202 with the job under `Prefer: respond-async` instead of waiting for it.
const async = { prefer: "respond-async" };

const SHAPES: Shape[] = [
  {
    name: "native JSON POST /v1/jobs",
    kind: "generate",
    submit: (f) =>
      fetch(`${api.url}/v1/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(f),
      }),
  },
  {
    name: "native multipart POST /v1/jobs",
    kind: "edit",
    submit: (f) => fetch(`${api.url}/v1/jobs`, { method: "POST", body: multipart(f) }),
  },
  {
    name: "OpenAI POST /v1/images/generations",
    kind: "generate",
    submit: (f) =>
      fetch(`${api.url}/v1/images/generations`, {
        method: "POST",
        headers: { "content-type": "application/json", ...async },
        body: JSON.stringify(f),
      }),
  },
  {
    name: "OpenAI POST /v1/images/edits",
    kind: "edit",
    submit: (f) =>
      fetch(`${api.url}/v1/images/edits`, { method: "POST", headers: async, body: multipart(f) }),
  },
];

const other = (kind: Kind): Kind => (kind === "generate" ? "edit" : "generate");
/** Modes where every upstream offers `kind` and not the other kind. */
const only = (kind: Kind) => (kind === "generate" ? modes("sync", null) : modes(null, "async"));

/** The error's code, from the native `{error:{code}}` or OpenAI's `{error:{code,param}}` body. */
async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string; param?: string | null } }).error;
}

async function queued(): Promise<number> {
  return (await api.queue.getJobCounts("prioritized", "waiting")).prioritized ?? 0;
}

describe.each(SHAPES)("submit on $name", (shape) => {
  it("answers 409 capability_unavailable when every upstream was discovered without the job's kind", async () => {
    await upstream("a", only(other(shape.kind)));
    await upstream("b", only(other(shape.kind)));
    const before = await queued();
    const res = await shape.submit({ prompt: "a fox" });
    expect(res.status).toBe(409);
    const error = await errorOf(res);
    expect(error.code).toBe("capability_unavailable");
    expect(error.message).toContain(shape.kind);
    expect(error.message).toMatch(/no upstream/);
    expect(await queued()).toBe(before);
  });

  it("queues the job when one upstream offers the kind", async () => {
    await upstream("a", only(other(shape.kind)));
    await upstream("b", only(shape.kind));
    const res = await shape.submit({ prompt: "a fox" });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { kind: string }).kind).toBe(shape.kind);
  });

  it("queues the job while some upstream is not yet discovered (it waits)", async () => {
    await upstream("a", only(other(shape.kind)));
    await upstream("b", null);
    expect((await shape.submit({ prompt: "a fox" })).status).toBe(202);
  });

  it("answers 422 param_out_of_range, naming the allowed range, for steps outside every upstream's bounds", async () => {
    const turbo: UpstreamParamRules = {
      defaults: { num_inference_steps: 8, guidance_scale: 0 },
      bounds: { num_inference_steps: [8, 9], guidance_scale: [0, 0] },
    };
    await upstream("turbo", null, turbo);
    await upstream("other", only(other(shape.kind)));
    const res = await shape.submit({ prompt: "a fox", num_inference_steps: 50 });
    expect(res.status).toBe(422);
    const error = await errorOf(res);
    expect(error.code).toBe("param_out_of_range");
    expect(error.message).toContain("8-9 (turbo)");
    // OpenAI's shape names the parameter, as its SDKs expect.
    if (shape.name.startsWith("OpenAI")) expect(error.param).toBe("num_inference_steps");
    // Left out, the field gets the upstream's default at dispatch; within bounds, it is accepted.
    expect((await shape.submit({ prompt: "a fox" })).status).toBe(202);
    expect((await shape.submit({ prompt: "a fox", num_inference_steps: 9, guidance_scale: 0 })).status).toBe(
      202,
    );
  });
});

describe("submit, whatever the endpoint", () => {
  it("accepts any job while no upstream is registered yet", async () => {
    for (const shape of SHAPES) expect((await shape.submit({ prompt: "a fox" })).status).toBe(202);
  });

  it("records which defaultable fields the submitter left out, and a retry keeps them", async () => {
    await upstream("a", modes("sync", "sync"));
    const res = await SHAPES[0]!.submit({ prompt: "a fox", guidance_scale: 2 });
    const { id } = (await res.json()) as { id: string };
    expect((await api.queue.getJob(id))?.data.defaulted).toEqual(["num_inference_steps"]);
    const retried = await fetch(`${api.url}/v1/jobs/${id}/retry`, { method: "POST" });
    const again = (await retried.json()) as { id: string };
    expect((await api.queue.getJob(again.id))?.data.defaulted).toEqual(["num_inference_steps"]);
  });

  it("refuses a retry once no upstream can run the job's kind", async () => {
    await upstream("a", modes("sync", "sync"));
    const { id } = (await (await SHAPES[0]!.submit({ prompt: "a fox" })).json()) as { id: string };
    await upstream("a", modes(null, "async"));
    const res = await fetch(`${api.url}/v1/jobs/${id}/retry`, { method: "POST" });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe("capability_unavailable");
  });
});
