import {
  addJob,
  createJobQueue,
  type JobKind,
  type LoadedPipeline,
  newJobId,
  nextFairPriority,
  QUEUES,
  recordLoadDuration,
  registerUpstream,
  type UpstreamModes,
  type UpstreamState,
  updateUpstreamState,
} from "@zimage/core";
import { usePrivateRedis } from "@zimage/testkit";
import { type Job, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, expect, it } from "vitest";
import { type FetchMode, FetchPolicy } from "./fetch-policy";
import type { UpstreamMonitor } from "./upstream-monitor";

/**
 * The fetch policy as the dispatcher uses it (`choose`, `Worker.getNextJob`, `accepts`, `moveToWait`
 * when not accepted), on a real queue; the upstreams' health is what their monitors would hold.
 */
const redis = usePrivateRedis();
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});
let n = 0;

interface FakeMonitor {
  up: boolean | null;
  modelLoaded: boolean | null;
  loadedPipeline: LoadedPipeline | null;
  modes: UpstreamModes | null;
  busy: boolean;
}

async function setup() {
  const prefix = `fp${n++}`;
  const conn = new Redis(redis.server.url, { maxRetriesPerRequest: null });
  const queue = createJobQueue({ connection: conn, prefix, retentionSeconds: 60, attempts: 1, backoffMs: 1 });
  const worker = new Worker(QUEUES.generate, null, { connection: conn, prefix, autorun: false });
  closers.push(async () => {
    await worker.close();
    await queue.close();
    conn.disconnect();
  });
  const submit = async (jobs: Array<[owner: string, kind: JobKind]>) => {
    const ids: string[] = [];
    for (const [owner, kind] of jobs) {
      const id = newJobId();
      await addJob(
        queue,
        id,
        { kind, owner, params: { prompt: id } } as never,
        await nextFairPriority(conn, prefix, owner, 1),
      );
      ids.push(id);
    }
    return ids;
  };
  const policy = (name: string, monitor: Partial<FakeMonitor>, window = { jobs: 4, ms: 60_000 }) => {
    const m: FakeMonitor = {
      up: true,
      modelLoaded: null,
      loadedPipeline: null,
      modes: null,
      busy: false,
      ...monitor,
    };
    const p = new FetchPolicy({
      upstream: name,
      redis: conn,
      prefix,
      monitor: m as unknown as UpstreamMonitor,
      healthIntervalMs: 1_000,
      pipelineWindow: window,
    });
    return { policy: p, monitor: m };
  };
  /** What the cluster sees of an upstream (its holder's writes). */
  const peer = async (name: string, state: Partial<UpstreamState>) => {
    await registerUpstream(conn, prefix, name, `http://${name}:8000`);
    await updateUpstreamState(conn, prefix, name, {
      owner: `${name}-holder`,
      up: true,
      busy: false,
      checked_at: new Date().toISOString(),
      ...state,
    });
  };
  let tokens = 0;
  /**
   * One dispatcher step without the GPU: choose, fetch, give back what is not accepted, otherwise
   * complete it at once; the upstream then has the job's pipeline loaded.
   */
  const step = async (
    u: ReturnType<typeof policy>,
  ): Promise<{ mode: FetchMode; job?: Job; givenBack?: Job }> => {
    const mode = await u.policy.choose();
    if (mode === "hold") return { mode };
    const token = `t${tokens++}`;
    const job = (await worker.getNextJob(token, { block: false })) as Job | undefined;
    if (!job) return { mode };
    if (!u.policy.accepts(job)) {
      await job.moveToWait(token);
      return { mode, givenBack: job };
    }
    await job.moveToCompleted(null, token, false);
    if (u.monitor.loadedPipeline !== "all") u.monitor.loadedPipeline = job.name as JobKind;
    return { mode, job };
  };
  return { prefix, conn, queue, worker, submit, policy, peer, step };
}

/** A Redis that fails the test if anything touches it. */
const untouchable = new Proxy(
  {},
  {
    get(_, prop) {
      throw new Error(`the policy used Redis (${String(prop)})`);
    },
  },
) as Redis;

it("on a single-model server, blocks on the queue as before, without reading anything", async () => {
  for (const monitor of [
    { modelLoaded: true, loadedPipeline: "all" as const },
    { modelLoaded: null, loadedPipeline: null },
  ]) {
    const policy = new FetchPolicy({
      upstream: "gpu0",
      redis: untouchable,
      prefix: "x",
      monitor: { up: true, modes: null, ...monitor } as unknown as UpstreamMonitor,
      healthIntervalMs: 1_000,
    });
    expect(await policy.choose()).toBe("block");
    expect(policy.accepts({ name: "edit" })).toBe(true);
    expect(policy.accepts({ name: "generate" })).toBe(true);
  }
});

it("a cold single-model upstream holds while a warm peer is idle, and fetches once it is busy", async () => {
  const t = await setup();
  const cold = t.policy("gpu0", { modelLoaded: false });
  // No peer: takes the job.
  expect(await cold.policy.choose()).toBe("block");
  await t.peer("gpu1", { model_loaded: true });
  // Nothing queued: holds, so a job that comes in goes to the warm peer.
  expect(await cold.policy.choose()).toBe("hold");
  await t.submit([["alice", "edit"]]);
  expect(await cold.policy.choose()).toBe("hold");
  await t.peer("gpu1", { model_loaded: true, busy: true });
  expect(await cold.policy.choose()).toBe("poll");
  // A peer whose health is stale, or whose breaker is open, is not waited for either.
  await t.peer("gpu1", { model_loaded: true, checked_at: new Date(Date.now() - 60_000).toISOString() });
  expect(await cold.policy.choose()).toBe("poll");
  await t.peer("gpu1", {
    model_loaded: true,
    breaker: { state: "open", consecutive_failures: 3, opened_at: null, retry_at: null },
  });
  expect(await cold.policy.choose()).toBe("poll");
  expect((await t.step(cold)).job?.name).toBe("edit");
});

