import type { JobKind } from "./job-request";
import type { UpstreamState } from "./store/upstream-state";

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
