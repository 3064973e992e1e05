import { once } from "node:events";
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  isRetryable,
  MAX_ERROR_BODY_CHARS,
  UpstreamConnectionError,
  UpstreamError,
  UpstreamHttpError,
  UpstreamModelLoadError,
  UpstreamOutOfMemoryError,
  UpstreamProtocolError,
  UpstreamTimeoutError,
} from "./errors";
import {
  ONE_IMAGE,
  type StubHandler,
  type StubServer,
  sendJson,
  sendText,
  startStub,
} from "./testing/stub-server";
import type { ZImageClientOptions } from "./types";
import { ZImageClient } from "./zimage-client";

let stub: StubServer | undefined;
let client: ZImageClient | undefined;

async function setup(handler: StubHandler, opts: Partial<ZImageClientOptions> = {}) {
  stub = await startStub(handler);
  client = new ZImageClient({ baseUrl: stub.url, ...opts });
  return { stub, client };
}

afterEach(async () => {
  // destroy-style shutdown: some tests leave requests hanging on purpose.
  await stub?.close();
  await client?.close();
  client = undefined;
  stub = undefined;
});

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const err = await promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}

describe("upstream HTTP errors", () => {
  it('500 "Model loading failed" is a retryable model-load error', async () => {
    const { client, stub } = await setup((_req, res) =>
      sendJson(res, 500, { detail: "Model loading failed: weights not found" }),
    );
    const err = await failure(client.generate({ prompt: "x" }));
    expect(err).toBeInstanceOf(UpstreamModelLoadError);
    expect(err).toBeInstanceOf(UpstreamHttpError);
    expect(err).toMatchObject({
      code: "upstream_model_load_failed",
      status: 500,
      retryable: true,
      retryAfterMs: 10_000,
      upstreamUrl: `${stub.url}/v1/images/generations`,
      message: "upstream answered HTTP 500: Model loading failed: weights not found",
    });
    expect(err.body).toContain("Model loading failed");
    expect(isRetryable(err)).toBe(true);
  });

  // The reference server's words (shared/zimage-api.md): "Model loading failed" never appears.
  it.each([
    "T2I Load Error: Repository Not Found for url",
    "500: Edit Load Error: CUDA driver missing",
    "something went wrong (t2i load error)",
  ])('a 500 whose detail says "%s" is a model-load error', async (detail) => {
    const { client } = await setup((_req, res) => sendJson(res, 500, { detail }));
    const err = await failure(client.generate({ prompt: "x" }));
    expect(err).toBeInstanceOf(UpstreamModelLoadError);
    expect(err).toMatchObject({ code: "upstream_model_load_failed", retryable: true });
  });

  it("a load error in a 4xx is still the 4xx (only a 500 reports a failed load)", async () => {
    const { client } = await setup((_req, res) => sendJson(res, 400, { detail: "Load Error: bad" }));
    const err = await failure(client.generate({ prompt: "x" }));
    expect(err.constructor).toBe(UpstreamHttpError);
    expect(err).toMatchObject({ status: 400, code: "upstream_rejected" });
  });

  it.each([
    ['{"detail":""}', "application/json"],
    ['{"detail":null}', "application/json"],
    ["{}", "application/json"],
    ["", "text/plain"],
    ["  \n", "text/plain"],
  ])("a 500 with an empty detail (%j) is flagged emptyDetail", async (body, type) => {
    const { client } = await setup((_req, res) => sendText(res, 500, type, body));
    const err = await failure(client.generate({ prompt: "x" }));
    expect(err.constructor).toBe(UpstreamHttpError);
    expect(err).toMatchObject({ status: 500, code: "upstream_error", retryable: true, emptyDetail: true });
  });

  it.each([
    [500, '{"detail":"boom"}', "application/json"],
    [500, "Internal Server Error", "text/plain"],
    [502, "", "text/plain"],
  ])("a %i with body %j is not emptyDetail", async (status, body, type) => {
    const { client } = await setup((_req, res) => sendText(res, status, type, body));
    const err = await failure(client.generate({ prompt: "x" }));
    expect(err).toMatchObject({ status, emptyDetail: false });
  });

  it("a CUDA out-of-memory 500 is an out-of-memory error, not retryable at the same size", async () => {
    const { client } = await setup((_req, res) =>
      sendText(
        res,
        500,
        "text/plain",
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
      ),
    );
    const err = await failure(client.generate({ prompt: "x", size: "2048x2048" }));
    expect(err).toBeInstanceOf(UpstreamOutOfMemoryError);
    expect(err).toMatchObject({ code: "upstream_out_of_memory", status: 500, retryable: false });
    expect((err as UpstreamOutOfMemoryError).suggestedSize).toBe("512x512");
    expect(isRetryable(err)).toBe(false);
  });

  it("an OOM reported as JSON error is recognised too", async () => {
    const { client } = await setup((_req, res) =>
      sendJson(res, 500, { error: { message: "OOM while decoding" } }),
    );
    const err = await failure(client.edit(editRequest()));
    expect(err).toBeInstanceOf(UpstreamOutOfMemoryError);
    expect(err.message).toBe("upstream answered HTTP 500: OOM while decoding");
  });

  it("a FastAPI 400 carries the detail as message and is not retryable", async () => {
    const { client } = await setup((_req, res) =>
      sendJson(res, 400, { detail: "size must be divisible by 32" }),
    );
    const err = await failure(client.generate({ prompt: "x", size: "1000x1000" }));
    expect(err.constructor).toBe(UpstreamHttpError);
    expect(err).toMatchObject({
      code: "upstream_rejected",
      status: 400,
      retryable: false,
      message: "upstream answered HTTP 400: size must be divisible by 32",
      body: '{"detail":"size must be divisible by 32"}',
    });
  });

  it("a FastAPI 422 validation list is summarised", async () => {
    const { client } = await setup((_req, res) =>
      sendJson(res, 422, { detail: [{ loc: ["body", "prompt"], msg: "Field required", type: "missing" }] }),
    );
    const err = await failure(client.generate({ prompt: "" }));
    expect(err.message).toBe("upstream answered HTTP 422: body.prompt: Field required");
  });

  it("a 404 HTML page keeps the raw text in body", async () => {
    const html = "<!DOCTYPE html><html><body><h1>Not Found</h1></body></html>";
    const { client } = await setup((_req, res) => sendText(res, 404, "text/html", html));
    const err = await failure(client.models());
    expect(err).toBeInstanceOf(UpstreamHttpError);
    expect(err).toMatchObject({ status: 404, body: html, message: "upstream answered HTTP 404" });
  });

  it("a plain 503 is a retryable upstream_error", async () => {
    const { client } = await setup((_req, res) => sendJson(res, 503, { message: "busy" }));
    const err = await failure(client.status());
    expect(err).toMatchObject({
      code: "upstream_error",
      status: 503,
      retryable: true,
      message: expect.stringMatching(/busy$/),
    });
  });

  it("a huge error body is kept truncated", async () => {
    const { client } = await setup((_req, res) => sendText(res, 500, "text/plain", "x".repeat(200_000)));
    const err = await failure(client.generate({ prompt: "x" }));
    expect(err.body!.length).toBeLessThan(MAX_ERROR_BODY_CHARS + 100);
    expect(err.body).toMatch(/…\[truncated \d+ chars\]$/);
  });
});

