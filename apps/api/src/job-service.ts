import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import {
  addJob,
  addPending,
  checkWebhookUrl,
  claimIdempotencyKey,
  coerceFormFields,
  countPending,
  deleteTombstone,
  describeIssues,
  editRequestSchema,
  GatewayError,
  generateRequestSchema,
  getDispatchStats,
  type InputImageRef,
  indexJob,
  type JobData,
  type JobSnapshot,
  type JobView,
  markGone,
  markQueued,
  newJobId,
  nextFairPriority,
  notifyWebhook,
  pendingSize,
  probeImage,
  publishJobEvent,
  releaseIdempotencyKey,
  removePending,
} from "@zimage/core";
import { deleteJobFiles } from "@zimage/storage";
import type { ZodType } from "zod";
import { type JobDeps, loadJob, viewOf } from "./job-access";
import type { Principal } from "./principal";
import type { SubmitLimiter } from "./submit-limiter";

export interface UploadedFile {
  buffer: Buffer;
  originalname: string;
}

export interface SubmitOptions {
  principal: Principal;
  baseUrl: string;
  idempotencyKey?: string | undefined;
}

export interface Submitted {
  view: JobView;
  /** False when an Idempotency-Key replay returned the job created earlier. */
  created: boolean;
}

function validate<T>(schema: ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new GatewayError("invalid_request", "the request body is invalid", describeIssues(parsed.error));
  }
  return parsed.data;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Job operations behind the HTTP routes: validation, limits, fair-share queueing and the view. */
export class JobService {
  constructor(
    private readonly deps: JobDeps,
    private readonly limiter: SubmitLimiter,
  ) {}

