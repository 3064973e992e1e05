import {
  claimJobEnd,
  forgetDeadline,
  GatewayError,
  getJobSnapshot,
  type JobData,
  type JobView,
  markDispatched,
  notifyWebhook,
  publishJobEvent,
  removePending,
  reported,
  reportInternalError,
  requestCancel,
  writeTombstone,
} from "@zimage/core";
import { type JobDeps, loadJob, viewOf } from "./job-access";
import type { Principal } from "./principal";

/**
 * Announces a cancel that changed the job (webhook, event) — once per job: the end is claimed first,
 * so the dispatcher that later discards a canceled running job's result does not announce it again.
 */
export async function announceCancel(deps: JobDeps, view: JobView, data: JobData): Promise<void> {
  const { logger } = deps;
  const first = await claimJobEnd(deps.redis, deps.prefix, view.id, "canceled", deps.retentionSeconds).catch(
    reported(logger, "job_end_claim", { jobId: view.id }),
  );
  if (first !== false) {
    await notifyWebhook(deps.webhooks, view.id, data, "canceled", deps.webhookSchedule).catch(
      reported(logger, "webhook_enqueue", { jobId: view.id }),
    );
  }
  await publishJobEvent(deps.redis, deps.prefix, { id: view.id, type: "changed", owner: data.owner }).catch(
    reported(logger, "job_event_publish", { jobId: view.id }),
  );
}

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
  // Already canceled while running (and perhaps handed back to the queue since): nothing changes.
  if (snapshot.cancelRequestedAt) return { view: await viewOf(deps, snapshot, baseUrl), changed: false };
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
      await forgetDeadline(deps.redis, deps.prefix, id);
      await markDispatched(deps.redis, deps.prefix, id);
      // The input goes with the job later (sweeper, delete) if this fails; nothing reads it any more.
      if (snapshot.data.input)
        await deps.store
          .delete(snapshot.data.input.key)
          .catch((err: unknown) => reportInternalError(deps.logger, "input_delete", err, { jobId: id }));
      return { view: await viewOf(deps, await loadJob(deps, principal, id), baseUrl), changed: true };
    }
  }
  const current = queued ? await getJobSnapshot(deps.queue, id) : snapshot;
  if (current?.state === "active" && !current.cancelRequestedAt && !snapshot.cancelRequestedAt) {
    // Atomic with the dispatcher's completion (see requestCancel): if the job's outcome was decided
    // first, the cancel is refused rather than answered "canceled" for a job that then succeeds.
    const answer = await requestCancel(deps.redis, deps.prefix, id, deps.retentionSeconds);
    if (!answer.canceled)
      throw new GatewayError("job_not_cancelable", `the job is finishing: it has ${answer.decided}`);
    return { view: await viewOf(deps, await loadJob(deps, principal, id), baseUrl), changed: true };
  }
  const view = await viewOf(deps, await loadJob(deps, principal, id), baseUrl);
  if (view.status === "canceled") return { view, changed: false };
  throw new GatewayError("job_not_cancelable", `the job has already ${view.status}`);
}
