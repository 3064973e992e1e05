import type { RequestRecord } from "@zimage/zimage-sim";
import { describe, expect, it } from "vitest";
import {
  goalCheck,
  gpuBooks,
  gpuStarts,
  type JobOutcome,
  type SideSummary,
  summarize,
} from "./economy-report";
import { makeTrace, prng, type TraceOptions } from "./economy-trace";
import { ECONOMY_DEFAULTS, parseEconomyArgs, placeSection } from "./gpu-economy";

const options: TraceOptions = {
  jobs: 60,
  editShare: 0.3,
  users: ["alice", "bob", "carol"],
  bursts: 4,
  burstGapMs: 10_000,
  burstSpreadMs: 2_000,
  seed: 15,
};

const rec = (path: string, prompt: string | null, startedAt: number, finishedAt: number): RequestRecord => ({
  id: 0,
  path,
  arrivedAt: startedAt,
  startedAt,
  finishedAt,
  status: 200,
  prompt,
  size: null,
});

describe("GPU economy trace", () => {
  it("is the same for the same seed and differs for another", () => {
    expect(makeTrace(options)).toEqual(makeTrace(options));
    expect(makeTrace({ ...options, seed: 16 })).not.toEqual(makeTrace(options));
    const r = prng(1);
    const draws = Array.from({ length: 1000 }, r);
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(draws).size).toBeGreaterThan(990);
  });

  it("has exactly the asked share of edits, every user, unique prompts, arrivals in order inside their bursts", () => {
    const trace = makeTrace(options);
    expect(trace).toHaveLength(60);
    expect(trace.filter((j) => j.kind === "edit")).toHaveLength(18);
    expect(new Set(trace.map((j) => j.user))).toEqual(new Set(options.users));
    expect(new Set(trace.map((j) => j.prompt)).size).toBe(60);
    expect(trace.map((j) => j.index)).toEqual(trace.map((_, i) => i));
    for (let i = 1; i < trace.length; i++) expect(trace[i]!.atMs).toBeGreaterThanOrEqual(trace[i - 1]!.atMs);
    const perBurst = [0, 1, 2, 3].map(
      (b) => trace.filter((j) => j.atMs >= b * 10_000 && j.atMs <= b * 10_000 + 2_000).length,
    );
    expect(perBurst).toEqual([15, 15, 15, 15]);
    // Edits run at the server's fixed 50 steps; text-to-image carries its own.
    expect(trace.every((j) => (j.kind === "edit") === (j.steps === null))).toBe(true);
    expect(makeTrace({ ...options, editShare: 0 }).every((j) => j.kind === "generate")).toBe(true);
  });
});

