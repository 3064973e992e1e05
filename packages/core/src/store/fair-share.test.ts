import { usePrivateRedis } from "@zimage/testkit";
import { expect, it } from "vitest";
import { newJobId } from "../ids";
import { addJob } from "./add-job";
import {
  CLASS_SPAN,
  MAX_INTERACTIVE_PRIORITY,
  MAX_PRIORITY,
  markServed,
  nextFairPriority,
  resetFairShare,
  servedSlot,
  takeFairSlot,
} from "./fair-share";
import { createJobQueue } from "./job-queue";
import { isQueueIdle } from "./queue-idle";
import { markQueued } from "./queued-since";

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

it("gives a weight-0.25 owner one slot per four turns", async () => {
  const slots = [];
  for (let i = 0; i < 3; i++) slots.push(await nextFairPriority(redis.conn, "quarter", "background", 0.25));
  expect(slots).toEqual([4, 8, 12]);
});

/** A queue whose jobs carry the priorities given, as if the api had queued them at those slots. */
async function queueAt(prefix: string, priorities: number[]) {
  const queue = createJobQueue({
    connection: redis.conn,
    prefix,
    retentionSeconds: 60,
    attempts: 1,
    backoffMs: 1,
  });
  const ids: string[] = [];
  for (const p of priorities) {
    const id = newJobId();
    await addJob(queue, id, { kind: "generate", owner: "heavy", params: { prompt: id } } as never, p);
    ids.push(id);
  }
  return { queue, ids };
}

it("re-bases the clock and the queued jobs near BullMQ's limit, keeping their order", async () => {
  const P = "rebase";
  // A million slots served without the queue ever being empty; heavy has three jobs queued.
  const { queue, ids } = await queueAt(P, [1_000_001, 1_000_002, 1_000_003]);
  try {
    await redis.conn.set(`${P}:fair:served`, "1000000");
    await redis.conn.set(`${P}:fair:top`, "1000003");
    await redis.conn.hset(`${P}:fair:last`, "heavy", "1000003");
    const next = await takeFairSlot(redis.conn, P, "heavy", 1);
    expect(next).toEqual({ priority: 4, event: "rebased" });
    const light = await takeFairSlot(redis.conn, P, "light", 1);
    expect(light).toEqual({ priority: 1, event: null });
    const [h4, l1] = [newJobId(), newJobId()];
    await addJob(
      queue,
      h4,
      { kind: "generate", owner: "heavy", params: { prompt: "h4" } } as never,
      next.priority,
    );
    await addJob(
      queue,
      l1,
      { kind: "generate", owner: "light", params: { prompt: "l1" } } as never,
      light.priority,
    );
    // The newcomer goes right after the job at the served slot, the backlog keeps its order.
    expect(await redis.conn.zrange(queue.keys.prioritized!, 0, "-1")).toEqual([
      ids[0],
      l1,
      ids[1],
      ids[2],
      h4,
    ]);
    const moved = (await queue.getJob(ids[1]!))!;
    expect([moved.priority, moved.opts.priority]).toEqual([2, 2]);
    // A dispatcher that read a priority from before the re-base does not move the clock far ahead.
    await markServed(redis.conn, P, 1_000_001);
    expect(await servedSlot(redis.conn, P)).toBe(0);
  } finally {
    await queue.close();
  }
});

it("caps a priority at its class's band when the backlog spans the whole band", async () => {
  await redis.conn.set("sat:fair:served", "10");
  await redis.conn.hset("sat:fair:last", "heavy", String(MAX_PRIORITY));
  expect(MAX_PRIORITY).toBe(2 ** 21 - 1);
  expect(await takeFairSlot(redis.conn, "sat", "heavy", 1)).toEqual({
    priority: MAX_INTERACTIVE_PRIORITY,
    event: "saturated",
  });
  // A batch backlog saturates at BullMQ's own limit, never inside the interactive band.
  await redis.conn.set("sat:fair:batch:served", "10");
  await redis.conn.hset("sat:fair:batch:last", "heavy", String(MAX_PRIORITY));
  expect(await takeFairSlot(redis.conn, "sat", "heavy", 1, "batch")).toEqual({
    priority: MAX_PRIORITY,
    event: "saturated",
  });
});

