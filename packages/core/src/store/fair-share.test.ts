import { usePrivateRedis } from "@zimage/testkit";
import { expect, it } from "vitest";
import { markServed, nextFairPriority, resetFairShare, servedSlot } from "./fair-share";

const redis = usePrivateRedis();

it("keeps each owner in order and puts a newcomer right after the job in service", async () => {
  const heavy = [];
  for (let i = 0; i < 5; i++) heavy.push(await nextFairPriority(redis.conn, "f", "heavy", 1));
  expect(heavy).toEqual([1, 2, 3, 4, 5]);
  // Two of heavy's jobs have started: the virtual clock is at slot 2.
  await markServed(redis.conn, "f", 1);
  await markServed(redis.conn, "f", 2);
  expect(await nextFairPriority(redis.conn, "f", "light", 1)).toBe(2);
  // Heavy's next job still queues after its own older ones.
  expect(await nextFairPriority(redis.conn, "f", "heavy", 1)).toBe(6);
});

it("gives a weight-2 owner two jobs per slot", async () => {
  const slots = [];
  for (let i = 0; i < 4; i++) slots.push(await nextFairPriority(redis.conn, "w", "vip", 2));
  expect(slots).toEqual([1, 1, 2, 2]);
});

it("starts over from slot 1 after a reset, and never moves the clock backwards", async () => {
  await markServed(redis.conn, "r", 10);
  await markServed(redis.conn, "r", 4);
  expect(await servedSlot(redis.conn, "r")).toBe(9);
  await resetFairShare(redis.conn, "r");
  expect(await nextFairPriority(redis.conn, "r", "a", 1)).toBe(1);
});
