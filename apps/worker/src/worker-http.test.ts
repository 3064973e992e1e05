import { Writable } from "node:stream";
import { createLogger } from "@zimage/core";
import { usePrivateRedis } from "@zimage/testkit";
import { afterEach, expect, it } from "vitest";
import { WorkerMetrics } from "./metrics";
import { startWorkerHttp } from "./worker-http";

const redis = usePrivateRedis();
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

it("logs and counts a scrape that fails, instead of a bare 500", async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const metrics = new WorkerMetrics();
  let broken = true;
  // A dispatcher whose state cannot be read once: the scrape's collect() throws.
  metrics.addUpstream({
    upstreamName: "gpu0",
    gaugeValues: () => {
      if (broken) {
        broken = false;
        throw new Error("dispatcher state unreadable");
      }
      return {
        up: true,
        busy: false,
        modelLoaded: true,
        inFlight: 0,
        pipelines: { generate: true, edit: true },
        breakerOpen: false,
      };
    },
  });
  const { server, port } = await startWorkerHttp({
    host: "127.0.0.1",
    port: 0,
    registry: metrics.registry,
    redis: redis.conn,
    logger: createLogger({ name: "worker-test", level: "warn", destination: sink }),
    upstreams: () => [],
  });
  close = () => new Promise((r) => server.close(() => r()));
  const url = `http://127.0.0.1:${port}/metrics`;

  expect((await fetch(url)).status).toBe(500);
  expect(lines).toContainEqual(
    expect.objectContaining({ where: "worker_http", path: "/metrics", err: "dispatcher state unreadable" }),
  );
  const scrape = await fetch(url);
  expect(scrape.status).toBe(200);
  expect(await scrape.text()).toMatch(
    /^zimage_gateway_internal_errors_total\{where="worker_http",service="worker"\} 1$/m,
  );
});
