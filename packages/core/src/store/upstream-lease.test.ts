import { usePrivateRedis, waitFor } from "@zimage/testkit";
import { describe, expect, it } from "vitest";
import { UpstreamLease } from "./upstream-lease";

const redis = usePrivateRedis();

describe("UpstreamLease", () => {
  it("lets exactly one of several contenders hold an upstream", async () => {
    const leases = ["a", "b", "c", "d"].map((o) => new UpstreamLease(redis.conn, "t", "gpu0", o, 5_000));
    const won = await Promise.all(leases.map((l) => l.acquire()));
    expect(won.filter((t) => t > 0)).toHaveLength(1);
    const term = Math.max(...won);
    const holder = leases[won.indexOf(term)]!;
    expect(await holder.holder()).toBe(holder.owner);
    expect(await holder.acquire()).toBe(term); // re-acquiring one's own lease renews it, same term
    await holder.release();
  });

  it("does not let a non-holder renew or release someone else's lease", async () => {
    const a = new UpstreamLease(redis.conn, "t", "gpu1", "a", 5_000);
    const b = new UpstreamLease(redis.conn, "t", "gpu1", "b", 5_000);
    expect(await a.acquire()).toBeGreaterThan(0);
    expect(await b.renew()).toBe(false);
    await b.release();
    expect(await a.holder()).toBe("a");
    await a.release();
    expect(await b.acquire()).toBeGreaterThan(0);
  });

  it("passes to a standby once the holder stops renewing", async () => {
    const dead = new UpstreamLease(redis.conn, "t", "gpu2", "dead", 200);
    const standby = new UpstreamLease(redis.conn, "t", "gpu2", "standby", 200);
    expect(await dead.acquire()).toBeGreaterThan(0);
    expect(await standby.acquire()).toBe(0);
    await waitFor(async () => (await standby.acquire()) > 0, {
      timeoutMs: 3_000,
      what: "standby to take the lease",
    });
    expect(await dead.renew()).toBe(false);
  });

  it("gives every acquire a new term, so a holder that comes back late is told apart", async () => {
    const a = new UpstreamLease(redis.conn, "t", "gpu3", "a", 5_000);
    const b = new UpstreamLease(redis.conn, "t", "gpu3", "b", 5_000);
    const first = await a.acquire();
    expect(await a.confirm(first)).toBe(true);
    await a.release();
    const second = await b.acquire();
    expect(second).toBe(first + 1);
    expect(await b.latestTerm()).toBe(second);
    // a's term is over even if a were to get the lease key back under its old name
    expect(await a.confirm(first)).toBe(false);
    expect(await b.confirm(second)).toBe(true);
    await b.release();
    const third = await a.acquire();
    expect(third).toBe(second + 1);
    expect(await a.confirm(first)).toBe(false);
    expect(await a.confirm(third)).toBe(true);
  });
});
