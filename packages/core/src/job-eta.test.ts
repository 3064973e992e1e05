import { describe, expect, it } from "vitest";
import { jobCost } from "./job-cost";
import { type EtaContext, estimateQueuedEta, estimateRunningEta } from "./job-eta";
import type { UpstreamRate } from "./store/eta-rates";
import type { UpstreamCapabilities, UpstreamState } from "./store/upstream-state";

const shape = (health_shape: UpstreamCapabilities["health_shape"]) =>
  ({
    generate: "sync",
    edit: health_shape === "pipelines" ? "async" : "sync",
    health_shape,
  }) as UpstreamCapabilities;

const up = (name: string, patch: Partial<UpstreamState>): UpstreamState =>
  ({
    name,
    up: true,
    owner: "w",
    model_loaded: true,
    capabilities: shape("single"),
    loaded_pipeline: "all",
    current_job: null,
    ...patch,
  }) as UpstreamState;

const NOW = 1_000_000;
/** 100 ms per megapixel-step, no overhead, 60 s loads: a 1024x1024 50-step job takes 5.24 s. */
const rate: UpstreamRate = { inference: { overheadMs: 0, msPerCost: 100 }, loadMs: 60_000 };
const ctx = (
  upstreams: UpstreamState[],
  rates = new Map(upstreams.map((u) => [u.name, rate])),
): EtaContext => ({
  upstreams,
  rates,
  now: NOW,
});
const job = (size: string, steps = 50, n = 1, kind = "generate") => ({
  kind,
  cost: jobCost({ size, num_inference_steps: steps, n }),
});
const idle = { aheadCount: 0, ahead: [], delayedUntil: null, running: [] };

describe("jobCost", () => {
  it("is width × height × steps × n in megapixel-steps, with the gateway's defaults", () => {
    expect(jobCost({ size: "1000x1000", num_inference_steps: 10, n: 2 })).toBe(20);
    expect(jobCost({})).toBeCloseTo(52.4288, 4);
    expect(jobCost({ size: "2048x2048", num_inference_steps: 50, n: 4 })).toBeCloseTo(16 * jobCost({}), 6);
  });
});

