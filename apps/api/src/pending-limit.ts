import { countPending, GatewayError, getDispatchStats } from "@zimage/core";
import type { JobDeps } from "./job-access";
import type { Principal } from "./principal";

/** At the limit the recorded pending set is checked against the queue; returns the true count. */
export async function prunePending(deps: JobDeps, principal: Principal): Promise<number> {
  return countPending(deps.redis, deps.prefix, principal.id, async (ids) => {
    const states = await Promise.all(ids.map((id) => deps.queue.getJobState(id)));
    return states.map((s) => s === "waiting" || s === "prioritized" || s === "delayed" || s === "active");
  });
}

/** The 429 for a key at max_pending, with a Retry-After of about one job's run. */
export async function tooManyPending(
  deps: JobDeps,
  principal: Principal,
  pending: number,
): Promise<GatewayError> {
  const stats = await getDispatchStats(deps.redis, deps.prefix);
  const retryAfter = Math.max(1, Math.ceil((stats.avgJobMs ?? 30_000) / 1000));
  return new GatewayError(
    "too_many_pending_jobs",
    `you have ${pending} jobs queued or running, the most allowed is ${principal.limits.max_pending}`,
    { retry_after_seconds: retryAfter },
  );
}
