import { usePrivateRedis } from "@zimage/testkit";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../errors";
import { createApiKey, setApiKeyLimits } from "./api-keys";
import { admitDispatch, checkQuota } from "./gpu-quota";
import { readUsage, recordGpuAttempt, recordJobUsage } from "./gpu-usage";

const redis = usePrivateRedis();
const NOON = Date.parse("2026-11-27T12:00:00Z");
const base = (_prefix: string, owner: string, jobId: string, at = NOON) => ({
  owner,
  upstream: "gpu0",
  jobId,
  at,
  retentionSeconds: 400 * 86_400,
});

async function budgetedKey(
  prefix: string,
  limits: { gpu_seconds_per_day?: number; gpu_seconds_per_month?: number },
) {
  const { record } = await createApiKey(redis.conn, prefix, {
    name: "k",
    role: "user",
    rate_per_minute: 60,
    max_pending: 100,
    priority_weight: 1,
  });
  return (await setApiKeyLimits(redis.conn, prefix, record.id, limits))!;
}

describe("GPU usage records", () => {
  it("counts a dispatch and a job's end once, however often they are recorded", async () => {
    const r = { ...base("u1", "alice", "j1"), run: 1, loadMs: 1_500, inferenceMs: 2_250 };
    const firsts = await Promise.all([1, 2, 3].map(() => recordGpuAttempt(redis.conn, "u1", r)));
    expect(firsts.filter(Boolean)).toHaveLength(1);
    // A second dispatch of the same job is new usage.
    expect(await recordGpuAttempt(redis.conn, "u1", { ...r, run: 2, loadMs: 0, inferenceMs: 1_000 })).toBe(
      true,
    );
    expect(await recordJobUsage(redis.conn, "u1", { ...base("u1", "alice", "j1"), images: 2 })).toBe(true);
    expect(await recordJobUsage(redis.conn, "u1", { ...base("u1", "alice", "j1"), images: 2 })).toBe(false);
    const table = await readUsage(redis.conn, "u1", "all", "2026-11-27", "2026-11-27");
    expect(table.get("alice")?.get("2026-11-27")).toEqual({
      jobs: 1,
      images: 2,
      gpu_ms: 4_750,
      upstreams: { gpu0: { jobs: 1, images: 2, gpu_ms: 4_750 } },
    });
    expect(await redis.conn.ttl("u1:usage:day:2026-11-27:alice")).toBeGreaterThan(399 * 86_400);
  });
});

