import { Cluster, Redis, type RedisOptions } from "ioredis";

export type RedisRole = "client" | "worker";

/** A `host:port` of a sentinel or a cluster seed node. */
export interface RedisNode {
  host: string;
  port: number;
}

/**
 * Where the gateway's Redis is, in one of three topologies (README "Redis topologies"):
 * - `standalone`: one server at `url`;
 * - `sentinel`: the master of `name`, as the `sentinels` report it; `url` gives only the
 *   credentials, database and TLS of the data connections;
 * - `cluster`: a Redis Cluster found from the `nodes` seeds; `url` gives only credentials and TLS.
 */
export type RedisTarget =
  | { kind: "standalone"; url: string }
  | { kind: "sentinel"; url: string; sentinels: RedisNode[]; name: string; sentinelPassword?: string }
  | { kind: "cluster"; url: string; nodes: RedisNode[] };

/** Parses `host:port,host:port` (REDIS_SENTINELS, REDIS_CLUSTER_NODES); throws on a bad entry. */
export function parseRedisNodes(list: string): RedisNode[] {
  return list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(entry);
      const port = Number(m?.[2]);
      if (!m?.[1] || !(port > 0 && port < 65536)) throw new Error(`"${entry}" is not host:port`);
      return { host: m[1].replace(/^\[|\]$/g, ""), port };
    });
}

/** The credentials, database and TLS a REDIS_URL carries, as ioredis options. */
function urlOptions(url: string): RedisOptions {
  const u = new URL(url);
  const db = Number(u.pathname.replace(/^\//, "") || "0");
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db > 0 ? { db } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
  };
}

/**
 * The Redis connection type the gateway is written against. A Cluster is handed out under this
 * type too: both classes carry the same command methods (ioredis' `Commander`), and the few other
 * members the gateway uses — `status`, `duplicate()`, `subscribe`/`on("message")`, `disconnect()` —
 * exist on both with the same meaning. BullMQ tells them apart at run time (`isCluster`). The
 * Redis-only calls the gateway avoids on a Cluster are listed in README "Redis topologies" (no
 * KEYS/SCAN/FLUSHDB/CLIENT in the services; only tests use them, per node).
 */
export type RedisConnection = Redis;

/**
 * One place that builds Redis connections. Workers need `maxRetriesPerRequest: null` (BullMQ blocks on
 * BRPOPLPUSH and must wait out a Redis restart or failover); request-serving clients fail fast instead
 * so the api can answer 503 rather than hang.
 */
export function createRedis(
  target: string | RedisTarget,
  role: RedisRole = "client",
  extra: RedisOptions = {},
): RedisConnection {
  const t: RedisTarget = typeof target === "string" ? { kind: "standalone", url: target } : target;
  const common: RedisOptions = {
    maxRetriesPerRequest: role === "worker" ? null : 2,
    enableReadyCheck: true,
    connectTimeout: 5_000,
    // Exponential reconnect capped at 2 s: a restarted Redis is picked up quickly.
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
    lazyConnect: false,
  };
  if (t.kind === "standalone") return new Redis(t.url, { ...common, ...extra });
  if (t.kind === "sentinel") {
    return new Redis({
      ...common,
      ...urlOptions(t.url),
      sentinels: t.sentinels,
      name: t.name,
      ...(t.sentinelPassword ? { sentinelPassword: t.sentinelPassword } : {}),
      enableTLSForSentinelMode: t.url.startsWith("rediss:"),
      // Ask the sentinels again right after they announce a new master (+switch-master), rather than
      // waiting for the old master's connection to fail.
      failoverDetector: true,
      // A demoted master answers writes with READONLY until its connection drops: reconnect, which
      // asks the sentinels for the new master.
      reconnectOnError: (err) => err.message.startsWith("READONLY"),
      ...extra,
    });
  }
  const { lazyConnect, ...redisOptions } = { ...common, ...urlOptions(t.url), ...extra };
  const cluster = new Cluster(t.nodes, {
    // BullMQ reads maxRetriesPerRequest from here on a Cluster (it must be null for workers).
    redisOptions,
    lazyConnect: lazyConnect ?? false,
    enableReadyCheck: true,
    clusterRetryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
  });
  return cluster as unknown as RedisConnection;
}

/** Resolves once `PING` succeeds or rejects after `timeoutMs`; used by start-up and readiness checks. */
export async function pingRedis(url: string, timeoutMs = 1_000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // A probe whose failure is the answer (false); the listener only stops ioredis printing it too.
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
