import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { jobCost } from "./job-cost";
import { estimateQueuedEta, estimateRunningEta } from "./job-eta";
import { type JobSnapshot, statusOf } from "./job-view";
import { readEtaRates } from "./store/eta-rates";
import { type QueuePlace, readQueuePlace } from "./store/queue-position";
import { readUpstreamStates } from "./store/upstream-state";

export interface JobPlace {
  queuePosition: number | null;
  etaSeconds: number | null;
  /** Where the job was found when the position was read (see `readQueuePlace`). */
  where: QueuePlace["where"];
}

export interface PlaceDeps {
  redis: Redis;
  prefix: string;
  queue: Queue;
}

const QUEUED = new Set(["wait", "prioritized", "delayed"]);

/**
 * Queue position and ETA of a job that is queued or running: three reads in parallel (the queue
 * place script, the upstream states, the learned rates), each bounded whatever the queue's depth.
 *
 * The snapshot may be older than the place (the job was taken, or handed back, in between): `where`
 * tells the caller, who reads the job again. With `asQueued` (the submit answer, the `job.queued`
 * webhook: views of the moment the job was queued) a job already taken was the next one: position 1,
 * and the ETA of its run.
 */
export async function readJobPlace(
  deps: PlaceDeps,
  snapshot: Pick<JobSnapshot, "id" | "data" | "state" | "failedReason" | "cancelRequestedAt">,
  opts: { asQueued?: boolean; now?: number } = {},
): Promise<JobPlace> {
  const status = statusOf(snapshot.state, snapshot.failedReason, !!snapshot.cancelRequestedAt);
  if (status !== "queued" && status !== "running" && !opts.asQueued)
    return { queuePosition: null, etaSeconds: null, where: "elsewhere" };
  const [place, upstreams, rates] = await Promise.all([
    readQueuePlace(deps.redis, deps.queue, snapshot.id, { withRunning: true }),
    readUpstreamStates(deps.redis, deps.prefix),
    readEtaRates(deps.redis, deps.prefix),
  ]);
  const ctx = { upstreams, rates, now: opts.now ?? Date.now() };
  const cost = jobCost(snapshot.data.params);
  const own = { kind: snapshot.data.kind, cost };
  if (QUEUED.has(place.where))
    return {
      queuePosition: place.position,
      etaSeconds: estimateQueuedEta(own, place, ctx),
      where: place.where,
    };
  const running = place.running.find((r) => r.id === snapshot.id);
  const etaSeconds = running ? estimateRunningEta(running, ctx) : opts.asQueued ? 0 : null;
  return { queuePosition: opts.asQueued ? 1 : null, etaSeconds, where: place.where };
}
