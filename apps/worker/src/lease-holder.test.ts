import { createLogger, UpstreamLease } from "@zimage/core";
import { usePrivateRedis, waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { LeaseHolder, LeaseLostError } from "./lease-holder";

const redis = usePrivateRedis();
const logger = createLogger({ level: "silent", name: "lease-holder-test" });
const TTL = 600;
let upstreamNo = 0;
const holders: LeaseHolder[] = [];
afterEach(async () => {
  await Promise.all(holders.splice(0).map((h) => h.release()));
});

function holder(upstream: string, owner: string, ttlMs = TTL) {
  const lost: string[] = [];
  const acquired: number[] = [];
  const h = new LeaseHolder({
    lease: new UpstreamLease(redis.conn, "lh", upstream, owner, ttlMs),
    ttlMs,
    logger,
    onAcquired: async (term) => {
      acquired.push(term);
    },
    onLost: (reason) => lost.push(reason),
  });
  holders.push(h);
  return { h, lost, acquired };
}

/** Freezes this process's event loop, as SIGSTOP or a long GC pause would: no timer runs meanwhile. */
function freeze(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe("LeaseHolder", () => {
  it("holds one term across many TTLs while its renewals get through", async () => {
    const upstream = `u${upstreamNo++}`;
    const a = holder(upstream, "a");
    const b = holder(upstream, "b");
    expect(await a.h.hold()).toBe(true);
    const term = a.h.currentTerm;
    expect(term).toBeGreaterThan(0);
    expect(a.acquired).toEqual([term]);
    const until = Date.now() + 4 * TTL;
    while (Date.now() < until) {
      expect(await b.h.hold()).toBe(false);
      expect(a.h.valid).toBe(true);
      await new Promise((r) => setTimeout(r, TTL / 4));
    }
    expect(a.h.currentTerm).toBe(term);
    expect(a.lost).toEqual([]);
    expect(await a.h.confirm()).toBe(true);
  });

  it("after a pause longer than the TTL, is invalid before it can do anything, and its term is over", async () => {
    const upstream = `u${upstreamNo++}`;
    const a = holder(upstream, "a");
    const b = holder(upstream, "b");
    expect(await a.h.hold()).toBe(true);
    const oldTerm = a.h.currentTerm!;
    freeze(TTL + 200);
    // First thing after the pause, before any timer or I/O: the deadline has passed.
    expect(a.h.valid).toBe(false);
    expect(() => a.h.assertValid("sending")).toThrow(LeaseLostError);
    expect(a.lost).toHaveLength(1);
    // Meanwhile the key expired in Redis, so a standby takes the lease in a new term.
    expect(await b.h.hold()).toBe(true);
    expect(b.h.currentTerm).toBe(oldTerm + 1);
    expect(await a.h.hold()).toBe(false);
    expect(await b.h.confirm()).toBe(true);
  });

  it("ends its term at the deadline when renewals cannot reach Redis, without waiting for an answer", async () => {
    const upstream = `u${upstreamNo++}`;
    const a = holder(upstream, "a");
    expect(await a.h.hold()).toBe(true);
    const info = await redis.conn.info("server");
    const pid = Number(/process_id:(\d+)/.exec(info)![1]);
    // A silent partition: Redis is stopped, so renewals neither succeed nor fail.
    process.kill(pid, "SIGSTOP");
    try {
      // Still inside the partition: the term ends by the clock, not by an answer from Redis.
      await waitFor(() => a.lost.length > 0, {
        timeoutMs: 20 * TTL,
        intervalMs: 10,
        what: "the term to end",
      });
      expect(a.h.valid).toBe(false);
      expect(a.lost[0]).toMatch(/deadline/);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    expect(() => a.h.assertValid("fetching")).toThrow(LeaseLostError);
  });

  it("gives the lease back on release, so a standby takes it at once", async () => {
    const upstream = `u${upstreamNo++}`;
    const a = holder(upstream, "a", 60_000);
    const b = holder(upstream, "b", 60_000);
    expect(await a.h.hold()).toBe(true);
    await a.h.release();
    expect(a.h.holding).toBe(false);
    expect(a.lost).toEqual(["released"]);
    expect(await b.h.hold()).toBe(true);
  });

  it("gives the lease back when its setup after acquiring fails", async () => {
    const upstream = `u${upstreamNo++}`;
    const lease = new UpstreamLease(redis.conn, "lh", upstream, "a", 60_000);
    const a = new LeaseHolder({
      lease,
      ttlMs: 60_000,
      logger,
      onAcquired: async () => {
        throw new Error("health probe failed");
      },
      onLost: () => {},
    });
    expect(await a.hold()).toBe(false);
    expect(a.holding).toBe(false);
    expect(await lease.holder()).toBeNull();
  });
});
