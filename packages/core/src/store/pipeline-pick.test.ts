import { usePrivateRedis } from "@zimage/testkit";
import { type Job, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, expect, it } from "vitest";
import { newJobId } from "../ids";
import type { JobKind, PriorityClass } from "../job-request";
import { QUEUES } from "../queues";
import { addJob } from "./add-job";
import { CLASS_SPAN, markServed, nextFairPriority } from "./fair-share";
import { createJobQueue } from "./job-queue";
import { type PipelinePick, pickNextJob, pipelineSkipKey } from "./pipeline-pick";

/**
 * The pick with a real BullMQ queue: jobs queued at fair-share priorities as the api queues them,
 * fetched by `Worker.getNextJob` as the dispatcher fetches them, one simulated upstream (or two)
 * whose loaded pipeline is the kind of the last job it ran.
 */
const redis = usePrivateRedis();
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});
let n = 0;

async function setup() {
  const prefix = `pp${n++}`;
  const conn = new Redis(redis.server.url, { maxRetriesPerRequest: null });
  const queue = createJobQueue({ connection: conn, prefix, retentionSeconds: 60, attempts: 1, backoffMs: 1 });
  const worker = new Worker(QUEUES.generate, null, { connection: conn, prefix, autorun: false });
  closers.push(async () => {
    await worker.close();
    await queue.close();
    conn.disconnect();
  });
  /** Queues jobs through the fair-share clock: `owners[i]` submits a job of `kinds[i]`. */
  const submit = async (jobs: Array<[owner: string, kind: JobKind, cls?: PriorityClass]>) => {
    const ids: string[] = [];
    for (const [owner, kind, cls] of jobs) {
      const id = newJobId();
      const priority = await nextFairPriority(conn, prefix, owner, 1, cls);
      await addJob(queue, id, { kind, owner, params: { prompt: id } } as never, priority);
      ids.push(id);
    }
    return ids;
  };
  /** The queue's order as BullMQ will pop it. */
  const order = () => conn.zrange(queue.keys.prioritized!, 0, "-1");
  let tokens = 0;
  /** One dispatcher turn: the fetch as the dispatcher does it, the job completed at once. */
  const take = async (): Promise<Job> => {
    const token = `t${tokens++}`;
    const job = (await worker.getNextJob(token, { block: false })) as Job | undefined;
    if (!job) throw new Error("the pick promised a job but the queue was empty");
    await markServed(conn, prefix, job.opts.priority ?? 1);
    await job.moveToCompleted(null, token, false);
    return job;
  };
  return { prefix, conn, queue, worker, submit, order, take };
}

type Setup = Awaited<ReturnType<typeof setup>>;

interface SimUpstream {
  name: string;
  runnable: JobKind[];
  /** The loaded pipeline: the kind of the last job it ran (null: none yet). */
  loaded: JobKind | null;
  taken: Job[];
  loads: number;
}

function upstream(
  name: string,
  loaded: JobKind | null = null,
  runnable: JobKind[] = ["generate", "edit"],
): SimUpstream {
  return { name, runnable, loaded, taken: [], loads: 0 };
}

/** One turn of one upstream: pick, then fetch; null when it holds or the queue is empty. */
async function turn(s: Setup, u: SimUpstream, windowJobs: number, windowMs: number): Promise<PipelinePick> {
  const [, headScore] = await s.conn.zrange(s.queue.keys.prioritized!, 0, "0", "WITHSCORES");
  const pick = await pickNextJob(s.conn, s.prefix, {
    upstream: u.name,
    runnable: u.runnable,
    preferred: u.loaded,
    windowJobs,
    windowMs,
  });
  if (pick.action === "empty" || pick.action === "hold") return pick;
  const job = await s.take();
  if (pick.action === "promoted") {
    expect(job.id).toBe(pick.job);
    // Its priority is now the skipped head's (score and priority agree, as BullMQ keeps them).
    const band = Math.floor((Number(headScore) - 1) / 2 ** 32);
    // Within a class; a job promoted across classes (an unrunnable head) keeps its own priority.
    if (band >= CLASS_SPAN === (job.opts.priority ?? 1) >= CLASS_SPAN)
      expect(job.opts.priority).toBe(Math.max(band >= CLASS_SPAN ? CLASS_SPAN : 1, band));
  } else expect(job.id).toBe(pick.head);
  const kind = job.name as JobKind;
  if (kind !== u.loaded) u.loads++;
  u.loaded = kind;
  u.taken.push(job);
  return pick;
}