it("never takes a kind the upstream cannot run: holds while only that kind is queued", async () => {
  const t = await setup();
  const t2iOnly = t.policy("gpu0", { loadedPipeline: "all", modes: { generate: "sync", edit: null } });
  await t.submit([
    ["bob", "edit"],
    ["alice", "generate"],
  ]);
  expect((await t.step(t2iOnly)).job?.name).toBe("generate");
  expect(await t2iOnly.policy.choose()).toBe("hold");
  expect(t2iOnly.policy.accepts({ name: "edit" })).toBe(false);
  expect(await t.queue.getJobCounts("prioritized")).toEqual({ prioritized: 1 });
  // One that can run neither holds without looking.
  const neither = t.policy("gpu1", { loadedPipeline: "all", modes: { generate: null, edit: null } });
  expect(await neither.policy.choose()).toBe("hold");
});

it("gives back, uncounted, a job of the other kind that another dispatcher's choice left at the head", async () => {
  const t = await setup();
  const warm = t.policy("gpu0", { loadedPipeline: "generate" });
  const [edit, t2i] = await t.submit([
    ["bob", "edit"],
    ["alice", "generate"],
  ]);
  // gpu0 chooses its t2i job (moved to the head)…
  expect(await warm.policy.choose()).toBe("block");
  // …but another dispatcher fetches it first.
  const other = (await t.worker.getNextJob("other", { block: false })) as Job;
  expect(other.id).toBe(t2i);
  // gpu0's fetch now brings the edit: it would evict its pipeline for a job it did not choose.
  const token = "mine";
  const job = (await t.worker.getNextJob(token, { block: false })) as Job;
  expect(job.id).toBe(edit);
  expect(warm.policy.accepts(job)).toBe(false);
  await job.moveToWait(token);
  const back = (await t.queue.getJob(edit!))!;
  expect(await back.getState()).toBe("prioritized");
  expect(back.attemptsMade).toBe(0);
  // Deciding afresh: nothing of its kind is queued, no peer has edit loaded: it switches.
  expect(await warm.policy.choose()).toBe("block");
  expect(warm.policy.accepts({ name: "edit" })).toBe(true);
});

it("with a peer that has the other pipeline loaded, each upstream keeps its pipeline to the end", async () => {
  const t = await setup();
  const kinds: JobKind[] = ["edit", "generate", "generate", "edit", "edit", "edit", "generate", "edit"];
  const jobs: Array<[string, JobKind]> = [];
  for (let i = 0; i < 24; i++) jobs.push([["alice", "bob", "carol"][i % 3]!, kinds[i % kinds.length]!]);
  const ids = await t.submit(jobs);
  const gen = t.policy("gpu-t2i", { loadedPipeline: "generate" });
  const edt = t.policy("gpu-edit", { loadedPipeline: "edit" });
  const publish = async () => {
    await t.peer("gpu-t2i", { loaded_pipeline: gen.monitor.loadedPipeline });
    await t.peer("gpu-edit", { loaded_pipeline: edt.monitor.loadedPipeline });
  };
  const taken: Record<string, string[]> = { "gpu-t2i": [], "gpu-edit": [] };
  const deadline = Date.now() + 10_000;
  // The t2i upstream is twice as fast: when the t2i jobs run out, it would have to switch to edits,
  // but the edit upstream is idle between its jobs with edit loaded, so it holds instead.
  while (taken["gpu-t2i"]!.length + taken["gpu-edit"]!.length < ids.length && Date.now() < deadline) {
    await publish();
    for (const [u, name] of [
      [gen, "gpu-t2i"],
      [gen, "gpu-t2i"],
      [edt, "gpu-edit"],
    ] as const) {
      const r = await t.step(u);
      if (r.job) taken[name]!.push(r.job.name);
    }
  }
  expect(taken["gpu-t2i"]!.length + taken["gpu-edit"]!.length).toBe(ids.length);
  expect(new Set(taken["gpu-t2i"])).toEqual(new Set(["generate"]));
  expect(new Set(taken["gpu-edit"])).toEqual(new Set(["edit"]));
});

it("leaves the other kind to a busy warm peer for up to one model load, then switches", async () => {
  const t = await setup();
  await t.submit([
    ["alice", "generate"],
    ["bob", "edit"],
    ["bob", "edit"],
  ]);
  const gen = t.policy("gpu-t2i", { loadedPipeline: "generate" });
  await t.peer("gpu-t2i", { loaded_pipeline: "generate" });
  await t.peer("gpu-edit", { loaded_pipeline: "edit", busy: true });
  // Loads are slow here (recorded average 60 s): evicting would cost more than the peer's job.
  await recordLoadDuration(t.conn, t.prefix, 60_000);
  expect((await t.step(gen)).job?.name).toBe("generate");
  expect(await t.step(gen)).toEqual({ mode: "hold" });
  // Loads are fast (the average falls to ~0): the wait so far already outlasts one; switch.
  for (let i = 0; i < 60; i++) await recordLoadDuration(t.conn, t.prefix, 1);
  const names: string[] = [];
  for (let i = 0; i < 2; i++) names.push((await t.step(gen)).job?.name ?? "none");
  expect(names).toEqual(["edit", "edit"]);
});
