import { createServer, type Server } from "node:http";
import { type Logger, metricsAuthorized, reportInternalError } from "@zimage/core";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";

export interface WorkerHttpOptions {
  host: string;
  port: number;
  registry: Registry;
  metricsToken?: string | undefined;
  redis: Redis;
  logger: Pick<Logger, "warn">;
  /** Per upstream: whether this process holds its lease and whether it answered its last probe. */
  upstreams: () => Array<{ name: string; holding: boolean; up: boolean | null }>;
}

/**
 * The worker's small HTTP side: `/metrics` for Prometheus, `/health` (process alive) and `/ready`
 * (Redis reachable and at least one upstream configured, with each dependency's status).
 */
export function startWorkerHttp(opts: WorkerHttpOptions): Promise<{ server: Server; port: number }> {
  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown, type = "application/json") => {
      res.writeHead(status, { "content-type": type });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    try {
      if (req.method !== "GET")
        return send(405, { error: { code: "method_not_allowed", message: "GET only" } });
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/metrics") {
        if (!metricsAuthorized(opts.metricsToken, req.headers.authorization)) {
          return send(401, { error: { code: "unauthorized", message: "send the metrics token as Bearer" } });
        }
        return send(200, await opts.registry.metrics(), opts.registry.contentType);
      }
      if (path === "/health") return send(200, { status: "ok" });
      if (path === "/ready") {
        // The worker's connection retries forever (BullMQ needs that), so a ping sent as Redis dies
        // would never answer: bound it.
        // A probe whose failure is the answer: no PONG, Redis is reported unavailable.
        const ping = Promise.race([
          opts.redis.ping().catch(() => ""),
          new Promise<string>((r) => setTimeout(() => r(""), 1_000).unref()),
        ]);
        const redisOk = opts.redis.status === "ready" && (await ping) === "PONG";
        const upstreams = opts.upstreams();
        const checks: Record<string, string> = { redis: redisOk ? "ok" : "unavailable" };
        // `starting`: the lease is held but the upstream not probed yet (it is within a second).
        for (const u of upstreams)
          checks[`upstream:${u.name}`] = !u.holding
            ? "standby"
            : u.up === null
              ? "starting"
              : u.up
                ? "ok"
                : "down";
        const ready = redisOk && upstreams.length > 0;
        return send(ready ? 200 : 503, { status: ready ? "ready" : "not_ready", checks });
      }
      send(404, { error: { code: "not_found", message: `no route for ${req.method} ${path}` } });
    } catch (err) {
      // A failed scrape would otherwise be a bare 500 that nobody sees but Prometheus.
      reportInternalError(opts.logger, "worker_http", err, { path: (req.url ?? "/").split("?")[0] });
      send(500, { error: { code: "internal_error", message: "an unexpected error occurred" } });
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === "object" && addr ? addr.port : opts.port });
    });
  });
}