describe("GPU budgets", () => {
  it("refuses at submit once the UTC day is spent, with the reset time, and not on the next day", async () => {
    const key = await budgetedKey("q1", { gpu_seconds_per_day: 3 });
    const principal = { id: key.id, limits: key };
    await checkQuota(redis.conn, "q1", principal, 1, NOON);
    await recordGpuAttempt(redis.conn, "q1", {
      ...base("q1", key.id, "j1"),
      run: 1,
      loadMs: 0,
      inferenceMs: 3_000,
    });
    const err = await checkQuota(redis.conn, "q1", principal, 1, NOON).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({
      code: "quota_exceeded",
      status: 429,
      details: {
        period: "day",
        limit_seconds: 3,
        used_seconds: 3,
        resets_at: "2026-11-28T00:00:00.000Z",
        retry_after_seconds: 12 * 3600,
      },
    });
    // One minute past midnight UTC: a new day, and the budget is whole again.
    await checkQuota(redis.conn, "q1", principal, 1, Date.parse("2026-11-28T00:01:00Z"));
  });

  it("a monthly budget counts every day of the UTC month and resets on the 1st", async () => {
    const key = await budgetedKey("q2", { gpu_seconds_per_month: 5 });
    const principal = { id: key.id, limits: key };
    for (const [i, day] of ["2026-11-02T10:00:00Z", "2026-11-20T10:00:00Z"].entries())
      await recordGpuAttempt(redis.conn, "q2", {
        ...base("q2", key.id, `j${i}`, Date.parse(day)),
        run: 1,
        loadMs: 1_000,
        inferenceMs: 1_500,
      });
    await expect(checkQuota(redis.conn, "q2", principal, 1, NOON)).rejects.toMatchObject({
      details: { period: "month", resets_at: "2026-12-01T00:00:00.000Z" },
    });
    await checkQuota(redis.conn, "q2", principal, 1, Date.parse("2026-12-01T00:00:00Z"));
  });

  it("admits at dispatch only what the budget covers: one job beside others only within their worst case", async () => {
    const key = await budgetedKey("q3", { gpu_seconds_per_day: 7 });
    const job = (id: string) => ({ id, owner: key.id, boundMs: 4_000 });
    expect(await admitDispatch(redis.conn, "q3", job("a"), NOON)).toEqual({ action: "admit" });
    // 0 used + 4 s reserved < 7 s: a second job may run beside it; with 8 s reserved, a third may not.
    expect(await admitDispatch(redis.conn, "q3", job("b"), NOON)).toEqual({ action: "admit" });
    expect(await admitDispatch(redis.conn, "q3", job("c"), NOON)).toEqual({ action: "wait" });
    // The same job asking again (re-dispatched) is not counted against itself.
    expect(await admitDispatch(redis.conn, "q3", job("a"), NOON)).toEqual({ action: "admit" });
    // a and b end having used 6.5 s: c now runs alone (nothing else in flight), and is the last one.
    for (const [id, ms] of [
      ["a", 4_000],
      ["b", 2_500],
    ] as const)
      await recordGpuAttempt(redis.conn, "q3", {
        ...base("q3", key.id, id),
        run: 1,
        loadMs: 0,
        inferenceMs: ms,
      });
    expect(await admitDispatch(redis.conn, "q3", job("c"), NOON)).toEqual({ action: "admit" });
    expect(await admitDispatch(redis.conn, "q3", job("d"), NOON)).toEqual({ action: "wait" });
    await recordGpuAttempt(redis.conn, "q3", {
      ...base("q3", key.id, "c"),
      run: 1,
      loadMs: 0,
      inferenceMs: 3_000,
    });
    const over = await admitDispatch(redis.conn, "q3", job("d"), NOON);
    expect(over).toMatchObject({
      action: "over",
      quota: { period: "day", limit_seconds: 7, used_seconds: 9.5 },
    });
  });

  it("lets 20 concurrent dispatches of a key through one at a time when the budget covers one worst case", async () => {
    const key = await budgetedKey("q4", { gpu_seconds_per_day: 5 });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        admitDispatch(redis.conn, "q4", { id: `j${i}`, owner: key.id, boundMs: 6_000 }, NOON),
      ),
    );
    expect(answers.filter((a) => a.action === "admit")).toHaveLength(1);
    expect(answers.filter((a) => a.action === "wait")).toHaveLength(19);
  });

  it("a key without a budget is admitted without a reservation, and a dead dispatcher's expires", async () => {
    const free = await budgetedKey("q5", {});
    expect(await admitDispatch(redis.conn, "q5", { id: "x", owner: free.id, boundMs: 1_000 }, NOON)).toEqual({
      action: "admit",
    });
    expect(await redis.conn.exists(`q5:usage:in-flight:${free.id}`)).toBe(0);
    const key = await budgetedKey("q5", { gpu_seconds_per_day: 5 });
    await admitDispatch(redis.conn, "q5", { id: "dead", owner: key.id, boundMs: 6_000 }, NOON);
    expect(
      (await admitDispatch(redis.conn, "q5", { id: "next", owner: key.id, boundMs: 6_000 }, NOON)).action,
    ).toBe("wait");
    expect(
      (await admitDispatch(redis.conn, "q5", { id: "next", owner: key.id, boundMs: 6_000 }, NOON + 6_001))
        .action,
    ).toBe("admit");
  });

  it("a running job's reservation lives as long as its dispatch can last, not only its GPU bound", async () => {
    const key = await budgetedKey("q6", { gpu_seconds_per_day: 5 });
    const slow = { id: "slow", owner: key.id, boundMs: 6_000, lifetimeMs: 40_000 };
    expect((await admitDispatch(redis.conn, "q6", slow, NOON)).action).toBe("admit");
    // Past its GPU bound the job may still be waiting for the GPU or between load retries: it still counts.
    const next = { id: "next", owner: key.id, boundMs: 6_000 };
    expect((await admitDispatch(redis.conn, "q6", next, NOON + 6_001)).action).toBe("wait");
    expect((await admitDispatch(redis.conn, "q6", next, NOON + 39_000)).action).toBe("wait");
    expect((await admitDispatch(redis.conn, "q6", next, NOON + 40_001)).action).toBe("admit");
  });
});
