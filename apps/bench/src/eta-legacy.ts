// The ETA of main before issue #19, kept verbatim as the bench's baseline ("before").
import type { DispatchStats, JobKind, UpstreamState } from "@zimage/core";

/**
 * Whether a job's ETA should count one model load ahead of it (`estimateEta`'s `loadAhead`):
 * - every upstream is cold (no model loaded anywhere), or
 * - switch cost (issue #15): some upstream has two pipelines that evict each other (its `/health`
 *   reports one flag per pipeline, as the reference server's does) and no upstream that is up has
 *   the job's pipeline loaded, so whichever upstream takes the job must load it first.
 * One load, not one per switch: a simple estimate for humans. The jobs ahead in the queue may pay
 * switches too; the average job time already holds what switches cost recently.
 */
export function loadAhead(upstreams: UpstreamState[], kind: JobKind): boolean {
  if (upstreams.length === 0) return false;
  if (upstreams.every((u) => u.model_loaded !== true)) return true;
  const twoPipelines = upstreams.some((u) => u.capabilities?.health_shape === "pipelines");
  const loaded = upstreams.some(
    (u) => u.up === true && (u.loaded_pipeline === kind || u.loaded_pipeline === "all"),
  );
  return twoPipelines && !loaded;
}

/**
 * Seconds until a job is likely done: a queued one waits for the jobs ahead of it, spread over all
 * upstreams, plus its own; `allCold` (the api passes `loadAhead`, job-eta.ts: every upstream cold, or
 * a pipeline switch ahead) adds one model load.
 */
export function estimateEta(
  stats: DispatchStats,
  position: number | null,
  runningForMs: number | null,
  allCold = false,
): number | null {
  if (stats.avgJobMs === null) return null;
  const load = allCold ? (stats.avgLoadMs ?? 0) : 0;
  if (runningForMs !== null) return Math.max(0, Math.ceil((stats.avgJobMs + load - runningForMs) / 1000));
  if (position === null) return null;
  return Math.ceil((Math.ceil(position / stats.upstreams) * stats.avgJobMs + load) / 1000);
}
