/**
 * `pnpm start`: the whole gateway on its embedded defaults, in one terminal.
 * - Redis: REDIS_URL if something answers there; otherwise a local redis-server with AOF in .data/redis.
 * - Upstreams: ZIMAGE_UPSTREAMS if set; otherwise the Z-Image simulator on 127.0.0.1.
 * - The web console: built with Vite when its build is missing or older than its sources.
 * - Then the worker and the api.
 * Stopping (Ctrl-C, SIGTERM, a closed terminal, or one part dying) goes in order: the api first, so
 * no job is taken that would not run; the worker, which finishes the image in flight
 * (SHUTDOWN_GRACE_SECONDS); then the simulator and Redis (if started here). docs/reliability.md#stopping.
 */
import { resolve } from "node:path";
import { ConfigError, loadConfig } from "@zimage/core";
import { ensureConsole } from "./start/console-build";
import { prettyLogs, say } from "./start/log";
import { nodePart } from "./start/node-part";
import { ensureRedis } from "./start/redis";
import { ensureUpstreams } from "./start/simulator";
import { Supervisor } from "./start/supervisor";

const root = resolve(import.meta.dirname, "..");

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

/** Time the worker gets after SIGTERM before it is killed: its own grace, and a margin to close. */
const WORKER_STOP_MARGIN_MS = 30_000;
const workerGraceMs = config.SHUTDOWN_GRACE_SECONDS * 1000;

const supervisor = new Supervisor({
  cwd: root,
  stopOrder: ["api", "worker", "sim", "redis"],
  env: prettyLogs && config.LOG_PRETTY === undefined ? { LOG_PRETTY: "true" } : {},
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => supervisor.onSignal(signal));
}
process.on("uncaughtException", (err) => {
  say("start", `start.ts failed: ${err.stack ?? err.message}`);
  void supervisor.stopAll(1, "stopping everything after that failure");
});

async function main(): Promise<void> {
  if (!config.CONSOLE_DIR) ensureConsole(root); // CONSOLE_DIR: someone else's build
  // Redis and the simulator start side by side: neither needs the other.
  const [redisUrl, upstreams] = await Promise.all([
    // Sentinel and Cluster are someone else's servers: used as configured, never started here.
    config.redis.kind === "standalone"
      ? ensureRedis(supervisor, { root, url: config.REDIS_URL, dataDir: config.DATA_DIR })
      : Promise.resolve(config.REDIS_URL),
    ensureUpstreams(supervisor, {
      root,
      config,
      upstreams: process.env.ZIMAGE_UPSTREAMS,
      simPort: Number(process.env.SIM_PORT) || 8003,
    }),
  ]);
  if (!redisUrl || !upstreams) return;
  const env = { REDIS_URL: redisUrl, ZIMAGE_UPSTREAMS: upstreams };
  supervisor.run("worker", process.execPath, nodePart(root, "apps/worker/src/main.ts"), {
    env,
    stopTimeoutMs: workerGraceMs + WORKER_STOP_MARGIN_MS,
    onStop: `finishes the image in flight (up to SHUTDOWN_GRACE_SECONDS=${config.SHUTDOWN_GRACE_SECONDS})`,
  });
  supervisor.run("api", process.execPath, nodePart(root, "apps/api/src/main.ts"), {
    env,
    stopTimeoutMs: 15_000,
    onStop: "takes no more jobs",
  });
  say(
    "start",
    `gateway starting: web console and API on http://${config.HOST}:${config.PORT} — Ctrl-C stops everything`,
  );
}

await main().catch((err: Error) => supervisor.stopAll(1, `start-up failed: ${err.stack ?? err.message}`));
