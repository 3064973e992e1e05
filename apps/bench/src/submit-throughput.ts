import { createRedis, QUEUES, type RedisTarget } from "@zimage/core";
import { Queue } from "bullmq";
import { startGateway, startHandwrittenGateway } from "./gateway";
import { load } from "./load";

export interface SubmitRun {
  connections: number;
  apiRps: number;
  apiP99Ms: number;
  /** Issue #20's hand-written gateway's POST; absent on an external Redis (the topology scenario). */
  hand?: { rps: number; p99Ms: number };
  rawRps: number;
}

const BODY = { prompt: "a lighthouse at dusk", size: "1024x1024" };

/** Which Redis a scenario runs on: the gateway's variables for it, and the target for direct clients. */
export interface BenchRedis {
  /** REDIS_URL, or REDIS_CLUSTER_NODES with a hash-tag QUEUE_PREFIX (startCluster's externalRedis). */
  env: Record<string, string>;
  target: RedisTarget;
  /** The raw baseline's BullMQ prefix; on a Cluster it must carry a hash tag like the gateway's. */
  rawPrefix: string;
}

/** Raw BullMQ `Queue.add` from `connections` concurrent loops for `seconds`, on the same Redis. */
async function rawAdds(
  redis: RedisTarget | string,
  connections: number,
  seconds: number,
  prefix = "raw-baseline",
): Promise<number> {
  const connection = createRedis(redis);
  const queue = new Queue(QUEUES.generate, { connection, prefix });
  const data = { kind: "generate", owner: "bench", params: { ...BODY, n: 1, num_inference_steps: 50 } };
  let count = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) {
        await queue.add("generate", data, { priority: 1 + (count % 1000) });
        count++;
      }
    }),
  );
  await queue.close();
  connection.disconnect();
  return count / seconds;
}

/**
 * Issue #9.2: authenticated `POST /v1/jobs` under load (autocannon) against the same run's raw
 * BullMQ adds on the same Redis, and (issue #20) the hand-written gateway's POST with the same body
 * and connections on the same Redis. No worker runs, so the queues only grow, as in a burst.
 */
export async function submitThroughput(
  levels: number[],
  seconds: number,
  redis?: BenchRedis,
): Promise<SubmitRun[]> {
  const { cluster, key } = await startGateway({
    workers: 0,
    ...(redis ? { externalRedis: redis.env } : {}),
  });
  // The topology scenario compares Redis setups with each other, not the gateway with a baseline.
  const hand = redis ? undefined : await startHandwrittenGateway(cluster.redis.url);
  try {
    const out: SubmitRun[] = [];
    for (const connections of levels) {
      const api = await load({
        url: `${cluster.apiUrl}/v1/jobs`,
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(BODY),
        connections,
        seconds,
        expectStatus: 202,
      });
      const handLoad =
        hand &&
        (await load({
          url: `${hand.url}/v1/jobs`,
          method: "POST",
          headers: { authorization: `Bearer ${hand.token}`, "content-type": "application/json" },
          body: JSON.stringify(BODY),
          connections,
          seconds,
          expectStatus: 202,
        }));
      const rawRps = redis
        ? await rawAdds(redis.target, connections, seconds, redis.rawPrefix)
        : await rawAdds(cluster.redis.url, connections, seconds);
      out.push({
        connections,
        apiRps: api.rps,
        apiP99Ms: api.p99Ms,
        ...(handLoad && { hand: { rps: handLoad.rps, p99Ms: handLoad.p99Ms } }),
        rawRps,
      });
    }
    return out;
  } finally {
    await hand?.stop();
    await cluster.stop();
  }
}
