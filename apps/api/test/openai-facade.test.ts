import { type Cluster, startCluster } from "@zimage/test-cluster";
import { makePng, pngSize } from "@zimage/testkit";
import { renderImage } from "@zimage/zimage-sim";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The official `openai` package, pointed at the gateway, against the real api, worker and simulator:
 * the facade must be a drop-in for OpenAI's Images API.
 */
const ADMIN = "admin-key-for-the-openai-facade-tests-0123456789";
let cluster: Cluster;
let client: OpenAI;
let key: string;

beforeAll(async () => {
  cluster = await startCluster({ env: { ADMIN_API_KEY: ADMIN, OPENAI_WAIT_SECONDS: "5" } });
  key = await cluster.createKey("openai-user");
  client = new OpenAI({ apiKey: key, baseURL: `${cluster.apiUrl}/v1`, maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

/** The OpenAI SDK's error for a call that must fail. */
async function failure(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.APIError);
  return err as InstanceType<typeof OpenAI.APIError>;
}

describe("OpenAI-compatible images API", () => {
  it("generates through images.generate and answers the PNG inline", async () => {
    const res = await client.images.generate({
      model: "z-image-turbo",
      prompt: "a lighthouse at dusk",
      size: "256x192",
      response_format: "b64_json",
      // Z-Image's own fields ride along, as with the upstream server.
      num_inference_steps: 8,
      guidance_scale: 3,
    } as OpenAI.ImageGenerateParamsNonStreaming);
    expect(res.created).toBeGreaterThan(1_700_000_000);
    expect(res.data).toHaveLength(1);
    const png = Buffer.from(res.data![0]!.b64_json!, "base64");
    expect(pngSize(png)).toEqual({ width: 256, height: 192 });
    const expected = renderImage({
      prompt: "a lighthouse at dusk",
      width: 256,
      height: 192,
      steps: 8,
      guidance: 3,
      index: 0,
    });
    expect(png.equals(expected)).toBe(true);
    expect(res.data![0]!.revised_prompt).toEqual(expect.any(String));
  });

  it("answers signed gateway URLs for response_format url, one per image", async () => {
    const res = await client.images.generate({ prompt: "two boats", size: "128x128", n: 2 });
    expect(res.data).toHaveLength(2);
    for (const item of res.data!) {
      expect(item.url).toMatch(new RegExp(`^${cluster.apiUrl}/v1/jobs/[0-9A-Z]{26}/images/\\d\\?`));
      // A signed URL opens without the API key.
      const image = await fetch(item.url!);
      expect(image.status).toBe(200);
      expect(pngSize(Buffer.from(await image.arrayBuffer()))).toEqual({ width: 128, height: 128 });
    }
  });

  it("edits through images.edit with a real multipart upload", async () => {
    const input = makePng(96, 64);
    const res = await client.images.edit({
      image: await toFile(input, "input.png", { type: "image/png" }),
      prompt: "make it blue",
      response_format: "b64_json",
    });
    // Without a size the edit renders at the input's, fitted to the bounds (issue #17): 96x64 is
    // under the 128 minimum, so the upstream is asked for 192x128, the same shape.
    expect(pngSize(Buffer.from(res.data![0]!.b64_json!, "base64"))).toEqual({ width: 192, height: 128 });
  });

  it("lists the upstreams' model", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain("z-image-turbo");
  });

  it("retrieves a model in OpenAI's shape, and answers an unknown one with OpenAI's 404", async () => {
    const model = await client.models.retrieve("z-image-turbo");
    expect(model).toMatchObject({ id: "z-image-turbo", object: "model", owned_by: "zimage-gateway" });
    expect(model.created).toEqual(expect.any(Number));
    const missing = await failure(client.models.retrieve("dall-e-3"));
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect([missing.status, missing.type, missing.code, missing.param]).toEqual([
      404,
      "invalid_request_error",
      "model_not_found",
      "model",
    ]);
    expect(missing.message).toMatch(/dall-e-3/);
  });

  it("answers an unknown route under the facade in OpenAI's shape", async () => {
    const res = await fetch(`${cluster.apiUrl}/v1/images/variations`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).toEqual({
      message: "no route for POST /v1/images/variations",
      type: "invalid_request_error",
      code: "not_found",
      param: null,
    });
  });

  it("answers bad input with OpenAI's error shape, naming the parameter", async () => {
    const badSize = await failure(client.images.generate({ prompt: "x", size: "1000x1000" as "1024x1024" }));
    expect(badSize.status).toBe(400);
    expect(badSize).toBeInstanceOf(OpenAI.BadRequestError);
    expect(badSize.type).toBe("invalid_request_error");
    expect(badSize.code).toBe("invalid_request");
    expect(badSize.param).toBe("size");
    expect(badSize.message).toMatch(/divisible by 32/);

    const tooMany = await failure(client.images.generate({ prompt: "x", n: 9 }));
    expect([tooMany.status, tooMany.param]).toEqual([400, "n"]);

    const empty = await failure(client.images.generate({ prompt: "   " }));
    expect([empty.status, empty.param]).toEqual([400, "prompt"]);

    // A mask belongs to edits, and the gateway takes none: refused naming it, on generations too.
    const maskOnGenerate = await failure(
      client.images.generate({ prompt: "x", mask: "aGVsbG8=" } as OpenAI.ImageGenerateParamsNonStreaming),
    );
    expect([maskOnGenerate.status, maskOnGenerate.type, maskOnGenerate.param]).toEqual([
      400,
      "invalid_request_error",
      "mask",
    ]);
    const unknownField = await failure(
      client.images.generate({ prompt: "x", colour: "red" } as OpenAI.ImageGenerateParamsNonStreaming),
    );
    expect([unknownField.status, unknownField.param]).toEqual([400, "colour"]);

    const streaming = await failure(
      client.images.generate({ prompt: "x", stream: true }) as Promise<unknown>,
    );
    expect([streaming.status, streaming.param]).toEqual([400, "stream"]);

    const masked = await failure(
      client.images.edit({
        image: await toFile(makePng(64, 64), "in.png", { type: "image/png" }),
        mask: await toFile(makePng(64, 64), "mask.png", { type: "image/png" }),
        prompt: "x",
      }),
    );
    expect([masked.status, masked.param]).toEqual([400, "mask"]);

    const notAnImage = await failure(
      client.images.edit({ image: await toFile(Buffer.from("hello"), "in.png"), prompt: "x" }),
    );
    expect([notAnImage.status, notAnImage.code]).toEqual([400, "invalid_image"]);

    const stranger = new OpenAI({
      apiKey: "zk_nobody00_not-a-real-key",
      baseURL: `${cluster.apiUrl}/v1`,
      maxRetries: 0,
    });
    const unauthorized = await failure(stranger.images.generate({ prompt: "x" }));
    expect(unauthorized).toBeInstanceOf(OpenAI.AuthenticationError);
    expect([unauthorized.status, unauthorized.code, unauthorized.type]).toEqual([
      401,
      "invalid_api_key",
      "authentication_error",
    ]);
    // Keys exist here, so open local mode (any key) is over: the message says where a key comes from.
    expect(unauthorized.message).toMatch(/open local mode.*ended/);
    expect(unauthorized.message).toMatch(/zimage keys create/);
  });

  it("reports a job that fails on the GPU as an error that the client does not retry", async () => {
    const sim = cluster.sims[0]!;
    sim.setFaults({ oomAbovePixels: 300 * 300 });
    const before = sim.stats().requests.length;
    try {
      const retrying = new OpenAI({ apiKey: key, baseURL: `${cluster.apiUrl}/v1`, maxRetries: 2 });
      const oom = await failure(retrying.images.generate({ prompt: "huge", size: "512x512" }));
      expect([oom.status, oom.code, oom.param]).toEqual([400, "upstream_out_of_memory", "size"]);
      expect(oom.message).toMatch(/smaller size/);
      expect(oom.headers?.get("x-should-retry")).toBe("false");
      expect(oom.headers?.get("x-job-id")).toMatch(/^[0-9A-Z]{26}$/);
      // One job, one request at the GPU: neither the gateway nor the SDK sent it again.
      expect(sim.stats().requests.length - before).toBe(1);
    } finally {
      sim.setFaults({ oomAbovePixels: null });
    }
  });

  it("answers 202 with the job for Prefer: respond-async", async () => {
    const res = await fetch(`${cluster.apiUrl}/v1/images/generations`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        prefer: "respond-async",
      },
      body: JSON.stringify({ prompt: "later", size: "128x128" }),
    });
    expect(res.status).toBe(202);
    const job = (await res.json()) as { id: string; object: string; status: string };
    expect(job.object).toBe("image.job");
    expect(res.headers.get("location")).toBe(`/v1/jobs/${job.id}`);
    expect((await cluster.waitFor(job.id, undefined, 30_000, key)).status).toBe("succeeded");
  });

  it("answers 504 with the job id when the job outlasts OPENAI_WAIT_SECONDS, and keeps the job", async () => {
    const sim = cluster.sims[0]!;
    sim.setFaults({ latencyMs: 6_500 });
    try {
      const slow = await failure(client.images.generate({ prompt: "slow", size: "128x128" }));
      expect([slow.status, slow.code]).toEqual([504, "job_wait_timeout"]);
      const id = slow.headers?.get("x-job-id") ?? "";
      expect(id).toMatch(/^[0-9A-Z]{26}$/);
      expect(slow.message).toContain(id);
      sim.setFaults({ latencyMs: 0 });
      expect((await cluster.waitFor(id, undefined, 30_000, key)).status).toBe("succeeded");
    } finally {
      sim.setFaults({ latencyMs: 0 });
    }
  });
});
