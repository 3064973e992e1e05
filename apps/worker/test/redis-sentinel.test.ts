import { type Cluster, startCluster } from "@zimage/test-cluster";
import { type PrivateRedisSentinel, startRedisSentinel, waitFor } from "@zimage/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue #18 (2): the gateway on a Sentinel group (1 master, 1 replica, 3 sentinels). The master is
 * SIGKILLed with jobs in flight; the sentinels promote the replica, ioredis follows them, and every
 * job the api acknowledged still ends succeeded, one at a time on the GPU.
 */
let redis: PrivateRedisSentinel | undefined;
let cluster: Cluster | undefined;

beforeAll(async () => {
  redis = await startRedisSentinel({ replicas: 1, sentinels: 3, downAfterMs: 1000 });
  cluster = await startCluster({
    externalRedis: redis.env,
    sim: { loadMs: 0, baseMs: 300 },
  });
});
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

describe("Redis Sentinel", () => {
  it("runs a job through the master the sentinels name", async () => {
    const c = cluster!;
    const id = await c.submit({ prompt: "via sentinel", size: "256x256" });
    expect((await c.waitFor(id)).status).toBe("succeeded");
    const master = await redis!.masterPort();
    expect(Number(await redis!.ask(master, "EXISTS", `cluster:generate:${id}`))).toBe(1);
  });

  it("keeps jobs flowing through a failover after the master is SIGKILLed, losing none", async () => {
    const c = cluster!;
    const acknowledged: string[] = [];
    for (let i = 0; i < 5; i++) acknowledged.push(await c.submit({ prompt: `before ${i}`, size: "256x256" }));
    await c.waitFor(acknowledged[0]!, ["running", "succeeded"]);

    const oldMaster = await redis!.masterPort();
    await redis!.replicated();
    await redis!.kill(oldMaster);
    const killedAt = Date.now();

    // Submits during the failover: a 503 is an honest "not accepted"; only 202s count, and they keep
    // being tried until the api accepts three on the new master.
    const refused: number[] = [];
    for (let i = 0; i < 3; i++) {
      const body = { prompt: `during ${i}`, size: "256x256" };
      const id = await waitFor(
        async () => {
          const res = await c.request("POST", "/v1/jobs", { body });
          if (res.status === 202) return ((await res.json()) as { id: string }).id;
          refused.push(res.status);
          return null;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: `submit ${i} to be accepted after the kill` },
      );
      acknowledged.push(id);
    }
    // The master was really gone for a while (down-after-milliseconds is 1 s), and the api said so.
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.filter((s) => s !== 503)).toEqual([]);
    const newMaster = await redis!.masterPort();
    expect(newMaster).not.toBe(oldMaster);

    const views = [];
    for (const id of acknowledged)
      views.push(await c.waitFor(id, ["succeeded", "failed", "canceled"], 60_000));
    expect(views.map((v) => v.status)).toEqual(acknowledged.map(() => "succeeded"));
    // Jobs finished after the kill: the queue kept moving on the promoted replica.
    const finishedAfter = views.filter((v) => Date.parse(v.completed_at!) > killedAt);
    expect(finishedAfter.length).toBeGreaterThanOrEqual(4);
    expect(c.sims[0]!.stats().maxInFlight).toBe(1);
  });
});
