import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { type Cluster, type ClusterOptions, startCluster } from "@zimage/test-cluster";
import { startProcess } from "@zimage/testkit/standalone";

export const BENCH_ADMIN_KEY = "bench-admin-key-0123456789abcdefghijklmnop";

/**
 * The production timings (not the tests' fast ones), info logs as in production, and limits high enough that the
 * benchmark measures the gateway rather than its rate limiter.
 */
export const BENCH_ENV: Record<string, string> = {
  UPSTREAM_POLL_SECONDS: "0.5",
  HEALTH_INTERVAL_SECONDS: "10",
  LEASE_TTL_SECONDS: "15",
  LEASE_SPREAD_SECONDS: "2",
  LOCK_DURATION_SECONDS: "30",
  STALLED_INTERVAL_SECONDS: "30",
  IDLE_UNLOAD_SECONDS: "0",
  LOG_LEVEL: "info",
  ADMIN_API_KEY: BENCH_ADMIN_KEY,
  DEFAULT_RATE_PER_MINUTE: "10000000",
  DEFAULT_MAX_PENDING: "1000000",
};

export async function startGateway(opts: ClusterOptions = {}): Promise<{ cluster: Cluster; key: string }> {
  const cluster = await startCluster({ ...opts, env: { ...BENCH_ENV, ...opts.env } });
  // A user key: authentication then includes the key lookup in Redis, as for any real client.
  const key = await cluster.createKey("bench");
  return { cluster, key };
}

/**
 * A bench server script (bare-server.ts, handwritten-gateway.ts) in its own process, like the api,
 * once it prints "<name> listening on <port>".
 */
export async function startBenchServer(
  script: string,
  name: string,
  env: Record<string, string>,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const proc = startProcess(process.execPath, ["--import", "tsx", resolve(import.meta.dirname, script)], {
    env,
  });
  const listening = new RegExp(`${name} listening on (\\d+)`);
  try {
    await proc.waitForOutput(listening);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const port = listening.exec(proc.output())![1];
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await proc.stop();
    },
  };
}

/**
 * Issue #20's hand-written gateway (handwritten-gateway.ts) in its own process, on `redisUrl` under a
 * BullMQ prefix of its own; with `simUrl` its worker forwards the jobs there.
 */
export async function startHandwrittenGateway(
  redisUrl: string,
  simUrl?: string,
): Promise<{ url: string; token: string; stop: () => Promise<void> }> {
  const token = randomBytes(16).toString("hex");
  const server = await startBenchServer("handwritten-gateway.ts", "handwritten", {
    REDIS_URL: redisUrl,
    PREFIX: `handwritten-${randomBytes(4).toString("hex")}`,
    TOKEN: token,
    PORT: "0",
    ...(simUrl !== undefined && { SIM_URL: simUrl }),
  });
  return { ...server, token };
}

export async function submit(
  apiUrl: string,
  key: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ id: string; status: number; completed_at?: string | null }> {
  const res = await fetch(`${apiUrl}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  if (res.status !== 202 && res.status !== 200)
    throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string; status: number };
}

/** Submits `n` jobs over `concurrency` connections; returns their ids in submit order. */
export async function submitMany(
  apiUrl: string,
  key: string,
  n: number,
  concurrency: number,
  body: (i: number) => Record<string, unknown>,
): Promise<string[]> {
  const ids: string[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        ids[i] = (await submit(apiUrl, key, body(i))).id;
      }
    }),
  );
  return ids;
}

export async function rssMb(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const value = /^\w*process_resident_memory_bytes(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1];
  return Number(value) / 1024 / 1024;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
