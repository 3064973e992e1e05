import type { RunningSimulator, SimulatorOptions } from "@zimage/zimage-sim";
import { gpuBooks, gpuStarts, type JobOutcome, type SideResult } from "./economy-report";

/** How one submit ended, as its side saw it; `replay` adds the job's identity and times. */
export type SubmitEnd = Pick<JobOutcome, "completedAt" | "ok" | "error">;

import type { TraceJob } from "./economy-trace";
import { sleep } from "./gateway";

/** The reference-profile GPU both sides run on: realistic relative costs, a load ≫ an inference. */
export interface GpuProfile {
  t2iLoadMs: number;
  editLoadMs: number;
  baseMs: number;
  msPerStepMegapixel: number;
}

export const simOptions = (gpu: GpuProfile): SimulatorOptions => ({ profile: "reference", ...gpu });

/** `promise`'s value, or undefined when it has not settled within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Replays `trace` in real time: each job's `submit` starts at its arrival time (measured from now), and
 * is handed the moment it was called; resolves with every submit's outcome.
 */
export async function replay(
  trace: TraceJob[],
  submit: (job: TraceJob, submittedAt: number) => Promise<SubmitEnd>,
): Promise<JobOutcome[]> {
  const t0 = Date.now();
  return Promise.all(
    trace.map(async (job) => {
      await sleep(Math.max(0, t0 + job.atMs - Date.now()));
      const submittedAt = Date.now();
      const end = await submit(job, submittedAt).catch(
        (err: Error): SubmitEnd => ({ completedAt: null, ok: false, error: err.message }),
      );
      // The GPU start is read from the simulator's books afterwards (sideResult).
      return { index: job.index, user: job.user, kind: job.kind, submittedAt, gpuStartAt: null, ...end };
    }),
  );
}

/** Joins what a side observed with its simulator's books: GPU start per job, loads, GPU time. */
export function sideResult(
  name: string,
  trace: TraceJob[],
  outcomes: JobOutcome[],
  sim: RunningSimulator,
  gpu: GpuProfile,
): SideResult {
  const stats = sim.stats();
  const starts = gpuStarts(stats.requests);
  return {
    name,
    outcomes: outcomes.map((o) => ({ ...o, gpuStartAt: starts.get(trace[o.index]!.prompt) ?? null })),
    gpu: gpuBooks(stats.requests, stats.pipelineLoads ?? { t2i: 0, edit: 0 }, stats.evictions ?? 0, {
      t2i: gpu.t2iLoadMs,
      edit: gpu.editLoadMs,
    }),
  };
}
