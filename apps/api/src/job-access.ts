import {
  buildJobView,
  type DeliveryData,
  GatewayError,
  goneOwner,
  isJobId,
  type JobPlace,
  type JobSnapshot,
  type JobView,
  type Logger,
  type ResultUrlSigner,
  readJobPlace,
  readJobSnapshot,
  statusOf,
  type WebhookUrlPolicy,
} from "@zimage/core";
import type { ObjectStore } from "@zimage/storage";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { isAdmin, type Principal } from "./principal";

export interface JobDeps {
  queue: Queue;
  redis: Redis;
  store: ObjectStore;
  prefix: string;
  /** RESULT_TTL: finished jobs, their images and cancel records are kept this long. */
  retentionSeconds: number;
  signer: ResultUrlSigner;
  /** How long a signed image URL in a job view stays valid. */
  resultUrlTtlSeconds: number;
  webhooks: Queue<DeliveryData>;
  webhookPolicy: WebhookUrlPolicy;
  /** WEBHOOK_RETRY_SCHEDULE in seconds. */
  webhookSchedule: number[];
  logger: Pick<Logger, "warn">;
}

export const jobNotFound = (id: string) => new GatewayError("job_not_found", `no job with id "${id}"`);

/**
 * Reads a job the caller may see. Another user's job is answered exactly like a missing one (404,
 * never 403), so ids leak nothing. A queued job that was canceled lives on as a tombstone.
 */
export async function loadJob(deps: JobDeps, principal: Principal, id: string): Promise<JobSnapshot> {
  if (!isJobId(id)) throw jobNotFound(id);
  const snapshot = await readJobSnapshot(deps.queue, deps.redis, deps.prefix, id);
  if (!snapshot) {
    const owner = await goneOwner(deps.redis, deps.prefix, id);
    if (owner !== null && (owner === principal.id || isAdmin(principal))) {
      throw new GatewayError(
        "job_gone",
        "the job and its images were deleted (on request, or RESULT_TTL after it finished)",
      );
    }
    throw jobNotFound(id);
  }
  if (snapshot.data.owner !== principal.id && !isAdmin(principal)) throw jobNotFound(id);
  return snapshot;
}

/** How often a view re-reads a job that moved on between its snapshot and its place. */
const PLACE_READS = 3;

/**
 * The public view, with queue position and ETA for jobs still waiting or running. A queued job always
 * has a position: the snapshot and the place are separate reads, so a job taken (or handed back) in
 * between is read again; `asQueued` (the submit answer) describes the job as it was queued, so a job
 * already taken shows position 1 (see `readJobPlace`).
 */
export async function viewOf(
  deps: JobDeps,
  snapshot: JobSnapshot,
  baseUrl: string,
  opts: { asQueued?: boolean } = {},
): Promise<JobView> {
  let place: Pick<JobPlace, "queuePosition" | "etaSeconds"> = { queuePosition: null, etaSeconds: null };
  for (let read = 1; ; read++) {
    const status = statusOf(snapshot.state, snapshot.failedReason, !!snapshot.cancelRequestedAt);
    if (status !== "queued" && status !== "running") break;
    const found = await readJobPlace(deps, snapshot, opts);
    place = found;
    const queuedNow = found.where === "wait" || found.where === "prioritized" || found.where === "delayed";
    const agrees = opts.asQueued || (status === "queued" ? queuedNow : found.where === "active");
    if (agrees || read >= PLACE_READS) break;
    const again = await readJobSnapshot(deps.queue, deps.redis, deps.prefix, snapshot.id);
    if (!again) break;
    snapshot = again;
  }
  // Still bouncing after PLACE_READS reads (taken and handed back again and again): it is at the front.
  const queued = statusOf(snapshot.state, snapshot.failedReason, !!snapshot.cancelRequestedAt) === "queued";
  const queuePosition = queued ? (place.queuePosition ?? 1) : null;
  const expires = Math.floor(Date.now() / 1000 + deps.resultUrlTtlSeconds);
  const imageUrl = (id: string, i: number) =>
    `${baseUrl}/v1/jobs/${id}/images/${i}?${deps.signer.sign(id, i, expires)}`;
  const view = buildJobView(snapshot, { imageUrl, queuePosition, etaSeconds: place.etaSeconds });
  if (!view) throw jobNotFound(snapshot.id);
  return view;
}
