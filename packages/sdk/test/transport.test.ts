import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { freePort } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { ZImageApiError, ZImageConnectionError, ZImageGateway } from "../src/index.js";

/** The SDK's retry rules against a real loopback server that answers as each case needs. */
let close: (() => void) | undefined;
afterEach(() => close?.());

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => handler(req, res, n++));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  close = () => {
    server.closeAllConnections();
    server.close();
  };
  const seen = () => n;
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const unavailable = (res: ServerResponse, retryAfter: string) =>
  res
    .writeHead(503, { "content-type": "application/json", "retry-after": retryAfter })
    .end(JSON.stringify({ error: { code: "service_unavailable", message: "the job store is unavailable" } }));

describe("retries", () => {
  it("retries a 503 after its Retry-After, then returns the answer", async () => {
    const server = await serve((_req, res, n) => {
      if (n < 2) return unavailable(res, "0");
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ object: "list", data: [] }));
    });
    const client = new ZImageGateway({ baseUrl: server.url, apiKey: "k" });
    expect(await client.list()).toEqual({ object: "list", data: [] });
    expect(server.seen()).toBe(3);
  });

  it("does not wait out a Retry-After longer than maxRetryDelayMs", async () => {
    const server = await serve((_req, res) => unavailable(res, "120"));
    const client = new ZImageGateway({ baseUrl: server.url, maxRetryDelayMs: 1000 });
    const err = await client.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZImageApiError);
    expect(err).toMatchObject({ status: 503, code: "service_unavailable", retryAfterSeconds: 120 });
    expect(server.seen()).toBe(1);
  });

  it("gives up after maxRetries", async () => {
    const server = await serve((_req, res) => unavailable(res, "0"));
    const client = new ZImageGateway({ baseUrl: server.url, maxRetries: 2 });
    await expect(client.list()).rejects.toMatchObject({ status: 503 });
    expect(server.seen()).toBe(3);
  });

  it("does not retry a client error", async () => {
    const server = await serve((_req, res) =>
      res
        .writeHead(400, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { code: "invalid_request", message: "bad" } })),
    );
    await expect(new ZImageGateway({ baseUrl: server.url }).list()).rejects.toMatchObject({
      status: 400,
      code: "invalid_request",
    });
    expect(server.seen()).toBe(1);
  });

  it("keeps the status and text of an answer that is not the gateway's JSON", async () => {
    const server = await serve((_req, res) => res.writeHead(502).end("<html>bad gateway</html>"));
    await expect(new ZImageGateway({ baseUrl: server.url }).list()).rejects.toMatchObject({
      status: 502,
      code: "http_502",
      message: "<html>bad gateway</html>",
    });
  });

  it("sends every submit with an Idempotency-Key, so a retried submit is safe", async () => {
    const keys: Array<string | undefined> = [];
    const server = await serve((req, res, n) => {
      keys.push(req.headers["idempotency-key"] as string | undefined);
      if (n === 0) return unavailable(res, "0");
      res
        .writeHead(202, { "content-type": "application/json" })
        .end(JSON.stringify({ id: "J", status: "queued" }));
    });
    const job = await new ZImageGateway({ baseUrl: server.url }).generate({ prompt: "x" });
    expect(job.id).toBe("J");
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^sdk-/);
    expect(keys[1]).toBe(keys[0]);
  });

  it("reports a gateway that is not there as a connection error", async () => {
    const port = await freePort();
    const client = new ZImageGateway({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 1 });
    const err = await client.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZImageConnectionError);
    expect((err as Error).message).toMatch(/no answer from the gateway/);
  });
});
