/**
 * `pnpm start`: the whole gateway on its embedded defaults, in one terminal.
 * - Redis: REDIS_URL if something answers there; otherwise a local redis-server with AOF in .data/redis.
 * - Upstreams: ZIMAGE_UPSTREAMS if set; otherwise the Z-Image simulator on 127.0.0.1.
 * - The web console: built with Vite when its build is missing or older than its sources.
 * - Then the api and the worker. Ctrl-C stops all of it; if one part dies, the rest are stopped too.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { ConfigError, loadConfig, pingRedis } from "@zimage/core";

const root = resolve(import.meta.dirname, "..");
const colors = { redis: 31, sim: 35, api: 36, worker: 33, start: 32, console: 34 } as const;
type Part = keyof typeof colors;
const tty = process.stdout.isTTY;

function say(part: Part, line: string) {
  const tag = tty ? `\x1b[${colors[part]}m${part.padEnd(6)}\x1b[0m` : part.padEnd(6);
  process.stdout.write(`${tag} | ${line}\n`);
}

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

const children: Array<{ part: Part; child: ChildProcess }> = [];
let stopping = false;

function run(
  part: Part,
  command: string,
  args: string[],
  env: Record<string, string> = {},
  // A detached child is in its own process group, so a terminal's Ctrl-C reaches it only through us.
  detached = false,
): ChildProcess {
  const child = spawn(command, args, {
    cwd: root,
    detached,
    env: {
      ...process.env,
      ...env,
      ...(tty && process.env.LOG_PRETTY === undefined ? { LOG_PRETTY: "true" } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pipe = (stream: NodeJS.ReadableStream | null) => {
    let buf = "";
    stream?.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) say(part, line);
    });
  };
  pipe(child.stdout);
  pipe(child.stderr);
  child.on("error", (err) => {
    say("start", `${part} could not start: ${err.message}`);
    void stopAll(1);
  });
  child.on("exit", (code, signal) => {
    if (!stopping) {
      say("start", `${part} exited unexpectedly (${signal ?? `code ${code}`}); stopping everything`);
      void stopAll(1);
    }
  });
  children.push({ part, child });
  return child;
}

const tsx = (file: string) => ["--import", "tsx", resolve(root, file)];

async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  say("start", "stopping…");
  // Stop in reverse start order so the worker finishes its job before Redis goes away.
  for (const { part, child } of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
    say("start", `${part} stopped`);
  }
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

function portIsFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const srv = createServer();
    srv.once("error", () => ok(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => ok(true)));
  });
}

async function firstFreePort(from: number): Promise<number> {
  for (let port = from; port < from + 50; port++) if (await portIsFree(port)) return port;
  throw new Error(`no free port between ${from} and ${from + 49}`);
}

async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function ensureRedis(): Promise<string> {
  const url = config.REDIS_URL;
  if (await pingRedis(url)) {
    say("start", `using Redis at ${url}`);
    return url;
  }
  const parsed = new URL(url);
  const host = parsed.hostname || "127.0.0.1";
  if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(host)) {
    say(
      "start",
      `nothing answers at REDIS_URL=${url}, and it is not local, so no redis-server is started for it`,
    );
    process.exit(1);
  }
  const port = parsed.port || "6379";
  const dir = resolve(root, config.DATA_DIR, "redis");
  mkdirSync(dir, { recursive: true });
  say("start", `nothing answers at ${url}: starting redis-server on port ${port} with AOF in ${dir}`);
  const child = run(
    "redis",
    "redis-server",
    [
      "--port",
      port,
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "everysec",
      "--save",
      "",
      "--maxmemory-policy",
      "noeviction",
    ],
    {},
    true,
  );
  child.once("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") {
      process.stderr.write(
        "redis-server is not installed: install Redis 7 (e.g. apt-get install redis-server) or set REDIS_URL\n",
      );
      process.exit(1);
    }
  });
  if (!(await waitUntil(() => pingRedis(url), 10_000))) {
    say("start", "redis-server did not answer within 10 s");
    await stopAll(1);
  }
  return url;
}

async function ensureUpstreams(): Promise<string> {
  if (process.env.ZIMAGE_UPSTREAMS) {
    say(
      "start",
      `upstreams from ZIMAGE_UPSTREAMS: ${config.upstreams.map((u) => `${u.name}=${u.url}`).join(", ")}`,
    );
    return process.env.ZIMAGE_UPSTREAMS;
  }
  const port = await firstFreePort(Number(process.env.SIM_PORT) || 8003);
  const url = `http://127.0.0.1:${port}`;
  say("start", `ZIMAGE_UPSTREAMS is not set: starting the Z-Image simulator at ${url} (no GPU involved)`);
  run("sim", process.execPath, tsx("apps/zimage-sim/src/main.ts"), {
    SIM_PORT: String(port),
    SIM_HOST: "127.0.0.1",
  });
  const up = await waitUntil(async () => {
    try {
      return (await fetch(`${url}/health`)).ok;
    } catch {
      return false;
    }
  }, 20_000);
  if (!up) {
    say("start", "the simulator did not answer within 20 s");
    await stopAll(1);
  }
  return `sim=${url}`;
}

/** Newest modification time of the files under `dir` (0 when it does not exist). */
function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) max = Math.max(max, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return max;
}

function ensureConsole(): void {
  if (config.CONSOLE_DIR) return; // someone else's build
  const app = resolve(root, "apps/console");
  let built = 0;
  try {
    built = statSync(join(app, "dist/index.html")).mtimeMs;
  } catch {}
  const sources = Math.max(newest(join(app, "src")), statSync(join(app, "index.html")).mtimeMs);
  if (built >= sources) return;
  say("console", "building the web console (vite build)");
  const vite = resolve(app, "node_modules/vite/bin/vite.js");
  const result = spawnSync(process.execPath, [vite, "build", "--logLevel", "warn"], {
    cwd: app,
    stdio: "inherit",
  });
  if (result.status !== 0) say("console", "the console did not build; the API works, / says how to build it");
}

ensureConsole();
const redisUrl = await ensureRedis();
const upstreams = await ensureUpstreams();
const env = { REDIS_URL: redisUrl, ZIMAGE_UPSTREAMS: upstreams };
run("worker", process.execPath, tsx("apps/worker/src/main.ts"), env);
run("api", process.execPath, tsx("apps/api/src/main.ts"), env);
say(
  "start",
  `gateway starting: web console and API on http://${config.HOST}:${config.PORT} — Ctrl-C stops everything`,
);