  async submitGenerate(body: unknown, opts: SubmitOptions): Promise<Submitted> {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new GatewayError("invalid_request", "the request body must be a JSON object");
    }
    if ((body as { kind?: unknown }).kind === "edit") {
      throw new GatewayError(
        "invalid_request",
        "edit jobs are submitted as multipart/form-data with an image file",
      );
    }
    const { kind: _kind, webhook, ...params } = validate(generateRequestSchema, body);
    const data = {
      kind: "generate" as const,
      owner: opts.principal.id,
      params,
      ...(await this.webhookOf(webhook)),
    };
    return this.submit(data, null, opts);
  }

  async submitEdit(
    fields: Record<string, unknown>,
    file: UploadedFile | undefined,
    opts: SubmitOptions,
  ): Promise<Submitted> {
    const {
      kind: _kind,
      webhook,
      ...params
    } = validate(editRequestSchema, coerceFormFields(webhookFields(fields)));
    if (!file) throw new GatewayError("invalid_request", 'an image file is required in the "image" field');
    const info = probeImage(file.buffer);
    const ext = info.type === "image/png" ? "png" : "jpg";
    const input: Omit<InputImageRef, "key" | "bytes"> = {
      contentType: info.type,
      // Only a safe basename is kept; the original name is user input shown back to the user.
      filename: sanitizeFilename(file.originalname, ext),
      sha256: createHash("sha256").update(file.buffer).digest("hex"),
      width: info.width,
      height: info.height,
    };
    return this.submit(
      { kind: "edit", owner: opts.principal.id, params, ...(await this.webhookOf(webhook)) },
      { ...input, buffer: file.buffer, ext },
      opts,
    );
  }

  private async submit(
    data: Omit<JobData, "input">,
    upload: (Omit<InputImageRef, "key" | "bytes"> & { buffer: Buffer; ext: string }) | null,
    opts: SubmitOptions,
  ): Promise<Submitted> {
    const { principal } = opts;
    let id = newJobId();
    const idemKey = opts.idempotencyKey;
    if (idemKey !== undefined) {
      if (!IDEMPOTENCY_KEY.test(idemKey)) {
        throw new GatewayError(
          "invalid_idempotency_key",
          "Idempotency-Key must be 1-255 printable ASCII characters",
        );
      }
      const fingerprint = createHash("sha256")
        .update(JSON.stringify([data.kind, data.params, upload?.sha256 ?? null]))
        .digest("hex");
      const claim = await claimIdempotencyKey(
        this.deps.redis,
        this.deps.prefix,
        principal.id,
        idemKey,
        id,
        fingerprint,
      );
      if (!claim.claimed) {
        if (claim.fingerprint !== fingerprint) {
          throw new GatewayError(
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request",
          );
        }
        const existing = await this.existingView(principal, claim.jobId, opts.baseUrl);
        if (existing) return { view: existing, created: false };
        // The first attempt claimed the key and then failed without knowing whether its job went in
        // (Redis went away mid-submit), and it did not: finish that submission under the same id.
        id = claim.jobId;
      }
    }
    let inputKey: string | null = null;
    // Once the job has been sent to Redis, a failure is ambiguous: the job may be in the queue. Then
    // the idempotency claim must stay, so a retry finds that job instead of queueing a second one.
    let sent = false;
    const timestamp = Date.now();
    let queued: JobData | undefined;
    try {
      // Independent reads and writes go to Redis together: each round trip is submit latency.
      const [, pending] = await Promise.all([
        this.limiter.consume(principal.id, principal.limits.rate_per_minute),
        this.pendingCount(principal),
      ]);
      if (pending >= principal.limits.max_pending) {
        const stats = await getDispatchStats(this.deps.redis, this.deps.prefix);
        const retryAfter = Math.max(1, Math.ceil((stats.avgJobMs ?? 30_000) / 1000));
        throw new GatewayError(
          "too_many_pending_jobs",
          `you have ${pending} jobs queued or running, the most allowed is ${principal.limits.max_pending}`,
          { retry_after_seconds: retryAfter },
        );
      }
      let input: InputImageRef | undefined;
      if (upload) {
        const { buffer, ext, ...meta } = upload;
        inputKey = `inputs/${id}/input.${ext}`;
        const saved = await this.deps.store.put(inputKey, buffer, { contentType: meta.contentType });
        input = { ...meta, key: inputKey, bytes: saved.size };
      }
      // Fair share (start-time fair queuing, see packages/core/src/store/fair-share.ts): 500 jobs from
      // one user queue behind everyone else's next job instead of in front of it.
      const priority = await nextFairPriority(
        this.deps.redis,
        this.deps.prefix,
        principal.id,
        principal.limits.priority_weight,
      );
      await Promise.all([
        indexJob(this.deps.redis, this.deps.prefix, principal.id, id),
        addPending(this.deps.redis, this.deps.prefix, principal.id, id),
        markQueued(this.deps.redis, this.deps.prefix, id, timestamp),
      ]);
      sent = true;
      queued = input ? { ...data, input } : data;
      await addJob(this.deps.queue, id, queued, priority, timestamp);
    } catch (err) {
      // Nothing is left behind for a job that was certainly never queued.
      if (!sent || err instanceof GatewayError) {
        await Promise.allSettled([
          idemKey !== undefined
            ? releaseIdempotencyKey(this.deps.redis, this.deps.prefix, principal.id, idemKey)
            : null,
          inputKey ? this.deps.store.delete(inputKey) : null,
          removePending(this.deps.redis, this.deps.prefix, principal.id, id),
        ]);
      }
      throw err;
    }
    // The job was just queued, so its view is built from what was sent rather than read back.
    const snapshot: JobSnapshot = {
      id,
      data: queued!,
      state: "prioritized",
      timestamp,
      attemptsMade: 0,
      progress: null,
      returnvalue: null,
    };
    const [view] = await Promise.all([
      viewOf(this.deps, snapshot, opts.baseUrl),
      publishJobEvent(this.deps.redis, this.deps.prefix, { id, type: "changed", owner: data.owner }).catch(
        () => {},
      ),
      notifyWebhook(this.deps.webhooks, id, data, "queued", this.deps.webhookSchedule).catch(() => {}),
    ]);
    return { view, created: true };
  }

  /**
   * A new job with the same parameters (and, for an edit, the same input image) as `id`, which may
   * be in any state. The webhook is not copied: a retry is a person's choice, not the integration's.
   */
  async retry(id: string, opts: SubmitOptions): Promise<Submitted> {
    const { data } = await loadJob(this.deps, opts.principal, id);
    if (data.kind === "generate" || !data.input) {
      return this.submit({ kind: data.kind, owner: opts.principal.id, params: data.params }, null, opts);
    }
    const { input } = data;
    const buffer = await this.deps.store.get(input.key).catch(() => {
      throw new GatewayError("input_gone", "the job's input image is no longer stored; submit it again");
    });
    const { key: _key, bytes: _bytes, ...meta } = input;
    const ext = input.contentType === "image/png" ? "png" : "jpg";
    return this.submit(
      { kind: "edit", owner: opts.principal.id, params: data.params },
      { ...meta, buffer, ext },
      opts,
    );
  }

  /**
   * Deletes a finished job with its images and input, as the RESULT_TTL sweeper does, leaving the
   * "gone" marker so its owner reads 410. A job still queued or running must be canceled first.
   */
  async delete(principal: Principal, id: string): Promise<void> {
    const snapshot = await loadJob(this.deps, principal, id);
    // Only completed and failed jobs (a canceled queued job reads as failed) are past the GPU.
    if (snapshot.state !== "completed" && snapshot.state !== "failed")
      throw new GatewayError(
        "job_still_running",
        snapshot.cancelRequestedAt
          ? "the job was canceled but its image is still being made on the GPU; delete it when that ends"
          : "cancel the job first; a job can be deleted once it has ended",
      );
    await deleteJobFiles(this.deps.store, id);
    await markGone(this.deps.redis, this.deps.prefix, id, snapshot.data.owner);
    const job = await this.deps.queue.getJob(id);
    await job?.remove().catch(() => {});
    await deleteTombstone(this.deps.redis, this.deps.prefix, id);
    await publishJobEvent(this.deps.redis, this.deps.prefix, {
      id,
      type: "changed",
      owner: snapshot.data.owner,
    }).catch(() => {});
  }

  /** The SSRF guard runs at submit (and again before each delivery: DNS can change). */
  private async webhookOf(
    webhook: { url: string; events: NonNullable<JobData["webhook"]>["events"] } | undefined,
  ) {
    if (!webhook) return {};
    const url = await checkWebhookUrl(webhook.url, this.deps.webhookPolicy);
    return { webhook: { url: url.toString(), events: webhook.events } };
  }

  /** Below the limit the recorded count is trusted; at the limit it is checked against the queue. */
  private async pendingCount(principal: Principal): Promise<number> {
    const size = await pendingSize(this.deps.redis, this.deps.prefix, principal.id);
    if (size < principal.limits.max_pending) return size;
    return countPending(this.deps.redis, this.deps.prefix, principal.id, async (ids) => {
      const states = await Promise.all(ids.map((id) => this.deps.queue.getJobState(id)));
      return states.map((s) => s === "waiting" || s === "prioritized" || s === "delayed" || s === "active");
    });
  }

  /** The job's view, or null when it does not exist (an idempotency claim whose job never went in). */
  private async existingView(principal: Principal, id: string, baseUrl: string): Promise<JobView | null> {
    try {
      return await this.getView(principal, id, baseUrl);
    } catch (err) {
      if (err instanceof GatewayError && err.code === "job_not_found") return null;
      throw err;
    }
  }

  async getView(principal: Principal, id: string, baseUrl: string): Promise<JobView> {
    return viewOf(this.deps, await loadJob(this.deps, principal, id), baseUrl);
  }

  /** Image `index` of a finished job, whole (for answers that inline it as base64). */
  async imageBytes(principal: Principal, id: string, index: number): Promise<Buffer> {
    const { stream } = await this.openImage(principal, id, String(index));
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async openImage(
    principal: Principal,
    id: string,
    index: string,
  ): Promise<{ stream: NodeJS.ReadableStream | Readable; size: number; sha256: string; filename: string }> {
    const snapshot = await loadJob(this.deps, principal, id);
    if (snapshot.state !== "completed") {
      if (snapshot.state === "failed")
        throw new GatewayError("image_not_found", "the job has no images: it did not succeed");
      throw new GatewayError(
        "job_not_finished",
        "the job has not finished yet; poll it or wait for its result",
      );
    }
    const i = /^\d{1,2}$/.test(index) ? Number(index) : -1;
    const image = snapshot.returnvalue?.images[i];
    if (!image) throw new GatewayError("image_not_found", `the job has no image ${JSON.stringify(index)}`);
    const { stream, size } = await this.deps.store.stream(image.key).catch(() => {
      throw new GatewayError("image_not_found", "the image file is no longer stored");
    });
    return { stream, size, sha256: image.sha256, filename: `${id}-${i}.png` };
  }
}

/** Multipart forms send the webhook as `webhook_url` and `webhook_events` (comma-separated). */
function webhookFields(fields: Record<string, unknown>): Record<string, unknown> {
  const { webhook_url, webhook_events, ...rest } = fields;
  if (webhook_url === undefined && webhook_events === undefined) return rest;
  const events =
    typeof webhook_events === "string" ? webhook_events.split(",").map((e) => e.trim()) : webhook_events;
  return { ...rest, webhook: events === undefined ? { url: webhook_url } : { url: webhook_url, events } };
}

function sanitizeFilename(name: string, ext: string): string {
  const base = name
    .replace(/^.*[\\/]/, "")
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .slice(0, 100);
  return base && base !== "." && base !== ".." ? base : `input.${ext}`;
}
