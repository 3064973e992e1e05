import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Writable } from "node:stream";
import { createLogger } from "@zimage/core";
import { usePrivateRedis } from "@zimage/testkit";
import { afterEach, expect, it } from "vitest";
import { parse } from "yaml";
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

it("answers the probes and the scrape path that deploy/kubernetes/worker.yaml names", async () => {
  // The ports themselves are checked against WORKER_METRICS_PORT in apps/api/test/kubernetes.test.ts.
  const manifest = parse(
    readFileSync(resolve(import.meta.dirname, "../../../deploy/kubernetes/worker.yaml"), "utf8"),
  );
  const pod = manifest.spec.template;
  const [container] = pod.spec.containers;
  const metrics = new WorkerMetrics();
  const { server, port } = await startWorkerHttp({
    host: "127.0.0.1",
    port: 0,
    registry: metrics.registry,
    redis: redis.conn,
    logger: createLogger({ name: "worker-test", level: "silent" }),
    upstreams: () => [{ name: "gpu0", holding: false, up: null }],
  });
  close = () => new Promise((r) => server.close(() => r()));
  const paths = [
    container.readinessProbe.httpGet.path,
    container.livenessProbe.httpGet.path,
    pod.metadata.annotations["prometheus.io/path"],
  ];
  expect(paths).toHaveLength(3);
  for (const path of paths) expect((await fetch(`http://127.0.0.1:${port}${path}`)).status, path).toBe(200);
});
