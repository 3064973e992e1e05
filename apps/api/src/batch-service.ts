import { createHash } from "node:crypto";
import {
  addJobs,
  type BatchJobRequest,
  type BatchJobSlot,
  type BatchReservation,
  type BatchView,
  batchJobIds,
  batchRequestSchema,
  batchTtlSeconds,
  checkQuota,
  checkWebhookUrl,
  confirmIdempotencyKey,
  describeIssues,
  GatewayError,
  type JobData,
  type Logger,
  newJobId,
  notifyWebhook,
  publishJobEvent,
  readUpstreamStates,
  releaseBatch,
  releaseIdempotencyKey,
  reported,
  reportInternalError,
  reserveBatch,
} from "@zimage/core";
import { readBatchView } from "./batch-reads";
import { checkIdempotencyKey, claimOrReplay } from "./idempotency-claim";
import type { JobDeps } from "./job-access";
import { leftOut, type SubmitOptions, schedulingOf } from "./job-service";
import { fairShareRebases, fairShareSaturated } from "./metrics";
import { prunePending, tooManyPending } from "./pending-limit";
import type { Principal } from "./principal";
import type { SubmitLimiter } from "./submit-limiter";
import { checkAdmission } from "./upstream-admission";

export interface BatchCreated {
  view: BatchView & { job_ids: string[] };
  /** False when an Idempotency-Key replay returned the batch created earlier. */
  created: boolean;
}

/** Announcements (SSE event, `queued` webhook) sent at once; the rest wait their turn. */
const ANNOUNCE_CONCURRENCY = 64;

export const newBatchId = (): string => `batch_${newJobId()}`;

/**
 * `POST /v1/batches` (issue #19): many text-to-image jobs in one request, queued all or none. Each job
 * is validated as `POST /v1/jobs` validates one; the whole batch's bookkeeping is one script
 * (`reserveBatch`) and its jobs go to BullMQ in one `addBulk`.
 */
export class BatchService {
  constructor(
    private readonly deps: JobDeps & { logger: Pick<Logger, "warn"> },
    private readonly limiter: SubmitLimiter,
    private readonly maxJobs: number,
  ) {}

  async create(body: unknown, opts: SubmitOptions): Promise<BatchCreated> {
    const { principal } = opts;
    const { redis, prefix, logger } = this.deps;
    const jobs = await this.jobsOf(body, principal);
    let batchId = newBatchId();
    const idemKey = opts.idempotencyKey;
    let fingerprint = "";
    if (idemKey !== undefined) {
      checkIdempotencyKey(idemKey);
      fingerprint = createHash("sha256")
        .update(JSON.stringify(["batch", jobs.map((j) => [j.params, j.priority, j.webhook ?? null])]))
        .digest("hex");
      const claim = await claimOrReplay(this.deps, principal.id, idemKey, batchId, fingerprint, (id) =>
        readBatchView(this.deps, principal, id, opts.baseUrl, null).catch((err: unknown) => {
          if (err instanceof GatewayError && err.code === "batch_not_found") return null;
          throw err;
        }),
      );
      if (claim.replay)
        return { view: { ...claim.replay, job_ids: await this.jobIdsOf(claim.replay.id) }, created: false };
      batchId = claim.id;
    }
    for (const job of jobs) job.batch_id = batchId;
    const ids = jobs.map(() => newJobId());
    const at = Date.now();
    let reservation: BatchReservation | null = null;
    let sent = false;
    try {
      // A key whose GPU budget is spent is refused before anything is reserved, as a single submit is
      // (the dispatch-time admission bounds the overshoot of the batch's jobs to one job).
      await checkQuota(redis, prefix, principal, jobs.length);
      reservation = await this.reserve(
        principal,
        batchId,
        jobs.map((data, i) => ({ id: ids[i]!, cls: data.priority ?? "batch", deadlineAt: data.deadline_at })),
        at,
      );
      sent = true;
      await addJobs(
        this.deps.queue,
        jobs.map((data, i) => ({ id: ids[i]!, data, priority: reservation!.priorities[i]! })),
        at,
      );
    } catch (err) {
      await this.undo(err, { sent, reservation, owner: principal.id, idemKey });
      throw err;
    }
    if (idemKey !== undefined) {
      await confirmIdempotencyKey(redis, prefix, principal.id, idemKey, batchId, fingerprint).catch(
        reported(logger, "idempotency_confirm", { batchId }),
      );
    }
    await this.announce(ids, jobs);
    const total = jobs.length;
    return {
      view: {
        id: batchId,
        object: "batch",
        status: "queued",
        created_at: new Date(at).toISOString(),
        canceled_at: null,
        counts: { total, queued: total, running: 0, succeeded: 0, failed: 0, canceled: 0 },
        job_ids: ids,
      },
      created: true,
    };
  }

