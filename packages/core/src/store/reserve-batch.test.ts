import { usePrivateRedis } from "@zimage/testkit";
import { expect, it } from "vitest";
import { newJobId } from "../ids";
import { CLASS_SPAN, MIN_REBASE_SHIFT, REBASE_AT } from "./fair-share";
import { releaseBatch, reserveBatch } from "./reserve-batch";

const redis = usePrivateRedis();
const batch = (owner: string, n: number, maxPending = 10) => ({
  batchId: `batch_${newJobId()}`,
  owner,
  jobs: Array.from({ length: n }, () => ({ id: newJobId(), cls: "batch" as const })),
  maxPending,
  weight: 1,
  at: Date.now(),
  ttlSeconds: 3600,
});

it("reserves every job of a batch in one script, with successive fair slots and the batch record", async () => {
  const b = batch("u", 4);
  const r = await reserveBatch(redis.conn, "rb", b);
  expect(r).toMatchObject({
    reserved: true,
    priorities: [1, 2, 3, 4].map((p) => CLASS_SPAN + p),
    slots: { batch: { slot: "4", previous: "" } },
  });
  expect(await redis.conn.scard("rb:jobs:pending:u")).toBe(4);
  expect(await redis.conn.lrange(`rb:batch:${b.batchId}:jobs`, 0, -1)).toEqual(b.jobs.map((j) => j.id));
  expect(await redis.conn.hgetall(`rb:batch:${b.batchId}`)).toMatchObject({ owner: "u", total: "4" });
  expect(await redis.conn.ttl(`rb:batch:${b.batchId}`)).toBeGreaterThan(3500);
  expect(await redis.conn.zrange("rb:batches:owner:u", 0, "-1")).toEqual([b.batchId]);
});

it("admits a batch on one free pending slot, refuses it at the limit, and release takes everything back", async () => {
  const big = (await reserveBatch(redis.conn, "lim", batch("u", 5, 3))) as Extract<
    Awaited<ReturnType<typeof reserveBatch>>,
    { reserved: true }
  >;
  expect(big.reserved).toBe(true);
  expect(await reserveBatch(redis.conn, "lim", batch("u", 1, 3))).toEqual({ reserved: false, pending: 5 });
  await releaseBatch(redis.conn, "lim", big);
  expect(await redis.conn.scard("lim:jobs:pending:u")).toBe(0);
  expect(await redis.conn.zcard("lim:jobs:all")).toBe(0);
  expect(await redis.conn.exists(`lim:batch:${big.batchId}`, `lim:batch:${big.batchId}:jobs`)).toBe(0);
  expect(await redis.conn.zcard("lim:batches:owner:u")).toBe(0);
  expect(await redis.conn.hget("lim:fair:batch:last", "u")).toBeNull();
});

it("a re-base in the middle of a batch moves the batch's earlier priorities with it", async () => {
  // The clock far along, and this owner two slots short of the re-base threshold.
  const served = MIN_REBASE_SHIFT + 10;
  await redis.conn.set("rebase:fair:batch:served", String(served));
  await redis.conn.hset("rebase:fair:batch:last", "u", String(REBASE_AT - 2));
  const r = await reserveBatch(redis.conn, "rebase", batch("u", 5));
  if (!r.reserved) throw new Error("not reserved");
  expect(r.rebased).toBe(true);
  // One clock for all five: consecutive, as if the re-base had happened before the batch.
  const first = CLASS_SPAN + REBASE_AT - 1 - served;
  expect(r.priorities).toEqual([first, first + 1, first + 2, first + 3, first + 4]);
});

it("a batch mixing classes takes each job's slot from its class's clock, indexes deadlines, and release gives both back", async () => {
  const ids = [newJobId(), newJobId(), newJobId()];
  const b = {
    ...batch("m", 0),
    jobs: [
      { id: ids[0]!, cls: "batch" as const },
      { id: ids[1]!, cls: "interactive" as const, deadlineAt: 1_900_000_000_000 },
      { id: ids[2]!, cls: "batch" as const },
    ],
  };
  await redis.conn.hset("mix:fair:last", "m", "7");
  const r = await reserveBatch(redis.conn, "mix", b);
  if (!r.reserved) throw new Error("not reserved");
  expect(r.priorities).toEqual([CLASS_SPAN + 1, 8, CLASS_SPAN + 2]);
  expect(r.slots).toEqual({ interactive: { slot: "8", previous: "7" }, batch: { slot: "2", previous: "" } });
  expect(await redis.conn.zrange("mix:deadlines", 0, "-1", "WITHSCORES")).toEqual([ids[1], "1900000000000"]);
  await releaseBatch(redis.conn, "mix", r);
  expect(await redis.conn.hget("mix:fair:last", "m")).toBe("7");
  expect(await redis.conn.hget("mix:fair:batch:last", "m")).toBeNull();
  expect(await redis.conn.zcard("mix:deadlines")).toBe(0);
  expect(await redis.conn.scard("mix:jobs:pending:m")).toBe(0);
});