/** For each job, how many jobs queued behind it (in `initial` order) were taken before it. */
function overtakes(initial: string[], takenOrder: string[]): number[] {
  const rank = new Map(initial.map((id, i) => [id, i]));
  return takenOrder.map(
    (id, t) => takenOrder.slice(0, t).filter((earlier) => rank.get(earlier)! > rank.get(id)!).length,
  );
}

const alternating = (jobs: number): Array<[string, JobKind]> =>
  Array.from({ length: jobs }, (_, i) => (i % 2 === 0 ? ["alice", "generate"] : ["bob", "edit"]));

it("on one upstream, loads a pipeline at most ceil(jobs / K) + 1 times and lets no job be overtaken by more than K", async () => {
  const s = await setup();
  const jobs = 24;
  const K = 3;
  await s.submit(alternating(jobs));
  const initial = await s.order();
  // Fair share interleaves the two users, so the queue alternates kinds: FIFO would load 24 times.
  const kinds = await Promise.all(initial.map(async (id) => (await s.queue.getJob(id))!.name));
  expect(kinds.slice(0, 4)).toEqual(["generate", "edit", "generate", "edit"]);
  const gpu = upstream("gpu0");
  const reasons: string[] = [];
  for (;;) {
    const pick = await turn(s, gpu, K, 60_000);
    if (pick.action === "empty") break;
    expect(pick.action).not.toBe("hold");
    reasons.push(pick.action === "head" ? pick.reason : pick.action);
  }
  const taken = gpu.taken.map((j) => j.id!);
  expect(taken.sort()).toEqual([...initial].sort());
  expect(gpu.loads).toBeLessThanOrEqual(Math.ceil(jobs / K) + 1);
  expect(
    Math.max(
      ...overtakes(
        initial,
        gpu.taken.map((j) => j.id!),
      ),
    ),
  ).toBeLessThanOrEqual(K);
  // The window was what bounded the skipping (not a lack of preferred jobs).
  expect(reasons).toContain("window");
  expect(reasons).toContain("promoted");
});

it("within one kind, keeps the queue's (fair-share) order", async () => {
  const s = await setup();
  // Two users submit edits, a third a burst of t2i ahead of them: the edits interleave by fair share.
  await s.submit([
    ["carol", "generate"],
    ["alice", "edit"],
    ["alice", "edit"],
    ["alice", "edit"],
    ["bob", "edit"],
    ["bob", "edit"],
  ]);
  const editsInOrder = [];
  for (const id of await s.order()) if ((await s.queue.getJob(id))!.name === "edit") editsInOrder.push(id);
  const gpu = upstream("gpu0", "edit");
  while ((await turn(s, gpu, 10, 60_000)).action !== "empty");
  expect(gpu.taken.filter((j) => j.name === "edit").map((j) => j.id)).toEqual(editsInOrder);
  // The fair-share order among the edits: alice and bob alternate.
  expect(gpu.taken.slice(0, 4).map((j) => j.data.owner)).toEqual(["alice", "bob", "alice", "bob"]);
});

