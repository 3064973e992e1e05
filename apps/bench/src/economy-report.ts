import type { RequestRecord } from "@zimage/zimage-sim";
import type { EconomyKind, TraceJob } from "./economy-trace";
import { percentile, verdict } from "./stats";

/** What one side observed for one job of the trace. Times are epoch ms. */
export interface JobOutcome {
  index: number;
  user: string;
  kind: EconomyKind;
  submittedAt: number;
  /** When the simulator's GPU lock first took this job's image request (its model load included). */
  gpuStartAt: number | null;
  /** When the result was stored (FIFO: image fetched; gateway: the job view's completed_at). */
  completedAt: number | null;
  ok: boolean;
  error?: string;
}

/** The simulator's books for one side. */
export interface GpuBooks {
  loads: { t2i: number; edit: number };
  evictions: number;
  /** Successful loads × their configured load time. */
  loadingMs: number;
  /** Image requests' time on the GPU lock, minus the loading. */
  generatingMs: number;
}

export interface SideResult {
  name: string;
  outcomes: JobOutcome[];
  gpu: GpuBooks;
}

export interface GroupFigures {
  group: string;
  jobs: number;
  waitP50: number;
  waitP95: number;
  doneP50: number;
  doneP95: number;
}

export interface SideSummary {
  name: string;
  loads: number;
  gpu: GpuBooks;
  makespanMs: number;
  failed: number;
  /** Per user (`user <name>`), per kind (`generate`, `edit`) and `all`. */
  groups: GroupFigures[];
}

const isImageRequest = (r: RequestRecord) => r.path.startsWith("/v1/images/") && !r.path.includes("/tasks/");

/** The first time the GPU lock took an image request with each prompt (retries come later). */
export function gpuStarts(records: RequestRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of records) {
    if (!isImageRequest(r) || r.prompt === null || r.startedAt === null) continue;
    const seen = out.get(r.prompt);
    if (seen === undefined || r.startedAt < seen) out.set(r.prompt, r.startedAt);
  }
  return out;
}

/** GPU time split into loading (loads × load time: the simulator sleeps exactly that) and generating. */
export function gpuBooks(
  records: RequestRecord[],
  loads: { t2i: number; edit: number },
  evictions: number,
  loadMs: { t2i: number; edit: number },
): GpuBooks {
  let busy = 0;
  for (const r of records)
    if (isImageRequest(r) && r.startedAt !== null && r.finishedAt !== null)
      busy += r.finishedAt - r.startedAt;
  const loadingMs = loads.t2i * loadMs.t2i + loads.edit * loadMs.edit;
  return { loads: { ...loads }, evictions, loadingMs, generatingMs: Math.max(0, busy - loadingMs) };
}

function figures(group: string, outcomes: JobOutcome[]): GroupFigures {
  const ok = outcomes.filter((o) => o.ok);
  const waits = ok.filter((o) => o.gpuStartAt !== null).map((o) => o.gpuStartAt! - o.submittedAt);
  const dones = ok.filter((o) => o.completedAt !== null).map((o) => o.completedAt! - o.submittedAt);
  return {
    group,
    jobs: outcomes.length,
    waitP50: percentile(waits, 50),
    waitP95: percentile(waits, 95),
    doneP50: percentile(dones, 50),
    doneP95: percentile(dones, 95),
  };
}

/** Figures of one side; percentiles over its succeeded jobs (NaN for a group with none). */
export function summarize(side: SideResult, trace: TraceJob[]): SideSummary {
  const users = [...new Set(trace.map((j) => j.user))].sort();
  const groups = [
    ...users.map((u) =>
      figures(
        `user ${u}`,
        side.outcomes.filter((o) => o.user === u),
      ),
    ),
    ...(["generate", "edit"] as const)
      .filter((k) => trace.some((j) => j.kind === k))
      .map((k) =>
        figures(
          k,
          side.outcomes.filter((o) => o.kind === k),
        ),
      ),
    figures("all", side.outcomes),
  ];
  const start = Math.min(...side.outcomes.map((o) => o.submittedAt));
  const ends = side.outcomes.map((o) => o.completedAt).filter((t): t is number => t !== null);
  return {
    name: side.name,
    loads: side.gpu.loads.t2i + side.gpu.loads.edit,
    gpu: side.gpu,
    makespanMs: ends.length ? Math.max(...ends) - start : Number.NaN,
    failed: side.outcomes.filter((o) => !o.ok).length,
    groups,
  };
}

