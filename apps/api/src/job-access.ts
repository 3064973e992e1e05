import {
  buildJobView,
  type DeliveryData,
  estimateEta,
  GatewayError,
  getDispatchStats,
  goneOwner,
  isJobId,
  type JobSnapshot,
  type JobView,
  type Logger,
  loadAhead,
  queuePosition,
  type ResultUrlSigner,
  readJobSnapshot,
  readUpstreamStates,
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

/** The public view, with queue position and ETA for jobs still waiting or running. */
export async function viewOf(deps: JobDeps, snapshot: JobSnapshot, baseUrl: string): Promise<JobView> {
  const queued = snapshot.state === "waiting" || snapshot.state === "prioritized";
  const running = snapshot.state === "active" && !snapshot.cancelRequestedAt;
  let position: number | null = null;
  let etaSeconds: number | null = null;
  if (queued || running) {
    const [pos, stats, upstreams] = await Promise.all([
      queued ? queuePosition(deps.redis, deps.queue, snapshot.id) : null,
      getDispatchStats(deps.redis, deps.prefix),
      readUpstreamStates(deps.redis, deps.prefix),
    ]);
    position = pos;
    const runningFor = running && snapshot.processedOn ? Date.now() - snapshot.processedOn : null;
    etaSeconds = estimateEta(stats, position, runningFor, loadAhead(upstreams, snapshot.data.kind));
  }
  const expires = Math.floor(Date.now() / 1000 + deps.resultUrlTtlSeconds);
  const imageUrl = (id: string, i: number) =>
    `${baseUrl}/v1/jobs/${id}/images/${i}?${deps.signer.sign(id, i, expires)}`;
  const view = buildJobView(snapshot, { imageUrl, queuePosition: position, etaSeconds });
  if (!view) throw jobNotFound(snapshot.id);
  return view;
}