it("stops skipping a job after T even when K is not reached", async () => {
  const s = await setup();
  const T = 300;
  const [edit] = await s.submit([["bob", "edit"]]);
  const gpu = upstream("gpu0", "generate");
  await s.submit([["alice", "generate"]]);
  let firstSkipAt: number | null = null;
  let takenAt: number | null = null;
  const deadline = Date.now() + 10_000;
  while (takenAt === null && Date.now() < deadline) {
    const pick = await turn(s, gpu, 1_000_000, T);
    if (pick.action === "promoted") firstSkipAt ??= Date.now();
    if (gpu.taken.at(-1)?.id === edit) takenAt = Date.now();
    // Always one more t2i job queued behind the edit: the preference alone would never end.
    else await s.submit([["alice", "generate"]]);
  }
  expect(takenAt).not.toBeNull();
  expect(firstSkipAt).not.toBeNull();
  const skippedFor = takenAt! - firstSkipAt!;
  expect(skippedFor).toBeGreaterThanOrEqual(T - 5);
  expect(skippedFor).toBeLessThan(T + 2_000);
  expect(gpu.taken.length).toBeGreaterThan(1);
});

it("with two upstreams, each keeps its pipeline", async () => {
  const s = await setup();
  // Mixed runs of each kind from three users; as many edits as t2i jobs.
  const pattern: JobKind[] = ["generate", "generate", "edit", "generate", "edit", "edit", "edit", "generate"];
  const jobs: Array<[string, JobKind]> = [];
  for (let i = 0; i < 24; i++) jobs.push([["alice", "bob", "carol"][i % 3]!, pattern[i % pattern.length]!]);
  await s.submit(jobs);
  const t2i = upstream("gpu-t2i", "generate");
  const edit = upstream("gpu-edit", "edit");
  for (let turns = 0; turns < 100; turns++) {
    const a = await turn(s, t2i, 4, 60_000);
    const b = await turn(s, edit, 4, 60_000);
    if (a.action === "empty" && b.action === "empty") break;
  }
  expect(t2i.taken.length + edit.taken.length).toBe(24);
  expect(t2i.taken.every((j) => j.name === "generate")).toBe(true);
  expect(edit.taken.every((j) => j.name === "edit")).toBe(true);
  expect([t2i.loads, edit.loads]).toEqual([0, 0]);
});

it("never gives an upstream a kind it cannot run, and holds when only that kind is queued", async () => {
  const s = await setup();
  await s.submit([
    ["bob", "edit"],
    ["alice", "generate"],
    ["bob", "edit"],
    ["alice", "generate"],
  ]);
  // Even with no preference (a single-model server without an edit route).
  const t2iOnly = upstream("gpu0", null, ["generate"]);
  const picks: string[] = [];
  for (let i = 0; i < 4; i++) picks.push((await turn(s, t2iOnly, 2, 60_000)).action);
  expect(picks).toEqual(["promoted", "promoted", "hold", "hold"]);
  expect(t2iOnly.taken.map((j) => j.name)).toEqual(["generate", "generate"]);
  expect(await s.queue.getJobCounts("prioritized")).toEqual({ prioritized: 2 });
  // A head it cannot run is not "skipped": nothing counts against it.
  expect(await s.conn.exists(pipelineSkipKey(s.prefix, "gpu0"))).toBe(0);
});

it("on a single-model upstream (no preference), takes jobs in plain BullMQ order and writes nothing", async () => {
  const s = await setup();
  await s.submit([
    ["alice", "generate"],
    ["alice", "edit"],
    ["bob", "edit"],
    ["carol", "generate"],
    ["alice", "generate"],
    ["bob", "generate"],
    ["carol", "edit"],
  ]);
  const initial = await s.order();
  const gpu = upstream("gpu0");
  for (;;) {
    const pick = await pickNextJob(s.conn, s.prefix, {
      upstream: "gpu0",
      runnable: ["generate", "edit"],
      preferred: null,
      windowJobs: 8,
      windowMs: 60_000,
    });
    if (pick.action === "empty") break;
    expect(pick).toMatchObject({ action: "head", reason: "fifo" });
    gpu.taken.push(await s.take());
  }
  expect(gpu.taken.map((j) => j.id)).toEqual(initial);
  expect(await s.conn.exists(pipelineSkipKey(s.prefix, "gpu0"))).toBe(0);
});

