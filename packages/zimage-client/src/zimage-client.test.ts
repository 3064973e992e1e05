import { makePng, startH2TlsServer } from "@zimage/testkit";
import { Response } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import {
  ONE_IMAGE,
  type StubHandler,
  type StubServer,
  sendJson,
  sendText,
  startStub,
} from "./testing/stub-server";
import { ZImageClient } from "./zimage-client";

let stub: StubServer | undefined;
let client: ZImageClient | undefined;

async function setup(
  handler: StubHandler,
  baseSuffix = "",
): Promise<{ stub: StubServer; client: ZImageClient }> {
  stub = await startStub(handler);
  client = new ZImageClient({ baseUrl: `${stub.url}${baseSuffix}` });
  return { stub, client };
}

afterEach(async () => {
  await client?.close();
  await stub?.close();
  client = undefined;
  stub = undefined;
});

describe("ZImageClient against a stub upstream", () => {
  it("generate posts the request as JSON and returns the images", async () => {
    const { stub, client } = await setup((_req, res) => sendJson(res, 200, ONE_IMAGE));
    const body = {
      prompt: 'a sign that says "hello"',
      size: "1024x1024",
      n: 1,
      response_format: "b64_json" as const,
      num_inference_steps: 8,
      guidance_scale: 4,
      cfg_normalization: false,
      seed: 42,
    };
    await expect(client.generate(body)).resolves.toEqual(ONE_IMAGE);
    const [req] = stub.requests;
    expect(req?.method).toBe("POST");
    expect(req?.path).toBe("/v1/images/generations");
    expect(req?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(req!.body.toString())).toEqual(body);
  });

  it("edit sends the image file and every field as multipart/form-data", async () => {
    const png = makePng(64, 32, 7);
    const { stub, client } = await setup((_req, res) => sendJson(res, 200, ONE_IMAGE));
    await client.edit({
      image: png,
      filename: "input.png",
      contentType: "image/png",
      prompt: "make it blue",
      size: "512x512",
      n: 2,
      response_format: "b64_json",
      num_inference_steps: 20,
      guidance_scale: 1.5,
      negative_prompt: "blurry",
      cfg_normalization: true,
    });
    const req = stub.requests[0]!;
    expect(req.path).toBe("/v1/images/edits");
    expect(req.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
    // Parse with a real multipart parser (undici's WHATWG Response), not by string matching.
    const form = await new Response(req.body, {
      headers: { "content-type": req.headers["content-type"]! },
    }).formData();
    const image = form.get("image") as unknown as File;
    expect(image.name).toBe("input.png");
    expect(image.type).toBe("image/png");
    expect(Buffer.from(await image.arrayBuffer()).equals(png)).toBe(true);
    const fields = Object.fromEntries([...form.entries()].filter(([k]) => k !== "image"));
    expect(fields).toEqual({
      prompt: "make it blue",
      size: "512x512",
      n: "2",
      response_format: "b64_json",
      num_inference_steps: "20",
      guidance_scale: "1.5",
      negative_prompt: "blurry",
      cfg_normalization: "true",
    });
  });

  it("edit leaves unset optional fields out of the form", async () => {
    const { stub, client } = await setup((_req, res) => sendJson(res, 200, ONE_IMAGE));
    await client.edit({ image: makePng(8, 8), filename: "a.png", contentType: "image/png", prompt: "x" });
    const req = stub.requests[0]!;
    const form = await new Response(req.body, {
      headers: { "content-type": req.headers["content-type"]! },
    }).formData();
    expect([...form.keys()].sort()).toEqual(["image", "prompt"]);
  });

  it("url results can be downloaded, relative ones against the base URL", async () => {
    const png = makePng(16, 16);
    const { stub, client } = await setup((req, res) => {
      if (req.path === "/v1/images/generations") {
        return sendJson(res, 200, { created: 1, data: [{ url: "/images/a.png", revised_prompt: null }] });
      }
      if (req.path.startsWith("/images/")) {
        res.writeHead(200, { "content-type": "image/png" });
        return void res.end(png);
      }
      sendText(res, 404, "text/plain", "no");
    });
    const result = await client.generate({ prompt: "x", response_format: "url" });
    expect(result.data).toEqual([{ url: "/images/a.png" }]);
    expect((await client.download(result.data[0]!.url!)).equals(png)).toBe(true);
    expect((await client.download(`${stub.url}/images/b.png`)).equals(png)).toBe(true);
  });

  it("a download that is not an image is a protocol error", async () => {
    const { client } = await setup((_req, res) => sendText(res, 200, "text/html", "<html>login</html>"));
    await expect(client.download("/images/a.png")).rejects.toMatchObject({
      name: "UpstreamProtocolError",
      code: "upstream_protocol_error",
    });
  });

  it("health reports whether the model is loaded", async () => {
    let loaded = false;
    const { client } = await setup((_req, res) =>
      sendJson(res, 200, { status: "healthy", model_loaded: loaded }),
    );
    await expect(client.health()).resolves.toEqual({
      ok: true,
      modelLoaded: false,
      pipelines: { generate: false, edit: false },
      shape: "single",
      raw: { status: "healthy", model_loaded: false },
    });
    loaded = true;
    await expect(client.health()).resolves.toMatchObject({ ok: true, modelLoaded: true });
  });

  it("health answers ok: false instead of throwing when the server reports trouble", async () => {
    let answer: [number, unknown] = [503, { detail: "starting" }];
    const { client } = await setup((_req, res) => sendJson(res, ...answer));
    await expect(client.health()).resolves.toEqual({
      ok: false,
      modelLoaded: null,
      pipelines: { generate: null, edit: null },
      shape: "unknown",
      raw: { detail: "starting" },
    });
    answer = [200, { status: "unhealthy" }];
    await expect(client.health()).resolves.toMatchObject({ ok: false });
    answer = [200, "OK"];
    await expect(client.health()).resolves.toEqual({
      ok: true,
      modelLoaded: null,
      pipelines: { generate: null, edit: null },
      shape: "unknown",
      raw: "OK",
    });
  });

  it("status is busy only while the server says generating", async () => {
    let status: unknown = { status: "generating" };
    const { stub, client } = await setup((_req, res) => sendJson(res, 200, status));
    const unknown = { generate: null, edit: null };
    await expect(client.status()).resolves.toEqual({
      busy: true,
      status: "generating",
      pipelines: unknown,
      raw: status,
    });
    status = { status: "idle", model_loaded: true };
    await expect(client.status()).resolves.toEqual({
      busy: false,
      status: "idle",
      pipelines: { generate: true, edit: true },
      raw: status,
    });
    // The reference server's status body: "generating" during a load too, one flag per pipeline.
    status = { status: "generating", t2i_loaded: false, edit_loaded: true };
    await expect(client.status()).resolves.toEqual({
      busy: true,
      status: "generating",
      pipelines: { generate: false, edit: true },
      raw: status,
    });
    status = { state: "??" };
    await expect(client.status()).resolves.toMatchObject({ busy: false, status: "unknown" });
    expect(stub.requests.every((r) => r.path === "/v1/internal/status" && r.method === "GET")).toBe(true);
  });

  it("status can be polled while an image request is open", async () => {
    const { client } = await setup((req, res) => {
      if (req.path === "/v1/internal/status") return sendJson(res, 200, { status: "generating" });
      setTimeout(() => sendJson(res, 200, ONE_IMAGE), 300);
    });
    const generating = client.generate({ prompt: "slow" });
    await expect(client.status()).resolves.toMatchObject({ busy: true });
    await expect(generating).resolves.toEqual(ONE_IMAGE);
  });

  it("models passes the JSON through", async () => {
    const models = { object: "list", data: [{ id: "z-image-turbo", capabilities: ["generate", "edit"] }] };
    const { client } = await setup((_req, res) => sendJson(res, 200, models));
    await expect(client.models()).resolves.toEqual(models);
  });

  it("unload posts, and falls back to GET when POST is not routed", async () => {
    let allowPost = true;
    const { stub, client } = await setup((req, res) => {
      if (req.method === "POST" && !allowPost) return sendJson(res, 405, { detail: "Method Not Allowed" });
      sendJson(res, 200, { status: "unloaded" });
    });
    await expect(client.unload()).resolves.toEqual({ status: "unloaded" });
    allowPost = false;
    await expect(client.unload()).resolves.toEqual({ status: "unloaded" });
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /v1/internal/unload",
      "POST /v1/internal/unload",
      "GET /v1/internal/unload",
    ]);
  });

  it("a base URL with a path prefix keeps the prefix", async () => {
    const { stub, client } = await setup((_req, res) => sendJson(res, 200, { status: "idle" }), "/zimage");
    await client.status();
    expect(stub.requests[0]?.path).toBe("/zimage/v1/internal/status");
  });

  it("null optional fields in the images response count as absent", async () => {
    const { client } = await setup((_req, res) =>
      sendJson(res, 200, {
        created: 5,
        data: [{ b64_json: "AAAA", url: null, revised_prompt: null, extra: 1 }],
      }),
    );
    await expect(client.generate({ prompt: "x" })).resolves.toEqual({
      created: 5,
      data: [{ b64_json: "AAAA" }],
    });
  });
});

describe("ZImageClient over TLS", () => {
  it("speaks HTTP/1.1 to an upstream that offers HTTP/2 (undici 8 would pick h2)", async () => {
    const upstream = await startH2TlsServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ status: "ok" }));
    });
    const tls = new ZImageClient({ baseUrl: upstream.url });
    try {
      expect((await tls.health()).ok).toBe(true);
      expect(upstream.versions).toEqual(["1.1"]);
    } finally {
      await tls.close();
      await upstream.close();
    }
  });
});