it("gives batch jobs priorities above every interactive one, with a clock of their own", async () => {
  const P = "classes";
  const batch = [];
  for (let i = 0; i < 3; i++) batch.push(await nextFairPriority(redis.conn, P, "bulk", 1, "batch"));
  expect(batch).toEqual([CLASS_SPAN + 1, CLASS_SPAN + 2, CLASS_SPAN + 3]);
  // Interactive slots start from their own clock, untouched by the batch backlog.
  expect(await nextFairPriority(redis.conn, P, "bulk", 1)).toBe(1);
  expect(await nextFairPriority(redis.conn, P, "alice", 1)).toBe(1);
  // A dispatched batch job moves the batch clock only: a newcomer lands right after it in its class.
  await markServed(redis.conn, P, CLASS_SPAN + 2);
  expect(await servedSlot(redis.conn, P, "batch")).toBe(1);
  expect(await servedSlot(redis.conn, P)).toBe(0);
  expect(await nextFairPriority(redis.conn, P, "carol", 1, "batch")).toBe(CLASS_SPAN + 2);
  expect(await nextFairPriority(redis.conn, P, "carol", 1)).toBe(1);
});

it("re-bases one class's clock and jobs without moving the other class, keeping every job's order", async () => {
  const P = "rebase-classes";
  const far = 1_000_000;
  // Interactive and batch backlogs both deep into their bands, batch queued first.
  const { queue, ids } = await queueAt(P, [CLASS_SPAN + far + 1, CLASS_SPAN + far + 2, far + 1, far + 2]);
  try {
    for (const [cls, at] of [
      ["", far],
      [":batch", far],
    ] as const) {
      await redis.conn.set(`${P}:fair${cls}:served`, String(at));
      await redis.conn.set(`${P}:fair${cls}:top`, String(at + 2));
      await redis.conn.hset(`${P}:fair${cls}:last`, "heavy", String(at + 2));
    }
    const order = () => redis.conn.zrange(queue.keys.prioritized!, 0, "-1");
    const priorities = async () => Promise.all(ids.map(async (id) => (await queue.getJob(id))!.priority));
    expect(await order()).toEqual([ids[2], ids[3], ids[0], ids[1]]);
    // The interactive clock re-bases: only interactive jobs move, down to the bottom of their band.
    expect(await takeFairSlot(redis.conn, P, "heavy", 1)).toEqual({ priority: 3, event: "rebased" });
    expect(await priorities()).toEqual([CLASS_SPAN + far + 1, CLASS_SPAN + far + 2, 1, 2]);
    expect(await servedSlot(redis.conn, P, "batch")).toBe(far);
    // Then the batch clock: batch jobs move down to the bottom of theirs, still above every interactive.
    expect(await takeFairSlot(redis.conn, P, "heavy", 1, "batch")).toEqual({
      priority: CLASS_SPAN + 3,
      event: "rebased",
    });
    expect(await priorities()).toEqual([CLASS_SPAN + 1, CLASS_SPAN + 2, 1, 2]);
    expect(await order()).toEqual([ids[2], ids[3], ids[0], ids[1]]);
    expect(await servedSlot(redis.conn, P)).toBe(0);
  } finally {
    await queue.close();
  }
});

it("does not reset the clock while a submit is between its slot and Queue.add", async () => {
  const P = "reset-race";
  expect(await nextFairPriority(redis.conn, P, "a", 1)).toBe(1);
  // What reserveSubmit writes in the same script as the slot: the submit is in flight.
  await markQueued(redis.conn, P, newJobId(), Date.now());
  const keys = ["wait", "prioritized", "active", "delayed"].map((k) => [k, `${P}:generate:${k}`]);
  expect(await isQueueIdle(redis.conn, Object.fromEntries(keys))).toBe(true);
  await resetFairShare(redis.conn, P);
  expect(await nextFairPriority(redis.conn, P, "a", 1)).toBe(2);
});
