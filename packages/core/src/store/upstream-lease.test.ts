import { usePrivateRedis, waitFor } from "@zimage/testkit";
import { describe, expect, it } from "vitest";
import { UpstreamLease } from "./upstream-lease";

const redis = usePrivateRedis();

describe("UpstreamLease", () => {
  it("lets exactly one of several contenders hold an upstream", async () => {
    const leases = ["a", "b", "c", "d"].map((o) => new UpstreamLease(redis.conn, "t", "gpu0", o, 5_000));
    const won = await Promise.all(leases.map((l) => l.acquire()));
    expect(won.filter(Boolean)).toHaveLength(1);
    const holder = leases[won.indexOf(true)]!;
    expect(await holder.holder()).toBe(holder.owner);
    expect(await holder.acquire()).toBe(true); // re-acquiring one's own lease renews it
    await holder.release();
  });

  it("does not let a non-holder renew or release someone else's lease", async () => {
    const a = new UpstreamLease(redis.conn, "t", "gpu1", "a", 5_000);
    const b = new UpstreamLease(redis.conn, "t", "gpu1", "b", 5_000);
    expect(await a.acquire()).toBe(true);
    expect(await b.renew()).toBe(false);
    await b.release();
    expect(await a.holder()).toBe("a");
    await a.release();
    expect(await b.acquire()).toBe(true);
  });

  it("passes to a standby once the holder stops renewing", async () => {
    const dead = new UpstreamLease(redis.conn, "t", "gpu2", "dead", 200);
    const standby = new UpstreamLease(redis.conn, "t", "gpu2", "standby", 200);
    expect(await dead.acquire()).toBe(true);
    expect(await standby.acquire()).toBe(false);
    await waitFor(() => standby.acquire(), { timeoutMs: 3_000, what: "standby to take the lease" });
    expect(await dead.renew()).toBe(false);
  });
});