describe("estimateQueuedEta", () => {
  it("is null until some upstream's speed is learned", () => {
    expect(estimateQueuedEta(job("1024x1024"), idle, ctx([up("a", {})], new Map()))).toBeNull();
  });

  it("scales with the job's cost", () => {
    const c = ctx([up("a", {})]);
    const small = estimateQueuedEta(job("512x512", 8), idle, c)!;
    const big = estimateQueuedEta(job("2048x2048", 50, 4), idle, c)!;
    expect(small).toBe(Math.ceil((512 * 512 * 8 * 100) / 1e6 / 1000)); // 0.21 s → 1
    expect(big).toBe(Math.ceil((2048 * 2048 * 50 * 4 * 100) / 1e6 / 1000)); // 83.9 s → 84
  });

  it("adds the sum of the jobs ahead, divided over the upstreams able to run them", () => {
    const ahead = Array.from({ length: 4 }, () => job("1024x1024"));
    const place = { ...idle, aheadCount: 4, ahead };
    const one = estimateQueuedEta(job("1024x1024"), place, ctx([up("a", {})]))!;
    const two = estimateQueuedEta(job("1024x1024"), place, ctx([up("a", {}), up("b", {})]))!;
    expect(one).toBe(Math.ceil(5 * 5.24288)); // 4 ahead + its own on one GPU
    expect(two).toBe(Math.ceil(3 * 5.24288)); // 2 rounds ahead on two GPUs, then its own
  });

  it("extrapolates the jobs ahead beyond those examined at their mean cost", () => {
    const examined = Array.from({ length: 10 }, () => job("1024x1024"));
    const all = estimateQueuedEta(
      job("1024x1024"),
      { ...idle, aheadCount: 10, ahead: examined },
      ctx([up("a", {})]),
    )!;
    const some = estimateQueuedEta(
      job("1024x1024"),
      { ...idle, aheadCount: 10, ahead: examined.slice(0, 3) },
      ctx([up("a", {})]),
    )!;
    expect(some).toBe(all);
  });

  it("waits for the running job's remaining time", () => {
    const running = [
      {
        id: "r",
        kind: "generate",
        cost: 100,
        processedOn: NOW - 4_000,
        progress: { phase: "generating", upstream: "a" },
      },
    ];
    // 10 s expected, 4 s done: 6 s left, then 5.24 s.
    expect(estimateQueuedEta(job("1024x1024"), { ...idle, running }, ctx([up("a", {})]))).toBe(12);
  });

  it("uses each upstream's own speed", () => {
    const slow: UpstreamRate = { inference: { overheadMs: 0, msPerCost: 400 }, loadMs: null };
    const rates = new Map([
      ["fast", rate],
      ["slow", slow],
    ]);
    const running = [
      {
        id: "r",
        kind: "generate",
        cost: 52.4288,
        processedOn: NOW,
        progress: { phase: "generating", upstream: "fast" },
      },
    ];
    // The fast GPU is busy for 5.24 s; the slow one is free and takes the job: 4 × 5.24 s.
    const c = ctx([up("fast", {}), up("slow", {})], rates);
    expect(estimateQueuedEta(job("1024x1024"), { ...idle, running }, c)).toBe(Math.ceil(4 * 5.24288));
  });

  const LOAD = 60;
  const cases: Array<[string, UpstreamState[], "generate" | "edit", boolean]> = [
    ["no upstream known", [], "edit", false],
    ["every upstream cold", [up("a", { model_loaded: false, loaded_pipeline: "none" })], "generate", true],
    ["a single-model server with its model loaded", [up("a", {})], "edit", false],
    [
      "a two-pipeline server with the job's pipeline loaded",
      [up("a", { capabilities: shape("pipelines"), loaded_pipeline: "edit" })],
      "edit",
      false,
    ],
    [
      "a two-pipeline server with the other pipeline loaded: a switch",
      [up("a", { capabilities: shape("pipelines"), loaded_pipeline: "generate" })],
      "edit",
      true,
    ],
    [
      "two upstreams, one of them has the job's pipeline loaded",
      [
        up("a", { capabilities: shape("pipelines"), loaded_pipeline: "generate" }),
        up("b", { capabilities: shape("pipelines"), loaded_pipeline: "edit" }),
      ],
      "edit",
      false,
    ],
    [
      "the only upstream with the job's pipeline loaded is down",
      [
        up("a", { capabilities: shape("pipelines"), loaded_pipeline: "generate" }),
        up("b", { up: false, capabilities: shape("pipelines"), loaded_pipeline: "edit" }),
      ],
      "edit",
      true,
    ],
    ["loaded pipeline unknown on a single-model server", [up("a", { loaded_pipeline: null })], "edit", false],
  ];
  it.each(cases)("model load: %s → %s", (_what, upstreams, kind, cold) => {
    const rates = new Map([["a", rate]]);
    const eta = estimateQueuedEta(job("1024x1024", 50, 1, kind), idle, ctx(upstreams, rates))!;
    expect(eta).toBe(Math.ceil(5.24288 + (cold ? LOAD : 0)));
  });

  it("counts a load once: a job ahead of the same kind loads the pipeline first", () => {
    const cold = [up("a", { model_loaded: false, loaded_pipeline: "none" })];
    const place = { ...idle, aheadCount: 1, ahead: [job("1024x1024")] };
    expect(estimateQueuedEta(job("1024x1024"), place, ctx(cold))).toBe(Math.ceil(LOAD + 2 * 5.24288));
  });

  it("waits out a retry's backoff", () => {
    const place = { ...idle, delayedUntil: NOW + 30_000 };
    expect(estimateQueuedEta(job("1024x1024"), place, ctx([up("a", {})]))).toBe(Math.ceil(30 + 5.24288));
  });
});

describe("estimateRunningEta", () => {
  it("is the expected duration minus the time run, never negative", () => {
    const c = ctx([up("a", {})]);
    const running = (since: number, phase = "generating") => ({
      id: "j",
      kind: "generate",
      cost: 100,
      processedOn: NOW - since,
      progress: { phase, upstream: "a", generating_since: NOW - since },
    });
    expect(estimateRunningEta(running(3_000), c)).toBe(7);
    expect(estimateRunningEta(running(60_000), c)).toBe(0);
    // Still loading: the rest of the load, then the whole inference.
    expect(
      estimateRunningEta({ ...running(20_000, "loading"), progress: { phase: "loading", upstream: "a" } }, c),
    ).toBe(40 + 10);
  });
});

describe("a job just taken (no phase yet)", () => {
  it("counts the load its upstream must do first", () => {
    const cold = ctx([up("a", { model_loaded: false, loaded_pipeline: "none" })]);
    const taken = { id: "j", kind: "generate", cost: 100, processedOn: NOW, progress: null };
    expect(estimateRunningEta(taken, cold)).toBe(60 + 10);
    expect(estimateRunningEta(taken, ctx([up("a", {})]))).toBe(10);
  });
});
