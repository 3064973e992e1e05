import { Agent } from "undici";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_IMAGE_TIMEOUT_MS, requestTimeouts, resolveClientOptions } from "./client-options";
import { UpstreamTimeoutError } from "./errors";
import { ONE_IMAGE, type StubHandler, type StubServer, sendJson, startStub } from "./testing/stub-server";
import type { ZImageClientOptions } from "./types";
import { ZImageClient } from "./zimage-client";

/** undici's built-in headersTimeout/bodyTimeout, which a first image request can outlast. */
const UNDICI_DEFAULT_TIMEOUT_MS = 300_000;

let stub: StubServer | undefined;
let client: ZImageClient | undefined;

async function setup(handler: StubHandler, opts: Partial<ZImageClientOptions> = {}) {
  stub = await startStub(handler);
  client = new ZImageClient({ baseUrl: stub.url, ...opts });
  return { stub, client };
}

afterEach(async () => {
  vi.restoreAllMocks();
  await stub?.close();
  await client?.close();
  client = undefined;
  stub = undefined;
});

const hang: StubHandler = () => {
  /* never answers */
};

async function timed(promise: Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const started = performance.now();
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { err, ms: performance.now() - started };
}

describe("timeouts", () => {
  it("image calls give undici 600 s header and body timeouts by default, above its 300 s", () => {
    const t = requestTimeouts("image", resolveClientOptions({ baseUrl: "http://127.0.0.1:8003" }));
    expect(t).toEqual({ deadlineMs: 600_000, headersTimeout: 600_000, bodyTimeout: 600_000 });
    expect(DEFAULT_IMAGE_TIMEOUT_MS).toBeGreaterThan(UNDICI_DEFAULT_TIMEOUT_MS);
    const control = requestTimeouts("control", resolveClientOptions({ baseUrl: "http://127.0.0.1:8003" }));
    expect(control).toEqual({ deadlineMs: 10_000, headersTimeout: 10_000, bodyTimeout: 10_000 });
  });

  it("the client really hands those timeouts to undici on every image request", async () => {
    const dispatch = vi.spyOn(Agent.prototype, "dispatch");
    const { client } = await setup((req, res) => {
      if (req.path === "/v1/internal/status") return sendJson(res, 200, { status: "idle" });
      sendJson(res, 200, ONE_IMAGE);
    });
    await client.generate({ prompt: "x" });
    await client.status();
    const sent = dispatch.mock.calls.map(([opts]) => ({
      path: opts.path,
      headersTimeout: opts.headersTimeout,
      bodyTimeout: opts.bodyTimeout,
    }));
    expect(sent).toEqual([
      { path: "/v1/images/generations", headersTimeout: 600_000, bodyTimeout: 600_000 },
      { path: "/v1/internal/status", headersTimeout: 10_000, bodyTimeout: 10_000 },
    ]);
  });

  it("a hanging server times out at imageTimeoutMs, quickly when it is small", async () => {
    const { client } = await setup(hang, { imageTimeoutMs: 500 });
    const { err, ms } = await timed(client.generate({ prompt: "x" }));
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect(err).toMatchObject({ code: "upstream_timeout", retryable: true, timeoutMs: 500 });
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(2000);
  });

  it("a per-call timeoutMs overrides the client's", async () => {
    const { client } = await setup(hang);
    const { err, ms } = await timed(client.edit(editRequest(), { timeoutMs: 200 }));
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect(ms).toBeLessThan(1500);
  });

  it("control calls use controlTimeoutMs", async () => {
    const { client } = await setup(hang, { controlTimeoutMs: 200 });
    const { err, ms } = await timed(client.health());
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect(ms).toBeLessThan(1500);
  });

  it("a body trickling in forever still ends at the deadline", async () => {
    const { client } = await setup(
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write("{");
        // A byte every 50 ms keeps undici's idle bodyTimeout from ever firing.
        const timer = setInterval(() => res.write(" "), 50);
        res.on("close", () => clearInterval(timer));
      },
      { imageTimeoutMs: 500 },
    );
    const { err, ms } = await timed(client.generate({ prompt: "x" }));
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect(ms).toBeLessThan(2000);
  });

  it("a slow answer inside the deadline succeeds", async () => {
    const { client } = await setup((_req, res) => void setTimeout(() => sendJson(res, 200, ONE_IMAGE), 300), {
      imageTimeoutMs: 2000,
    });
    await expect(client.generate({ prompt: "x" })).resolves.toEqual(ONE_IMAGE);
  });

  it("rejects a zero or negative timeout, which undici would read as 'never'", () => {
    expect(() => new ZImageClient({ baseUrl: "http://127.0.0.1:1", imageTimeoutMs: 0 })).toThrow(TypeError);
    expect(() => new ZImageClient({ baseUrl: "http://127.0.0.1:1", controlTimeoutMs: -1 })).toThrow(
      TypeError,
    );
  });
});

function editRequest() {
  return { image: Buffer.from("x"), filename: "a.png", contentType: "image/png", prompt: "x" };
}
