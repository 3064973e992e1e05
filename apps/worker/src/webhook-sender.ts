import { createHash } from "node:crypto";
import {
  buildJobView,
  type DeliveryData,
  forgetDeadLetters,
  getJobSnapshot,
  type HostResolver,
  type JobView,
  type Logger,
  QUEUES,
  type ResultUrlSigner,
  readCancel,
  readJobPlace,
  recordDeadLetter,
  recordDeliveryAttempt,
  reported,
  type WebhookUrlPolicy,
  webhookSigningSecrets,
  withImageUrls,
} from "@zimage/core";
import { type Job, type MinimalJob, type Queue, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { Webhook } from "standardwebhooks";
import type { Agent } from "undici";
import type { WorkerMetrics } from "./metrics";
import { attemptWebhook, webhookAgent } from "./webhook-attempt";

export interface WebhookSenderOptions {
  connection: Redis;
  prefix: string;
  /** LOCK_DURATION_SECONDS and STALLED_INTERVAL_SECONDS, in ms. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  jobs: Queue;
  signer: ResultUrlSigner;
  /** Base of image URLs in payloads: PUBLIC_URL, or the api's own address. */
  publicUrl: string;
  resultUrlTtlSeconds: number;
  policy: WebhookUrlPolicy;
  /** The name resolver the SSRF guard and the connection use (the system's unless a test injects one). */
  resolve?: HostResolver;
  /** Delay before each retry, in seconds; its length bounds the attempts. */
  scheduleSeconds: number[];
  timeoutMs: number;
  retentionSeconds: number;
  metrics: WorkerMetrics;
  logger: Logger;
}

/**
 * Delay before retry number `attempt` (1-based): the schedule's entry with ±20 % jitter, so receivers
 * that failed together are not retried in lockstep. The jitter is derived from the delivery id and the
 * attempt, so the time recorded as `next_retry_at` is the one BullMQ then uses.
 */
export function retryDelayMs(scheduleSeconds: number[], attempt: number, webhookId: string): number {
  const base = (scheduleSeconds[Math.min(attempt, scheduleSeconds.length) - 1] ?? 60) * 1000;
  const h = createHash("sha256").update(`${webhookId}:${attempt}`).digest().readUInt32BE(0) / 0xffffffff;
  return Math.round(base * (0.8 + 0.4 * h));
}

/**
 * Delivers webhooks from the `webhooks` queue: Standard Webhooks signatures with the owner's secret,
 * the public job view as `data`, retries on network errors, timeouts, 5xx, 408 and 429 along
 * WEBHOOK_RETRY_SCHEDULE (about 27.7 h by default); any other 4xx ends the delivery. Each attempt is
 * `attemptWebhook`: the SSRF guard again, and a connection only to an address the guard allows.
 */
export class WebhookSender {
  private readonly worker: Worker<DeliveryData>;
  private readonly agent: Agent;

  constructor(private readonly opts: WebhookSenderOptions) {
    this.agent = webhookAgent(opts.policy, opts.resolve);
    this.worker = new Worker<DeliveryData>(QUEUES.webhooks, (job) => this.deliver(job), {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: 8,
      // The same bounds as the dispatchers': a delivery whose worker died is retried within
      // LOCK_DURATION + STALLED_INTERVAL, not BullMQ's default minute.
      lockDuration: opts.lockDurationMs,
      stalledInterval: opts.stalledIntervalMs,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, _err?: Error, job?: MinimalJob) =>
          retryDelayMs(opts.scheduleSeconds, attemptsMade, job?.id ?? ""),
      },
    });
    this.worker.on("error", (err) => opts.logger.warn({ err: err.message }, "webhook queue error"));
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.agent.close();
  }

  /**
   * The Standard Webhooks body: the view kept when the event happened, with image URLs signed now so
   * each attempt's links last RESULT_URL_TTL_SECONDS. A delivery queued by a version that kept no view
   * gets the view as it is now, or `{id, status}` once the job is gone (what those versions sent).
   */
  private async payload(d: DeliveryData): Promise<string> {
    const expires = Math.floor(Date.now() / 1000 + this.opts.resultUrlTtlSeconds);
    const imageUrl = (id: string, i: number) =>
      `${this.opts.publicUrl}/v1/jobs/${id}/images/${i}?${this.opts.signer.sign(id, i, expires)}`;
    const view = d.view ? withImageUrls(d.view, imageUrl) : await this.viewNow(d.jobId, imageUrl);
    return JSON.stringify({
      type: `job.${d.event}`,
      timestamp: new Date().toISOString(),
      data: view ?? { id: d.jobId, status: d.event },
    });
  }

  private async viewNow(id: string, imageUrl: (id: string, i: number) => string): Promise<JobView | null> {
    const snapshot = await getJobSnapshot(this.opts.jobs, id);
    if (snapshot?.state === "active") {
      const cancel = await readCancel(this.opts.connection, this.opts.prefix, id);
      snapshot.cancelRequestedAt = cancel?.at ?? null;
      snapshot.cancelCode = cancel?.code ?? null;
    }
    if (!snapshot) return null;
    const { queuePosition, etaSeconds } = await readJobPlace(
      { redis: this.opts.connection, prefix: this.opts.prefix, queue: this.opts.jobs },
      snapshot,
    );
    // A queued job always has a position; one taken since its state was read was the next one.
    const position =
      snapshot.state === "waiting" || snapshot.state === "prioritized" || snapshot.state === "delayed"
        ? (queuePosition ?? 1)
        : null;
    return buildJobView(snapshot, { imageUrl, queuePosition: position, etaSeconds });
  }

  private async deliver(job: Job<DeliveryData>): Promise<void> {
    const d = job.data;
    const attempt = job.attemptsMade + 1;
    const webhookId = job.id!;
    const started = performance.now();
    // attemptWebhook does not throw: every failure comes back as an outcome to record.
    const outcome = await attemptWebhook(d.url, () => this.signed(d, webhookId), {
      policy: this.opts.policy,
      dispatcher: this.agent,
      resolve: this.opts.resolve,
      timeoutMs: this.opts.timeoutMs,
    });
    const { statusCode, error, final } = outcome;
    const durationMs = Math.round(performance.now() - started);
    const succeeded = error === null;
    const retrying = !succeeded && !final && attempt < this.opts.scheduleSeconds.length + 1;
    const delay = retrying ? retryDelayMs(this.opts.scheduleSeconds, attempt, webhookId) : 0;
    await recordDeliveryAttempt(
      this.opts.connection,
      this.opts.prefix,
      d.jobId,
      {
        webhook_id: webhookId,
        event: d.event,
        attempt,
        at: new Date().toISOString(),
        url: d.url,
        status_code: statusCode,
        error,
        duration_ms: durationMs,
        next_retry_at: retrying ? new Date(Date.now() + delay).toISOString() : null,
        redelivery: d.redelivery ?? 0,
      },
      this.opts.retentionSeconds,
    ).catch(reported(this.opts.logger, "webhook_attempt_record", { jobId: d.jobId, webhookId }));
    await this.updateDeadLetters(webhookId, d, succeeded || retrying);
    this.opts.metrics.webhookAttempt.observe(durationMs / 1000);
    this.opts.metrics.webhookDeliveries.inc({
      outcome: succeeded ? "delivered" : retrying ? "retrying" : "failed",
    });
    if (succeeded) return;
    // The operator's log gets the full reason (outcome.detail); the deliveries log only `error`.
    this.opts.logger.info(
      { jobId: d.jobId, webhookId, attempt, statusCode, error: outcome.detail ?? error, retrying },
      "webhook attempt failed",
    );
    if (final) throw new UnrecoverableError(error);
    throw new Error(error);
  }

  /**
   * A delivery that ends unaccepted joins the admins' dead-letter list; a redelivered one leaves it as
   * soon as it is retrying or accepted (a first send was never on it). Written before BullMQ moves the
   * job to `failed`, so the list never misses a dead letter; readers skip an entry whose delivery is
   * not (yet, or any more) failed.
   */
  private async updateDeadLetters(webhookId: string, d: DeliveryData, alive: boolean): Promise<void> {
    const { connection, prefix, logger } = this.opts;
    const update = alive
      ? d.redelivery
        ? forgetDeadLetters(connection, prefix, [webhookId])
        : undefined
      : recordDeadLetter(connection, prefix, webhookId, Date.now(), this.opts.retentionSeconds);
    await update?.catch(reported(logger, "webhook_dead_letter_record", { jobId: d.jobId, webhookId }));
  }

  /** The body and the Standard Webhooks headers, signed with each of the owner's current secrets. */
  private async signed(d: DeliveryData, webhookId: string) {
    const body = await this.payload(d);
    const secrets = await webhookSigningSecrets(this.opts.connection, this.opts.prefix, d.owner);
    const timestamp = new Date();
    // Standard Webhooks: several space-separated signatures, one per secret, so a receiver still holding
    // the secret a rotation replaced verifies during WEBHOOK_SECRET_OVERLAP_SECONDS.
    const signature = secrets.map((s) => new Webhook(s).sign(webhookId, timestamp, body)).join(" ");
    return {
      body,
      headers: {
        "content-type": "application/json",
        "user-agent": "zimage-gateway-webhooks",
        "webhook-id": webhookId,
        "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
        "webhook-signature": signature,
      },
    };
  }
}
