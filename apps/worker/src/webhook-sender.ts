import { createHash } from "node:crypto";
import {
  buildJobView,
  cancelRequestedAt,
  checkWebhookUrl,
  type DeliveryData,
  getJobSnapshot,
  type JobView,
  type Logger,
  QUEUES,
  type ResultUrlSigner,
  recordDeliveryAttempt,
  reported,
  type WebhookUrlPolicy,
  webhookSecret,
  withImageUrls,
} from "@zimage/core";
import { type Job, type MinimalJob, type Queue, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { Webhook } from "standardwebhooks";
import { request } from "undici";
import type { WorkerMetrics } from "./metrics";

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
  /** Delay before each retry, in seconds; its length bounds the attempts. */
  scheduleSeconds: number[];
  timeoutMs: number;
  retentionSeconds: number;
  metrics: WorkerMetrics;
  logger: Logger;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

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
 * WEBHOOK_RETRY_SCHEDULE (24 h and more by default); any other 4xx ends the delivery. Redirects are not
 * followed, answers are read up to 64 KB, and the SSRF guard runs again before every attempt.
 */
export class WebhookSender {
  private readonly worker: Worker<DeliveryData>;

  constructor(private readonly opts: WebhookSenderOptions) {
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
      snapshot.cancelRequestedAt = await cancelRequestedAt(this.opts.connection, this.opts.prefix, id);
    }
    return snapshot ? buildJobView(snapshot, { imageUrl, queuePosition: null, etaSeconds: null }) : null;
  }

  private async deliver(job: Job<DeliveryData>): Promise<void> {
    const d = job.data;
    const attempt = job.attemptsMade + 1;
    const webhookId = job.id!;
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    let final = false;
    try {
      const url = await checkWebhookUrl(d.url, this.opts.policy).catch((err: Error) => {
        final = true;
        throw err;
      });
      const body = await this.payload(d);
      const secret = await webhookSecret(this.opts.connection, this.opts.prefix, d.owner);
      const timestamp = new Date();
      const signature = new Webhook(secret).sign(webhookId, timestamp, body);
      const res = await request(url, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "user-agent": "zimage-gateway-webhooks",
          "webhook-id": webhookId,
          "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
          "webhook-signature": signature,
        },
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      statusCode = res.statusCode;
      let read = 0;
      for await (const chunk of res.body) {
        read += (chunk as Buffer).length;
        if (read > MAX_RESPONSE_BYTES) {
          res.body.destroy();
          break;
        }
      }
      if (statusCode >= 200 && statusCode < 300) return;
      error = `answered ${statusCode}`;
      final = statusCode >= 400 && statusCode < 500 && statusCode !== 408 && statusCode !== 429;
    } catch (err) {
      error ??= (err as Error).message;
    } finally {
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
        },
        this.opts.retentionSeconds,
      ).catch(reported(this.opts.logger, "webhook_attempt_record", { jobId: d.jobId, webhookId }));
      this.opts.metrics.webhookAttempt.observe(durationMs / 1000);
      this.opts.metrics.webhookDeliveries.inc({
        outcome: succeeded ? "delivered" : retrying ? "retrying" : "failed",
      });
      if (!succeeded)
        this.opts.logger.info(
          { jobId: d.jobId, webhookId, attempt, statusCode, error, retrying },
          "webhook attempt failed",
        );
    }
    if (final) throw new UnrecoverableError(error ?? "webhook refused");
    throw new Error(error ?? "webhook failed");
  }
}
