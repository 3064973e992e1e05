import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { freePort, makePng } from "@zimage/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue #10: slow and broken upstreams. A fake Z-Image server misbehaves in one way per prompt; each
 * job fails or retries as documented (README, "What happens on each failure"), the worker keeps
 * serving, and its memory does not follow the size of what the upstream sends.
 */
const MAX_RESPONSE = 4 * 1024 * 1024;
const requests = new Map<string, number>();
let cluster: Cluster;
let metricsUrl: string;
let closeFake: () => void;

function fakeUpstream(req: IncomingMessage, res: ServerResponse) {
  const json = (status: number, body: unknown): void => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  if (req.method === "GET" && req.url === "/health") return json(200, { status: "ok", model_loaded: true });
  if (req.method === "GET" && req.url === "/v1/internal/status") return json(200, { status: "idle" });
  if (req.method === "GET" && req.url === "/v1/models") return json(200, { data: [{ id: "broken" }] });
  if (req.method !== "POST" || req.url !== "/v1/images/generations")
    return json(404, { detail: "Not Found" });
  let body = "";
  req.on("data", (c: Buffer) => {
    body += c.toString();
  });
  req.on("end", () => {
    const prompt = (JSON.parse(body) as { prompt: string }).prompt;
    requests.set(prompt, (requests.get(prompt) ?? 0) + 1);
    switch (prompt) {
      case "hang":
        return; // never answers
      case "truncated":
        res.writeHead(200, { "content-type": "application/json", "content-length": "5000" });
        res.write('{"created": 1, "data": [{"b64_json": "iVBOR');
        return void setTimeout(() => res.destroy(), 20);
      case "invalid json":
        return void res
          .writeHead(200, { "content-type": "application/json" })
          .end('{"created": 1, "data": [');
      case "wrong content type":
        return void res
          .writeHead(200, { "content-type": "text/html" })
          .end("<html><body>Bad Gateway</body></html>");
      case "enormous": {
        // 64 MiB, chunked with no length: only reading it tells how big it is.
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"created": 1, "data": [{"b64_json": "');
        const chunk = Buffer.alloc(1024 * 1024, "A");
        let sent = 0;
        const pump = () => {
          while (sent < 64 && !res.destroyed) {
            sent++;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          if (!res.destroyed) res.end('"}]}');
        };
        res.on("error", () => {});
        return pump();
      }
      default:
        return json(200, {
          created: 1,
          data: [{ b64_json: makePng(128, 128).toString("base64"), revised_prompt: prompt }],
        });
    }
  });
}

beforeAll(async () => {
  const server = createServer(fakeUpstream);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closeFake = () => {
    server.closeAllConnections();
    server.close();
  };
  const metricsPort = await freePort();
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  cluster = await startCluster({
    upstreamUrls: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`],
    env: {
      IMAGE_TIMEOUT_SECONDS: "1",
      COLD_IMAGE_TIMEOUT_SECONDS: "1",
      UPSTREAM_MAX_RESPONSE_BYTES: String(MAX_RESPONSE),
      JOB_ATTEMPTS: "3",
      // Every prompt here fails on purpose, one after another: what is under test is each job's
      // outcome, not the circuit breaker (which would rightly take this upstream out of rotation).
      BREAKER_FAILURES: "0",
      WORKER_METRICS_PORT: String(metricsPort),
    },
  });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  closeFake?.();
});

async function run(prompt: string) {
  const id = await cluster.submit({ prompt, size: "128x128" });
  return cluster.waitFor(id, undefined, 30_000);
}

async function workerRssMb(): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const value = /^\w*process_resident_memory_bytes(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1];
  if (!value) throw new Error("the worker's /metrics has no resident memory");
  return Number(value) / 1024 / 1024;
}

describe("broken upstreams", () => {
  it("an answer that never comes fails the job with upstream_timeout, without a retry", async () => {
    const job = await run("hang");
    expect([job.status, job.error?.code]).toEqual(["failed", "upstream_timeout"]);
    expect(requests.get("hang")).toBe(1);
  });

  it("a body cut off midway is a lost connection: retried, bounded, then failed", async () => {
    const job = await run("truncated");
    expect(job.status).toBe("failed");
    expect(job.error?.code).toBe("upstream_unavailable");
    expect(requests.get("truncated")).toBe(3);
  });

  it.each([
    ["invalid json", "upstream_protocol_error"],
    ["wrong content type", "upstream_protocol_error"],
  ])("%s fails the job with %s within its attempts", async (prompt, code) => {
    const job = await run(prompt);
    expect([job.status, job.error?.code]).toEqual(["failed", code]);
    expect(requests.get(prompt)).toBeGreaterThanOrEqual(1);
    expect(requests.get(prompt)).toBeLessThanOrEqual(3);
  });

  it("an enormous answer is cut off at UPSTREAM_MAX_RESPONSE_BYTES, and memory does not follow it", async () => {
    await run("warm-up");
    const before = await workerRssMb();
    for (let i = 0; i < 3; i++) {
      const job = await run("enormous");
      expect([job.status, job.error?.code]).toEqual(["failed", "upstream_protocol_error"]);
    }
    // 3 jobs × up to 3 attempts × 64 MiB were offered; reading them whole would take hundreds of MiB.
    expect((await workerRssMb()) - before).toBeLessThan(64);
  });

  it("the worker keeps serving after all of that", async () => {
    const job = await run("fine");
    expect(job.status).toBe("succeeded");
    expect(job.result?.images[0]).toMatchObject({ width: 128, height: 128 });
  });
});
