import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./free-port";
import { waitFor } from "./wait-for";

async function ping(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // A probe whose failure is the answer: waitFor asks again until the server is up.
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export interface PrivateRedis {
  url: string;
  port: number;
  dir: string;
  /** The running server's process id (undefined while it is stopped). */
  readonly pid: number | undefined;
  /** SIGKILL the server (AOF keeps what was fsynced, up to a second old); `start()` brings it back on the same port. */
  kill(): Promise<void>;
  /** SIGTERM: Redis flushes the AOF and exits cleanly, as on an orderly restart. */
  shutdown(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a private redis-server on a free loopback port with its own temp dir, so a test may
 * restart or flush it freely — never the machine's shared Redis. `bind` adds addresses to listen on
 * besides loopback (a test's own virtual interfaces, e.g. the bridge of `startVirtualHosts`).
 */
export async function startRedis(
  opts: { appendonly?: boolean; bind?: string[] } = {},
): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "zimage-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  let child: ReturnType<typeof spawn> | null = null;

  const start = async () => {
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      ...(opts.bind ?? []),
      // Without a password, protected mode refuses every client not on loopback; extra addresses
      // are asked for only to be reached from them.
      ...(opts.bind?.length ? ["--protected-mode", "no"] : []),
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      opts.appendonly === false ? "no" : "yes",
      "--appendfsync",
      "everysec",
      "--maxmemory-policy",
      "noeviction",
    ];
    const proc = spawn("redis-server", args, { stdio: "ignore" });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      proc.once("error", (err) => reject(new Error(`cannot start redis-server: ${err.message}`)));
      proc.once("spawn", () => resolve());
    });
    await waitFor(() => ping(url), { timeoutMs: 10_000, what: `redis-server on ${port}` });
  };

  const signal = async (sig: NodeJS.Signals) => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill(sig);
    await exited;
  };
  const kill = () => signal("SIGKILL");

  await start();
  return {
    url,
    port,
    dir,
    get pid() {
      return child?.pid;
    },
    kill,
    shutdown: () => signal("SIGTERM"),
    start,
    stop: async () => {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