describe("upstream protocol errors", () => {
  it("invalid JSON with a JSON content type", async () => {
    const { client } = await setup((_req, res) =>
      sendText(res, 200, "application/json", '{"created": 1, "data": ['),
    );
    const err = await failure(client.generate({ prompt: "x" }));
    expect(err).toBeInstanceOf(UpstreamProtocolError);
    expect(err).toMatchObject({ code: "upstream_protocol_error", retryable: false });
    expect(err.message).toMatch(/invalid JSON/);
  });

  it("a 200 with the wrong content type", async () => {
    const { client } = await setup((_req, res) =>
      sendText(res, 200, "text/html; charset=utf-8", "<html></html>"),
    );
    const err = await failure(client.generate({ prompt: "x" }));
    expect(err).toBeInstanceOf(UpstreamProtocolError);
    expect(err.message).toMatch(/text\/html/);
  });

  it.each([
    ["not an object", [1, 2]],
    ["no created", { data: [{ b64_json: "AA" }] }],
    ["data not an array", { created: 1, data: {} }],
    ["empty data", { created: 1, data: [] }],
    ["item without image", { created: 1, data: [{ revised_prompt: "x" }] }],
    ["b64_json not a string", { created: 1, data: [{ b64_json: 5 }] }],
  ])("an images response with a bad shape (%s)", async (_why, body) => {
    const { client } = await setup((_req, res) => sendJson(res, 200, body));
    await expect(client.generate({ prompt: "x" })).rejects.toBeInstanceOf(UpstreamProtocolError);
  });

  it("a body larger than maxResponseBytes (declared length) is refused", async () => {
    const { client } = await setup(
      (_req, res) => sendJson(res, 200, { ...ONE_IMAGE, pad: "x".repeat(10_000) }),
      {
        maxResponseBytes: 1000,
      },
    );
    const err = await failure(client.generate({ prompt: "x" }));
    expect(err).toBeInstanceOf(UpstreamProtocolError);
    expect(err.message).toMatch(/too large/);
  });

  it("a chunked body is cut off once it passes maxResponseBytes", async () => {
    let wrote = 0;
    const { client } = await setup(
      async (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        // Far more than the limit, unless the client stops reading and drops the connection.
        for (let i = 0; i < 2000 && !res.destroyed; i++) {
          res.write("x".repeat(1024));
          wrote += 1024;
          await new Promise((r) => setImmediate(r));
        }
        res.end();
      },
      { maxResponseBytes: 4096 },
    );
    const err = await failure(client.generate({ prompt: "x" }));
    expect(err).toBeInstanceOf(UpstreamProtocolError);
    expect(err.message).toMatch(/too large/);
    expect(wrote).toBeLessThan(2000 * 1024);
  });
});