describe("GPU economy figures", () => {
  it("finds each prompt's first GPU start among image requests, and splits GPU time into loading and generating", () => {
    const records = [
      rec("/v1/images/generations", "a", 100, 1700),
      rec("/v1/images/async_edit", "b", 1700, 3500),
      rec("/v1/images/generations", "a", 3500, 3700), // a retry: the first start counts
      rec("/v1/internal/unload", null, 3700, 3700),
    ];
    expect(gpuStarts(records)).toEqual(
      new Map([
        ["a", 100],
        ["b", 1700],
      ]),
    );
    expect(gpuBooks(records, { t2i: 1, edit: 1 }, 1, { t2i: 1500, edit: 1600 })).toEqual({
      loads: { t2i: 1, edit: 1 },
      evictions: 1,
      loadingMs: 3100,
      generatingMs: 500,
    });
  });

  it("summarizes per user and kind over succeeded jobs, with the makespan from first submit to last completion", () => {
    const trace = makeTrace({ ...options, jobs: 4, editShare: 0.5, users: ["u", "v"], bursts: 1 });
    const outcomes: JobOutcome[] = trace.map((j, i) => ({
      index: j.index,
      user: i < 2 ? "u" : "v",
      kind: j.kind,
      submittedAt: 1000 + i,
      gpuStartAt: 2000 + i * 100,
      completedAt: 2500 + i * 100,
      ok: i !== 3,
    }));
    const gpu = { loads: { t2i: 1, edit: 1 }, evictions: 1, loadingMs: 3000, generatingMs: 400 };
    const s = summarize(
      { name: "x", outcomes, gpu },
      trace.map((j, i) => ({ ...j, user: i < 2 ? "u" : "v" })),
    );
    expect(s.loads).toBe(2);
    expect(s.failed).toBe(1);
    expect(s.makespanMs).toBe(2800 - 1000);
    expect(s.groups.map((g) => g.group)).toEqual(["user u", "user v", "generate", "edit", "all"]);
    const v = s.groups.find((g) => g.group === "user v")!;
    expect(v).toMatchObject({ jobs: 2, waitP50: 2200 - 1002, waitP95: 2200 - 1002 });
    expect(s.groups.at(-1)).toMatchObject({ jobs: 4, waitP50: 2100 - 1001, waitP95: 2200 - 1002 });
  });

  it("checks the goal: 3× fewer loads, a shorter makespan, no user's p95 wait over 110 % of FIFO's", () => {
    const side = (loads: number, makespanMs: number, waits: number[]): SideSummary => ({
      name: "",
      loads,
      gpu: { loads: { t2i: loads, edit: 0 }, evictions: 0, loadingMs: 0, generatingMs: 0 },
      makespanMs,
      failed: 0,
      groups: waits.map((w, i) => ({
        group: `user ${i}`,
        jobs: 1,
        waitP50: w,
        waitP95: w,
        doneP50: w,
        doneP95: w,
      })),
    });
    const met = goalCheck(side(30, 60_000, [1000, 1000]), side(10, 50_000, [1100, 500]));
    expect(met).toMatchObject({ loadRatio: 3, loadsOk: true, makespanOk: true, waitsOk: true, ok: true });
    const missed = goalCheck(side(30, 60_000, [1000, 1000]), side(11, 60_000, [1101, 500]));
    expect(missed).toMatchObject({ loadsOk: false, makespanOk: false, waitsOk: false, ok: false });
    expect(missed.userWaitRatios[0]).toMatchObject({ user: "0", ok: false });
  });

  it("reads its flags, falls back to GPU_ECONOMY_* variables, and refuses a value that is not a number", () => {
    expect(parseEconomyArgs([], {}).options).toEqual(ECONOMY_DEFAULTS);
    const { options: o, out } = parseEconomyArgs(
      ["--jobs", "12", "--load-ms", "800", "--edit-load-ms", "900", "--sides", "fifo", "--out", "x.md"],
      { GPU_ECONOMY_JOBS: "99", GPU_ECONOMY_EDIT_SHARE: "0", GPU_ECONOMY_USERS: "a,b" },
    );
    expect(o.trace).toMatchObject({ jobs: 12, editShare: 0, users: ["a", "b"] });
    expect(o.gpu).toMatchObject({ t2iLoadMs: 800, editLoadMs: 900 });
    expect([o.sides, out]).toEqual(["fifo", "x.md"]);
    expect(() => parseEconomyArgs(["--jobs", "many"], {})).toThrow(/--jobs must be a number/);
    expect(() => parseEconomyArgs(["--sides", "all"], {})).toThrow(/--sides/);
  });

  it("puts its section in a report: replacing an earlier one, else before the findings, else at the end", () => {
    const section = "## 7. GPU economy\n\nnew\n";
    expect(placeSection("# B\n\n## 6. X\n\nx\n", section)).toBe(
      "# B\n\n## 6. X\n\nx\n\n## 7. GPU economy\n\nnew\n",
    );
    expect(placeSection("# B\n\n## 6. X\n\n## Findings\n\nf\n", section)).toBe(
      "# B\n\n## 6. X\n\n## 7. GPU economy\n\nnew\n\n## Findings\n\nf\n",
    );
    expect(placeSection("# B\n\n## 7. GPU economy\n\nold\n\n## Findings\n\nf\n", section)).toBe(
      "# B\n\n## 7. GPU economy\n\nnew\n\n## Findings\n\nf\n",
    );
    expect(placeSection("# B\n\n## 7. GPU economy\n\nold\n", section)).toBe(
      "# B\n\n## 7. GPU economy\n\nnew\n",
    );
  });
});
