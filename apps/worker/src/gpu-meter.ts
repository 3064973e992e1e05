import type { DispatchTimings } from "./process-job";

/**
 * The GPU time of one dispatch of a job, as its dispatcher measured it: from each request sent to
 * the upstream until its answer (or failure), split into model load and inference by the model-load
 * watch. A dispatch that retries a failed model load sends more than one request; all of them count.
 * Requests refused before sending (the lease check) count nothing.
 */
export class GpuMeter {
  loadMs = 0;
  inferenceMs = 0;

  /** One request's time: `loadMs` of its `elapsedMs` went to loading the model. */
  add(loadMs: number, elapsedMs: number): void {
    const load = Math.min(Math.max(0, loadMs), Math.max(0, elapsedMs));
    this.loadMs += load;
    this.inferenceMs += Math.max(0, elapsedMs) - load;
  }

  get totalMs(): number {
    return this.loadMs + this.inferenceMs;
  }
}

/**
 * The most GPU time one dispatch can be measured at: every model-load attempt waits at most the
 * cold timeout (a warm request at most the warm one), plus a second each for timer slack. The quota
 * check at dispatch (`admitDispatch`) reserves this much for a running job.
 */
export function gpuBoundMs(t: DispatchTimings): number {
  return (t.modelLoadRetries + 1) * (Math.max(t.coldImageTimeoutMs, t.imageTimeoutMs) + 1_000);
}

/**
 * The longest one dispatch can last on the wall clock, from its admission to its record: the
 * pre-flight wait for an idle GPU (at most the image timeout), every request (gpuBoundMs), the sleeps
 * between model-load retries, and a minute for the rest (health reads, Redis). A budget's reservation
 * lives this long, so it cannot expire under a job still running and let another job of the key in.
 */
export function dispatchLifetimeMs(t: DispatchTimings): number {
  return t.imageTimeoutMs + gpuBoundMs(t) + t.modelLoadRetries * t.modelLoadRetryMs + 60_000;
}