describe("upstream connection failures", () => {
  it("a closed port is a retryable connection error (ECONNREFUSED)", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    await new Promise((r) => server.close(r));
    client = new ZImageClient({ baseUrl: `http://127.0.0.1:${port}` });
    const err = await failure(client.health());
    expect(err).toBeInstanceOf(UpstreamConnectionError);
    expect(err).toMatchObject({ code: "upstream_unavailable", retryable: true, causeCode: "ECONNREFUSED" });
  });

  it("a socket destroyed before the answer is a connection error", async () => {
    const { client } = await setup((req) => void req.raw.socket.destroy());
    const err = await failure(client.generate({ prompt: "x" }));
    expect(err).toBeInstanceOf(UpstreamConnectionError);
    expect(err.retryable).toBe(true);
  });

  it("a socket destroyed halfway through the body is a connection error", async () => {
    const { client } = await setup((req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100000" });
      res.write('{"created": 1, "data": [{"b64_json": "AAAA');
      setTimeout(() => req.raw.socket.destroy(), 50);
    });
    const err = await failure(client.generate({ prompt: "x" }));
    expect(err).toBeInstanceOf(UpstreamConnectionError);
  });
});

describe("caller aborts", () => {
  it("reject with the caller's reason, not an UpstreamError", async () => {
    const { client } = await setup(() => {
      /* never answers */
    });
    const controller = new AbortController();
    const reason = new Error("job canceled");
    setTimeout(() => controller.abort(reason), 50);
    await expect(client.generate({ prompt: "x" }, { signal: controller.signal })).rejects.toBe(reason);
  });
});

describe("isRetryable", () => {
  it("is false for anything that is not an UpstreamError", () => {
    expect(isRetryable(new Error("bug"))).toBe(false);
    expect(isRetryable("nope")).toBe(false);
    expect(isRetryable(new UpstreamTimeoutError("t", 1, { upstreamUrl: "http://x" }))).toBe(true);
  });
});

function editRequest() {
  return { image: Buffer.from("not really a png"), filename: "a.png", contentType: "image/png", prompt: "x" };
}