it("keeps score and priority in step, even ahead of a job given back to the front of priority 1", async () => {
  const s = await setup();
  const [edit, , t2i] = await s.submit([
    ["bob", "edit"],
    ["alice", "generate"],
    ["alice", "generate"],
  ]);
  // The edit was fetched and given back (lease lost): BullMQ puts it at counter 0 of its priority.
  const back = (await s.worker.getNextJob("t-back", { block: false })) as Job;
  expect(back.id).toBe(edit);
  await back.moveToWait("t-back");
  expect(await s.conn.zscore(s.queue.keys.prioritized!, edit!)).toBe(String(2 ** 32));
  const pick = await pickNextJob(s.conn, s.prefix, {
    upstream: "gpu0",
    runnable: ["generate", "edit"],
    preferred: "generate",
    windowJobs: 8,
    windowMs: 60_000,
  });
  expect(pick).toMatchObject({ action: "promoted", head: edit, headKind: "edit", kind: "generate" });
  const promoted = (await s.queue.getJob((pick as { job: string }).job))!;
  // Below 2^32 (BullMQ's priority-0 band): the priority stays 1, never 0 (0 would mean "no priority").
  expect([promoted.priority, promoted.opts.priority]).toEqual([1, 1]);
  expect((await s.take()).id).toBe(promoted.id);
  // The same head skipped again: counted against it.
  const again = await pickNextJob(s.conn, s.prefix, {
    upstream: "gpu0",
    runnable: ["generate", "edit"],
    preferred: "generate",
    windowJobs: 8,
    windowMs: 60_000,
  });
  expect(again).toMatchObject({ action: "promoted", job: t2i, head: edit });
  const headScore = Number(await s.conn.zscore(s.queue.keys.prioritized!, edit!));
  const score = Number(await s.conn.zscore(s.queue.keys.prioritized!, t2i!));
  expect(score).toBe(headScore - 1);
  expect((await s.conn.hgetall(pipelineSkipKey(s.prefix, "gpu0"))).count).toBe("2");
  expect(await s.order()).toEqual([t2i, edit]);
});

it("never promotes a job across classes for a warm pipeline: interactive jobs all run before batch ones", async () => {
  const s = await setup();
  // Interactive text-to-image jobs, then batch edits queued earlier in time do not matter: class decides.
  const batchEdits = await s.submit([
    ["bulk", "edit", "batch"],
    ["bulk", "edit", "batch"],
  ]);
  const interactive = await s.submit([
    ["alice", "generate"],
    ["bob", "generate"],
    ["alice", "edit"],
  ]);
  // An upstream with the edit pipeline loaded prefers edits, but only among the head's class.
  const u = upstream("gpu0", "edit");
  for (let i = 0; i < 5; i++) await turn(s, u, 10, 60_000);
  const taken = u.taken.map((j) => j.id);
  // The interactive edit goes first (same class as the head), then the interactive text-to-image
  // jobs; the batch edits, though of the loaded pipeline, wait until no interactive job is left.
  expect(taken).toEqual([interactive[2], interactive[0], interactive[1], batchEdits[0], batchEdits[1]]);
  for (const job of u.taken.slice(0, 3)) expect(job.opts.priority).toBeLessThan(CLASS_SPAN);
  for (const job of u.taken.slice(3)) expect(job.opts.priority).toBeGreaterThan(CLASS_SPAN);
});

it("for a head it cannot run, takes the first job it can run, keeping that job's class", async () => {
  const s = await setup();
  const [edit] = await s.submit([["alice", "edit"]]);
  const [batchGen] = await s.submit([["bulk", "generate", "batch"]]);
  const u = upstream("t2i-only", null, ["generate"]);
  const pick = await turn(s, u, 10, 60_000);
  expect(pick).toMatchObject({ action: "promoted", job: batchGen, head: edit });
  // Not moved into the interactive band: its fair-share clock and any retry treat it as batch.
  expect(u.taken[0]!.opts.priority).toBe(CLASS_SPAN + 1);
  expect(await s.order()).toEqual([edit]);
});
