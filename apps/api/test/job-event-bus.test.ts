import { Writable } from "node:stream";
import { createLogger, createRedis, internalErrors, jobEventsChannel, publishJobEvent } from "@zimage/core";
import { usePrivateRedis } from "@zimage/testkit";
import { describe, expect, it } from "vitest";
import { JobEventBus } from "../src/job-event-bus";
import { preferredWait, queryWait } from "../src/job-wait";

const redis = usePrivateRedis();

describe("JobEventBus", () => {
  it("wakes a waiter when its job's event is published, and not for other jobs", async () => {
    const conn = createRedis(redis.server.url);
    const bus = new JobEventBus(conn, "ev", createLogger({ name: "t", level: "silent" }));
    await bus.start();
    try {
      let woke = false;
      const waiting = bus.next("JOB-A", 10_000).then(() => {
        woke = true;
      });
      await publishJobEvent(redis.conn, "ev", { id: "JOB-B", type: "changed" });
      await publishJobEvent(redis.conn, "ev", { id: "JOB-B", type: "dispatched" });
      await new Promise((r) => setTimeout(r, 100)); // give a wrong wake-up the chance to happen
      expect(woke).toBe(false);
      const t0 = Date.now();
      await publishJobEvent(redis.conn, "ev", { id: "JOB-A", type: "changed" });
      await waiting;
      // Woken by the event, far sooner than the 10 s timeout.
      expect(Date.now() - t0).toBeLessThan(5_000);
      const onDispatch = bus.next("JOB-C", 10_000, { onDispatch: true });
      await publishJobEvent(redis.conn, "ev", { id: "JOB-D", type: "dispatched" });
      await onDispatch;
    } finally {
      await bus.close();
      conn.disconnect();
    }
  });

  it("leaves no waiter behind, whether woken, timed out or aborted, and counts what is registered", async () => {
    const conn = createRedis(redis.server.url);
    const bus = new JobEventBus(conn, "ev2", createLogger({ name: "t", level: "silent" }));
    await bus.start();
    try {
      const aborted = new AbortController();
      const waits = [
        ...Array.from({ length: 500 }, () => bus.next("JOB-W", 30_000, { onDispatch: true })),
        bus.next("JOB-T", 1),
        bus.next("JOB-X", 30_000, { signal: aborted.signal }),
      ];
      const unsubscribe = bus.subscribe(() => {});
      expect(bus.counts()).toEqual({ waiters: 502, subscribers: 1 });
      aborted.abort();
      await publishJobEvent(redis.conn, "ev2", { id: "JOB-W", type: "changed" });
      await Promise.all(waits);
      unsubscribe();
      expect(bus.counts()).toEqual({ waiters: 0, subscribers: 0 });
      // Already aborted: nothing is registered at all.
      await bus.next("JOB-Y", 30_000, { signal: aborted.signal });
      expect(bus.counts().waiters).toBe(0);
    } finally {
      await bus.close();
      conn.disconnect();
    }
  });

  it("counts and logs an unreadable event instead of dropping it", async () => {
    const conn = createRedis(redis.server.url);
    const warnings: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        warnings.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const bus = new JobEventBus(conn, "ev", createLogger({ name: "t", level: "warn", destination: sink }));
    await bus.start();
    try {
      const count = async () =>
        (await internalErrors.get()).values.find((v) => v.labels.where === "job_event_parse")?.value ?? 0;
      const before = await count();
      await redis.conn.publish(jobEventsChannel("ev"), "not json");
      // The subscriber sees the message in order before this one, which it can read.
      const next = bus.next("JOB-E", 10_000);
      await publishJobEvent(redis.conn, "ev", { id: "JOB-E", type: "changed" });
      await next;
      expect(await count()).toBe(before + 1);
      expect(warnings).toContainEqual(
        expect.objectContaining({ where: "job_event_parse", message: "not json" }),
      );
    } finally {
      await bus.close();
      conn.disconnect();
    }
  });
});

describe("wait parameters", () => {
  it("clamps the Prefer preference and validates the query parameter", () => {
    expect(preferredWait(undefined)).toBe(0);
    expect(preferredWait("wait=10")).toBe(10);
    expect(preferredWait("respond-async, wait=600")).toBe(60);
    expect(preferredWait("handling=lenient")).toBe(0);
    expect(queryWait(undefined)).toBe(0);
    expect(queryWait("30")).toBe(30);
    for (const bad of ["61", "-1", "abc", "1.5", ["1", "2"]]) {
      expect(() => queryWait(bad)).toThrow(expect.objectContaining({ code: "invalid_request" }));
    }
  });
});
