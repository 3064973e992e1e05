import {
  GatewayError,
  getJobSnapshot,
  type JobView,
  markDispatched,
  removePending,
  requestCancel,
  writeTombstone,
} from "@zimage/core";
import { type JobDeps, loadJob, viewOf } from "./job-access";
import type { Principal } from "./principal";

/**
 * Cancels a job. Queued: removed from the queue, leaving a tombstone so it reads as `canceled`.
 * Running: flagged; its view says `canceled` at once, and the dispatcher discards the result when the
 * upstream answers — the GPU's work cannot be interrupted. Finished: 409, except that canceling a
 * canceled job again is a harmless no-op.
 */
export async function cancelJob(
  deps: JobDeps,
  principal: Principal,
  id: string,
  baseUrl: string,
): Promise<{ view: JobView; changed: boolean }> {
  const snapshot = await loadJob(deps, principal, id);
  const queued =
    snapshot.state === "waiting" || snapshot.state === "prioritized" || snapshot.state === "delayed";
  if (queued) {
    const job = await deps.queue.getJob(id);
    const removed = await job?.remove().then(
      () => true,
      () => false, // a dispatcher took it in the meantime: cancel it as a running job below
    );
    if (removed) {
      await writeTombstone(
        deps.redis,
        deps.prefix,
        id,
        { data: snapshot.data, timestamp: snapshot.timestamp, canceledAt: Date.now() },
        deps.retentionSeconds,
      );
      await removePending(deps.redis, deps.prefix, snapshot.data.owner, id);
      await markDispatched(deps.redis, deps.prefix, id);
      if (snapshot.data.input) await deps.store.delete(snapshot.data.input.key).catch(() => {});
      return { view: await viewOf(deps, await loadJob(deps, principal, id), baseUrl), changed: true };
    }
  }
  const current = queued ? await getJobSnapshot(deps.queue, id) : snapshot;
  if (current?.state === "active" && !current.cancelRequestedAt && !snapshot.cancelRequestedAt) {
    await requestCancel(deps.redis, deps.prefix, id, deps.retentionSeconds);
    return { view: await viewOf(deps, await loadJob(deps, principal, id), baseUrl), changed: true };
  }
  const view = await viewOf(deps, await loadJob(deps, principal, id), baseUrl);
  if (view.status === "canceled") return { view, changed: false };
  throw new GatewayError("job_not_cancelable", `the job has already ${view.status}`);
}
