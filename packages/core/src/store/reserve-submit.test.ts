import { usePrivateRedis } from "@zimage/testkit";
import { expect, it } from "vitest";
import { newJobId } from "../ids";
import { countPending } from "./pending-jobs";
import { releaseSubmit, reserveSubmit, type SubmitReservation } from "./reserve-submit";

const redis = usePrivateRedis();
const job = (owner: string, maxPending = 3) => ({
  id: newJobId(),
  owner,
  maxPending,
  weight: 1,
  at: Date.now(),
});

it("lets exactly max_pending of 60 concurrent submits through", async () => {
  const results = await Promise.all(
    Array.from({ length: 60 }, () => reserveSubmit(redis.conn, "rs", job("u"))),
  );
  expect(results.filter((r) => r.reserved).length).toBe(3);
  expect(results.filter((r) => !r.reserved)).toEqual(Array(57).fill({ reserved: false, pending: 3 }));
  expect(await redis.conn.scard("rs:jobs:pending:u")).toBe(3);
});

it("release takes back every entry and the owner's fair slot", async () => {
  const first = (await reserveSubmit(redis.conn, "rl", job("u"))) as SubmitReservation;
  const second = (await reserveSubmit(redis.conn, "rl", job("u"))) as SubmitReservation;
  expect([first.priority, second.priority]).toEqual([1, 2]);
  await releaseSubmit(redis.conn, "rl", second);
  const left = await Promise.all([
    redis.conn.smembers("rl:jobs:pending:u"),
    redis.conn.zrange("rl:jobs:all", 0, "-1"),
    redis.conn.zrange("rl:jobs:owner:u", 0, "-1"),
    redis.conn.zrange("rl:jobs:queued-since", 0, "-1"),
  ]);
  expect(left).toEqual([[first.id], [first.id], [first.id], [first.id]]);
  expect(((await reserveSubmit(redis.conn, "rl", job("u"))) as SubmitReservation).priority).toBe(2);
});

it("a pending check at the limit keeps a reservation whose job is not queued yet", async () => {
  const r = (await reserveSubmit(redis.conn, "rp", job("u", 1))) as SubmitReservation;
  // No job exists for it yet: the queue reports it as not pending.
  expect(await countPending(redis.conn, "rp", "u", async (ids) => ids.map(() => false))).toBe(1);
  expect(await redis.conn.sismember("rp:jobs:pending:u", r.id)).toBe(1);
});