  /** Validates the body and turns it into the jobs' data (the batch id is set once it is known). */
  private async jobsOf(body: unknown, principal: Principal): Promise<JobData[]> {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new GatewayError("invalid_request", "the request body must be a JSON object");
    }
    const parsed = batchRequestSchema(body, this.maxJobs).safeParse(body);
    if (!parsed.success) {
      throw new GatewayError("invalid_request", "the request body is invalid", describeIssues(parsed.error));
    }
    const raw = body as Record<string, unknown>;
    const requests: Array<{ request: BatchJobRequest; given: Record<string, unknown> }> =
      "jobs" in parsed.data
        ? parsed.data.jobs.map((request, i) => ({
            request: {
              ...request,
              webhook: request.webhook ?? (parsed.data as { webhook?: BatchJobRequest["webhook"] }).webhook,
            },
            given: (raw.jobs as Array<Record<string, unknown>>)[i]!,
          }))
        : (() => {
            const { prompts, ...shared } = parsed.data;
            return prompts.map((prompt) => ({ request: { ...shared, prompt }, given: raw }));
          })();
    const webhooks = new Map<string, Promise<string>>();
    const upstreams = await readUpstreamStates(this.deps.redis, this.deps.prefix);
    return Promise.all(
      requests.map(async ({ request, given }, i) => {
        const { webhook, priority, cancel_after, ...params } = request;
        const where = "jobs" in parsed.data ? `jobs.${i}` : `prompts.${i}`;
        const data: JobData = {
          kind: "generate",
          owner: principal.id,
          params,
          defaulted: leftOut(given),
          ...atIndex(where, i, () => schedulingOf(principal, priority, cancel_after, Date.now(), "batch")),
        };
        if (webhook) {
          // The SSRF guard once per distinct URL (a batch usually shares one).
          if (!webhooks.has(webhook.url))
            webhooks.set(webhook.url, checkWebhookUrl(webhook.url, this.deps.webhookPolicy).then(String));
          data.webhook = { url: await webhooks.get(webhook.url)!, events: webhook.events };
        }
        atIndex(where, i, () => checkAdmission(upstreams, data));
        return data;
      }),
    );
  }

  /**
   * One rate point for the batch (it is one request) beside its reservation; at max_pending the
   * recorded pending set is pruned and the reservation tried once more, as for a single job.
   */
  private async reserve(
    principal: Principal,
    batchId: string,
    jobs: BatchJobSlot[],
    at: number,
  ): Promise<BatchReservation> {
    const { redis, prefix } = this.deps;
    const batch = {
      batchId,
      owner: principal.id,
      jobs,
      maxPending: principal.limits.max_pending,
      weight: principal.limits.priority_weight,
      at,
      ttlSeconds: batchTtlSeconds(this.deps.retentionSeconds),
    };
    const [rate, first] = await Promise.allSettled([
      this.limiter.consume(principal.id, principal.limits.rate_per_minute),
      reserveBatch(redis, prefix, batch),
    ]);
    let result = first.status === "fulfilled" ? first.value : null;
    if (rate.status === "rejected" || first.status === "rejected") {
      if (result?.reserved)
        await releaseBatch(redis, prefix, result).catch(
          reported(this.deps.logger, "submit_undo", { batchId }),
        );
      throw rate.status === "rejected" ? rate.reason : (first as PromiseRejectedResult).reason;
    }
    if (!result!.reserved && (await prunePending(this.deps, principal)) < principal.limits.max_pending) {
      result = await reserveBatch(redis, prefix, batch);
    }
    if (!result!.reserved) throw await tooManyPending(this.deps, principal, result!.pending);
    if (result!.rebased) fairShareRebases.inc();
    if (result!.saturated > 0) fairShareSaturated.inc(result!.saturated);
    return result!;
  }

  /**
   * The batch failed to queue. addBulk is one pipeline, not a transaction: after a failure some jobs
   * may be in. Any that are get removed, so none stays; only when the queue cannot be read (Redis is
   * down) everything is left for readers to drop once stale, as a single submit does.
   */
  private async undo(
    err: unknown,
    s: { sent: boolean; reservation: BatchReservation | null; owner: string; idemKey: string | undefined },
  ): Promise<void> {
    const { redis, prefix, logger, queue } = this.deps;
    try {
      if (s.sent && s.reservation && !(err instanceof GatewayError)) {
        const jobs = await Promise.all(s.reservation.ids.map((id) => queue.getJob(id)));
        // A job a dispatcher already took cannot be removed (it is locked): then the batch is partly
        // queued, and everything stays, as for a single submit whose fate is unknown.
        const removed = await Promise.allSettled(jobs.map((job) => job?.remove()));
        const stuck = removed.filter((r) => r.status === "rejected");
        if (stuck.length > 0) {
          reportInternalError(logger, "submit_undo", (stuck[0] as PromiseRejectedResult).reason, {
            batchId: s.reservation.batchId,
            jobsLeft: stuck.length,
          });
          return;
        }
      }
      await Promise.all([
        s.idemKey !== undefined ? releaseIdempotencyKey(redis, prefix, s.owner, s.idemKey) : null,
        s.reservation ? releaseBatch(redis, prefix, s.reservation) : null,
      ]);
    } catch (undoErr) {
      reportInternalError(logger, "submit_undo", undoErr, { batchId: s.reservation?.batchId });
    }
  }

  /** Each job's event and `queued` webhook, as a single submit sends them (failures are logged). */
  private async announce(ids: string[], jobs: JobData[]): Promise<void> {
    const { redis, prefix, logger } = this.deps;
    for (let i = 0; i < ids.length; i += ANNOUNCE_CONCURRENCY) {
      await Promise.all(
        ids.slice(i, i + ANNOUNCE_CONCURRENCY).flatMap((id, k) => {
          const data = jobs[i + k]!;
          return [
            publishJobEvent(redis, prefix, { id, type: "changed", owner: data.owner }).catch(
              reported(logger, "job_event_publish", { jobId: id }),
            ),
            data.webhook
              ? notifyWebhook(this.deps.webhooks, id, data, "queued", this.deps.webhookSchedule).catch(
                  reported(logger, "webhook_enqueue", { jobId: id }),
                )
              : null,
          ];
        }),
      );
    }
  }

  private async jobIdsOf(batchId: string): Promise<string[]> {
    return batchJobIds(this.deps.redis, this.deps.prefix, batchId);
  }
}

/** Runs one job's check, naming the job (`jobs.17: …`, `details.index`) in the refusal it throws. */
function atIndex<T>(where: string, index: number, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    throw new GatewayError(err.code, `${where}: ${err.message}`, {
      index,
      path: where,
      ...(err.details as object),
    });
  }
}
