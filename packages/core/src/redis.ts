import { Redis, type RedisOptions } from "ioredis";

export type RedisRole = "client" | "worker";

/**
 * One place that builds Redis connections. Workers need `maxRetriesPerRequest: null` (BullMQ blocks on
 * BRPOPLPUSH and must wait out a Redis restart); request-serving clients fail fast instead so the api
 * can answer 503 rather than hang.
 */
export function createRedis(url: string, role: RedisRole = "client", extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === "worker" ? null : 2,
    enableReadyCheck: true,
    connectTimeout: 5_000,
    // Exponential reconnect capped at 2 s: a restarted Redis is picked up quickly.
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
    lazyConnect: false,
    ...extra,
  });
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
