import { type BatchView, batchJobIds, GatewayError, type JobView, markBatchCanceled } from "@zimage/core";
import { batchJobStatuses, loadBatch, readBatchView } from "./batch-reads";
import type { JobDeps } from "./job-access";
import { loadJob } from "./job-access";
import { announceCancel, cancelJob } from "./job-cancellation";
import type { Principal } from "./principal";

/** Jobs canceled at once; each cancel is a few round trips, so a big batch is worked through in turns. */
const CANCEL_CONCURRENCY = 16;

export interface BatchCanceled {
  view: BatchView & { canceled_jobs: number };
  /** The views of the jobs this call canceled (for metrics). */
  canceled: JobView[];
}

/**
 * `POST /v1/batches/:id/cancel`: marks the batch canceled and cancels each of its jobs still queued
 * or running through the single job's cancel path (job-cancellation.ts), so each canceled job is
 * announced (SSE, webhook) exactly as if canceled alone. A job that ends meanwhile keeps its outcome.
 * Canceling a canceled batch again cancels nothing more; a batch whose jobs have all ended is left
 * `completed` (answered with `canceled_jobs: 0`).
 */
export async function cancelBatch(
  deps: JobDeps,
  principal: Principal,
  id: string,
  baseUrl: string,
): Promise<BatchCanceled> {
  await loadBatch(deps, principal, id);
  const ids = await batchJobIds(deps.redis, deps.prefix, id);
  const statuses = await batchJobStatuses(deps, ids);
  const live = ids.filter((_, i) => statuses[i] === "queued" || statuses[i] === "running");
  // A batch whose jobs have all ended stays `completed`: there is nothing left to cancel.
  if (live.length > 0) await markBatchCanceled(deps.redis, deps.prefix, id, Date.now());
  const canceled: JobView[] = [];
  for (let i = 0; i < live.length; i += CANCEL_CONCURRENCY) {
    await Promise.all(
      live.slice(i, i + CANCEL_CONCURRENCY).map(async (jobId) => {
        try {
          const { view, changed } = await cancelJob(deps, principal, jobId, baseUrl);
          if (!changed) return;
          const { data } = await loadJob(deps, principal, jobId);
          await announceCancel(deps, view, data);
          canceled.push(view);
        } catch (err) {
          // Finished between the read and the cancel: it keeps its outcome.
          if (err instanceof GatewayError && err.code === "job_not_cancelable") return;
          throw err;
        }
      }),
    );
  }
  const view = await readBatchView(deps, principal, id, baseUrl, null);
  return { view: { ...view, canceled_jobs: canceled.length }, canceled };
}