export interface GoalCheck {
  loadRatio: number;
  loadsOk: boolean;
  makespanOk: boolean;
  /** Per user: gateway p95 wait / FIFO p95 wait. */
  userWaitRatios: Array<{ user: string; ratio: number; ok: boolean }>;
  waitsOk: boolean;
  ok: boolean;
}

/** Issue #15's goal: ≥ 3× fewer loads, shorter makespan, no user's p95 wait more than 10 % worse, nothing failed. */
export function goalCheck(fifo: SideSummary, gateway: SideSummary): GoalCheck {
  const loadRatio = gateway.loads === 0 ? Number.POSITIVE_INFINITY : fifo.loads / gateway.loads;
  const loadsOk = fifo.loads >= 3 * gateway.loads;
  const makespanOk = gateway.makespanMs < fifo.makespanMs;
  const userWaitRatios = fifo.groups
    .filter((g) => g.group.startsWith("user "))
    .map((f) => {
      const g = gateway.groups.find((x) => x.group === f.group);
      const ratio = g ? g.waitP95 / f.waitP95 : Number.NaN;
      return { user: f.group.slice(5), ratio, ok: ratio <= 1.1 };
    });
  const waitsOk = userWaitRatios.every((r) => r.ok);
  const noFailures = fifo.failed === 0 && gateway.failed === 0;
  return {
    loadRatio,
    loadsOk,
    makespanOk,
    userWaitRatios,
    waitsOk,
    ok: loadsOk && makespanOk && waitsOk && noFailures,
  };
}

const s = (ms: number, digits = 1) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(digits)} s` : "–");

/** The markdown tables for one or both sides (the goal check only with both). */
export function renderEconomy(sides: SideSummary[]): string {
  const head = `| | ${sides.map((x) => x.name).join(" | ")} |\n|---|${sides.map(() => "---|").join("")}`;
  const row = (label: string, f: (x: SideSummary) => string) => `| ${label} | ${sides.map(f).join(" | ")} |`;
  const gpu = [
    head,
    row("model loads (text-to-image + edit)", (x) => `${x.loads} (${x.gpu.loads.t2i} + ${x.gpu.loads.edit})`),
    row("evictions", (x) => String(x.gpu.evictions)),
    row("GPU time loading", (x) => s(x.gpu.loadingMs)),
    row("GPU time generating", (x) => s(x.gpu.generatingMs)),
    row("makespan", (x) => s(x.makespanMs, 2)),
    row("failed jobs", (x) => String(x.failed)),
  ].join("\n");
  const groups = sides[0]!.groups.map((g) => g.group);
  const waitHead = `| group | jobs | ${sides.map((x) => `${x.name} wait p50 / p95`).join(" | ")} | ${sides.map((x) => `${x.name} done p50 / p95`).join(" | ")} |\n|---|---|${sides.map(() => "---|---|").join("")}`;
  const waitRows = groups.map((name) => {
    const per = sides.map((x) => x.groups.find((g) => g.group === name)!);
    return `| ${name} | ${per[0]!.jobs} | ${per.map((g) => `${s(g.waitP50, 2)} / ${s(g.waitP95, 2)}`).join(" | ")} | ${per.map((g) => `${s(g.doneP50, 2)} / ${s(g.doneP95, 2)}`).join(" | ")} |`;
  });
  let out = `${gpu}\n\n${waitHead}\n${waitRows.join("\n")}`;
  if (sides.length === 2) {
    const c = goalCheck(sides[0]!, sides[1]!);
    const worst = c.userWaitRatios.reduce((m, r) => (r.ratio > m.ratio || Number.isNaN(r.ratio) ? r : m));
    out += `\n\n| goal | figure | result |\n|---|---|---|
| ≥ 3× fewer model loads than FIFO | ${sides[0]!.loads} / ${sides[1]!.loads} = ${c.loadRatio.toFixed(1)}× | ${verdict(c.loadsOk)} |
| shorter makespan than FIFO | ${s(sides[1]!.makespanMs, 2)} vs ${s(sides[0]!.makespanMs, 2)} | ${verdict(c.makespanOk)} |
| no user's p95 wait > 110 % of FIFO's | worst: ${worst.user} at ${(worst.ratio * 100).toFixed(0)} % (${c.userWaitRatios.map((r) => `${r.user} ${(r.ratio * 100).toFixed(0)} %`).join(", ")}) | ${verdict(c.waitsOk)} |
| every job succeeded on both sides | ${sides[0]!.failed} + ${sides[1]!.failed} failed | ${verdict(sides[0]!.failed + sides[1]!.failed === 0)} |`;
  }
  return out;
}
