import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import {
  addJob,
  allowedClasses,
  checkQuota,
  checkWebhookUrl,
  coerceFormFields,
  confirmIdempotencyKey,
  type DefaultableParam,
  deleteTombstone,
  describeIssues,
  editRequestSchema,
  fitEditSize,
  forgetJobs,
  GatewayError,
  generateRequestSchema,
  type InputImageRef,
  type JobData,
  type JobSnapshot,
  type JobView,
  type Logger,
  markGone,
  newJobId,
  notifyWebhook,
  type PriorityClass,
  probeImage,
  publishJobEvent,
  readUpstreamStates,
  releaseIdempotencyKey,
  releaseSubmit,
  reported,
  reportInternalError,
  reserveSubmit,
  type SubmitReservation,
} from "@zimage/core";
import { deleteJobFiles, ObjectNotFoundError } from "@zimage/storage";
import type { ZodType } from "zod";
import { checkIdempotencyKey, claimOrReplay } from "./idempotency-claim";
import { type JobDeps, loadJob, viewOf } from "./job-access";
import { fairShareRebases, fairShareSaturated } from "./metrics";
import { prunePending, tooManyPending } from "./pending-limit";
import type { Principal } from "./principal";
import type { SubmitLimiter } from "./submit-limiter";
import { checkAdmission } from "./upstream-admission";

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

/** Job operations behind the HTTP routes: validation, limits, fair-share queueing and the view. */
export class JobService {
  constructor(
    private readonly deps: JobDeps & { logger: Pick<Logger, "warn"> },
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
    const { kind: _kind, webhook, priority, cancel_after, ...params } = validate(generateRequestSchema, body);
    const data = {
      kind: "generate" as const,
      owner: opts.principal.id,
      params,
      defaulted: leftOut(body as Record<string, unknown>),
      ...schedulingOf(opts.principal, priority, cancel_after),
      ...(await this.webhookOf(webhook)),
    };
    return this.submit(data, null, opts);
  }

  async submitEdit(
    fields: Record<string, unknown>,
    file: UploadedFile | undefined,
    opts: SubmitOptions,
  ): Promise<Submitted> {
    const form = coerceFormFields(webhookFields(fields));
    const { kind: _kind, webhook, priority, cancel_after, ...params } = validate(editRequestSchema, form);
    if (!file) throw new GatewayError("invalid_request", 'an image file is required in the "image" field');
    const info = probeImage(file.buffer);
    // Without size the upstream renders at the input's size: bring it within the bounds `size` has,
    // and carry it in the job's params so the upstream is asked for exactly that.
    params.size ??= fitEditSize(info.width, info.height);
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
      {
        kind: "edit",
        owner: opts.principal.id,
        params,
        defaulted: leftOut(form),
        ...schedulingOf(opts.principal, priority, cancel_after),
        ...(await this.webhookOf(webhook)),
      },
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
    const { redis, prefix, logger } = this.deps;
    let id = newJobId();
    const idemKey = opts.idempotencyKey;
    let fingerprint = "";
    if (idemKey !== undefined) {
      checkIdempotencyKey(idemKey);
      fingerprint = createHash("sha256")
        .update(JSON.stringify([data.kind, data.params, upload?.sha256 ?? null]))
        .digest("hex");
      const claim = await claimOrReplay(this.deps, principal.id, idemKey, id, fingerprint, (existing) =>
        this.existingView(principal, existing, opts.baseUrl),
      );
      if (claim.replay) return { view: claim.replay, created: false };
      id = claim.id;
    }
    let inputKey: string | null = null;
    let reservation: SubmitReservation | null = null;
    // Once the job has been sent to Redis, a failure is ambiguous: the job may be in the queue.
    let sent = false;
    const timestamp = Date.now();
    let queued: JobData | undefined;
    try {
      // Before anything is reserved: a job no upstream can run is refused, not queued to fail later.
      checkAdmission(await readUpstreamStates(redis, prefix), data);
      // A key whose GPU budget is spent is refused before anything is reserved (issue #19).
      await checkQuota(redis, prefix, principal, 1);
      reservation = await this.reserve(principal, id, timestamp, data);
      let input: InputImageRef | undefined;
      if (upload) {
        const { buffer, ext, ...meta } = upload;
        inputKey = `inputs/${id}/input.${ext}`;
        const saved = await this.deps.store.put(inputKey, buffer, { contentType: meta.contentType });
        input = { ...meta, key: inputKey, bytes: saved.size };
      }
      sent = true;
      queued = input ? { ...data, input } : data;
      await addJob(this.deps.queue, id, queued, reservation.priority, timestamp);
    } catch (err) {
      await this.undoSubmit(err, { id, owner: principal.id, sent, reservation, inputKey, idemKey });
      throw err;
    }
    if (idemKey !== undefined) {
      await confirmIdempotencyKey(redis, prefix, principal.id, idemKey, id, fingerprint).catch(
        // The claim stays `submitting`: a retry waits for it, then finds the job (takeover sees it).
        reported(logger, "idempotency_confirm", { jobId: id }),
      );
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
      viewOf(this.deps, snapshot, opts.baseUrl, { asQueued: true }),
      publishJobEvent(redis, prefix, { id, type: "changed", owner: data.owner }).catch(
        reported(logger, "job_event_publish", { jobId: id }),
      ),
      notifyWebhook(this.deps.webhooks, id, data, "queued", this.deps.webhookSchedule).catch(
        reported(logger, "webhook_enqueue", { jobId: id }),
      ),
    ]);
    return { view, created: true };
  }

  /**
   * The submit rate point and the pending slot (with the listing and queued-since entries and the
   * fair-share slot), checked and taken together: `reserveSubmit` is one script, so concurrent
   * submits cannot overrun max_pending. Runs beside the rate limiter: each round trip is latency.
   */
  private async reserve(
    principal: Principal,
    id: string,
    at: number,
    data: Pick<JobData, "priority" | "deadline_at">,
  ): Promise<SubmitReservation> {
    const { redis, prefix } = this.deps;
    const job = {
      id,
      owner: principal.id,
      maxPending: principal.limits.max_pending,
      weight: principal.limits.priority_weight,
      at,
      cls: data.priority ?? ("interactive" as const),
      deadlineAt: data.deadline_at,
    };
    const [rate, first] = await Promise.allSettled([
      this.limiter.consume(principal.id, principal.limits.rate_per_minute),
      reserveSubmit(redis, prefix, job),
    ]);
    let result = first.status === "fulfilled" ? first.value : null;
    if (rate.status === "rejected" || first.status === "rejected") {
      if (result?.reserved) await this.release(result);
      throw rate.status === "rejected" ? rate.reason : (first as PromiseRejectedResult).reason;
    }
    // At the limit the record may hold jobs whose end was missed: prune them and try once more.
    if (!result!.reserved && (await prunePending(this.deps, principal)) < principal.limits.max_pending) {
      result = await reserveSubmit(redis, prefix, job);
    }
    if (!result!.reserved) throw await tooManyPending(this.deps, principal, result!.pending);
    if (result!.fairShareEvent === "rebased") fairShareRebases.inc();
    if (result!.fairShareEvent === "saturated") fairShareSaturated.inc();
    return result!;
  }

  /**
   * A submit failed. If its job is certainly not queued, nothing it wrote stays: the reservation, the
   * idempotency claim (so a retry can succeed) and the input image. If the job may be queued (the
   * failure came after Queue.add was sent and the queue cannot say), everything stays, so a retry
   * finds that job instead of queueing a second one; readers drop the entries if it was not.
   */
  private async undoSubmit(
    err: unknown,
    s: {
      id: string;
      owner: string;
      sent: boolean;
      reservation: SubmitReservation | null;
      inputKey: string | null;
      idemKey: string | undefined;
    },
  ): Promise<void> {
    const { redis, prefix, logger } = this.deps;
    if (s.sent && !(err instanceof GatewayError)) {
      const state = await this.deps.queue
        .getJobState(s.id)
        .catch(reported(logger, "submit_undo", { jobId: s.id }));
      if (state !== "unknown") return;
    }
    const results = await Promise.allSettled([
      s.idemKey !== undefined ? releaseIdempotencyKey(redis, prefix, s.owner, s.idemKey) : null,
      s.inputKey ? this.deps.store.delete(s.inputKey) : null,
      s.reservation ? releaseSubmit(redis, prefix, s.reservation) : null,
    ]);
    for (const r of results) {
      if (r.status === "rejected") reportInternalError(logger, "submit_undo", r.reason, { jobId: s.id });
    }
  }

  private async release(reservation: SubmitReservation): Promise<void> {
    await releaseSubmit(this.deps.redis, this.deps.prefix, reservation).catch(
      reported(this.deps.logger, "submit_undo", { jobId: reservation.id }),
    );
  }

  /**
   * A new job with the same parameters (and, for an edit, the same input image) as `id`, which may
   * be in any state. The webhook is not copied: a retry is a person's choice, not the integration's.
   */
  async retry(id: string, opts: SubmitOptions): Promise<Submitted> {
    const { data } = await loadJob(this.deps, opts.principal, id);
    const again = {
      kind: data.kind,
      owner: opts.principal.id,
      params: data.params,
      defaulted: data.defaulted,
      // The class is kept (the retrying key must still be allowed it); a deadline is not: it was
      // a point in time for the first job, most likely passed.
      ...schedulingOf(opts.principal, data.priority, undefined),
    };
    if (data.kind === "generate" || !data.input) return this.submit(again, null, opts);
    const { input } = data;
    const buffer = await this.deps.store.get(input.key).catch(() => {
      throw new GatewayError("input_gone", "the job's input image is no longer stored; submit it again");
    });
    const { key: _key, bytes: _bytes, ...meta } = input;
    const ext = input.contentType === "image/png" ? "png" : "jpg";
    // An edit queued before sizes were fitted at submit has none: the retry gets the same bounds.
    const params = { ...data.params, size: data.params.size ?? fitEditSize(input.width, input.height) };
    return this.submit({ ...again, params }, { ...meta, buffer, ext }, opts);
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
    const { redis, prefix, logger } = this.deps;
    const owner = snapshot.data.owner;
    await deleteJobFiles(this.deps.store, id, reported(this.deps.logger, "job_files_delete"));
    await markGone(redis, prefix, id, owner);
    const job = await this.deps.queue.getJob(id);
    // A failed removal leaves a finished job to the sweeper or BullMQ's retention; it reads as gone.
    await job?.remove().catch(reported(logger, "job_delete", { jobId: id }));
    await Promise.all([deleteTombstone(redis, prefix, id), forgetJobs(redis, prefix, [{ id, owner }])]);
    await publishJobEvent(redis, prefix, { id, type: "changed", owner }).catch(
      reported(logger, "job_event_publish", { jobId: id }),
    );
  }

  /** The SSRF guard runs at submit (and again before each delivery: DNS can change). */
  private async webhookOf(
    webhook: { url: string; events: NonNullable<JobData["webhook"]>["events"] } | undefined,
  ) {
    if (!webhook) return {};
    const url = await checkWebhookUrl(webhook.url, this.deps.webhookPolicy);
    return { webhook: { url: url.toString(), events: webhook.events } };
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
    const { image, filename } = await this.resultImage(principal, id, index);
    const { stream, size } = await this.deps.store.stream(image.key).catch((err: unknown) => {
      // Only a missing object is a 404; a store that cannot answer (S3 down, denied) is a 500.
      if (!(err instanceof ObjectNotFoundError)) throw err;
      throw new GatewayError("image_not_found", "the image file is no longer stored");
    });
    return { stream, size, sha256: image.sha256, filename };
  }

  /**
   * A short-lived URL of the image on the object store itself (S3_RESULT_DELIVERY=redirect), or
   * null when the store cannot hand one out (the filesystem): the caller streams it instead.
   */
  async imageRedirect(principal: Principal, id: string, index: string, expiresSeconds: number) {
    const { store } = this.deps;
    if (!store.presignGet) return null;
    const { image, filename } = await this.resultImage(principal, id, index);
    if (!(await store.exists(image.key)))
      throw new GatewayError("image_not_found", "the image file is no longer stored");
    return store.presignGet(image.key, { expiresSeconds, contentType: "image/png", filename });
  }

  private async resultImage(principal: Principal, id: string, index: string) {
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
    return { image, filename: `${id}-${i}.png` };
  }
}

/** A deadline closer than this is refused: the job could not even be queued and looked at before it. */
export const MIN_CANCEL_AFTER_MS = 1_000;

/**
 * The job's priority class and deadline as JobData keeps them (issue #19). A single job is
 * interactive unless it asks otherwise — or batch when its key may only use batch. A class the key
 * may not use is refused (403 priority_not_allowed, naming the classes it may use) rather than
 * silently downgraded: a caller who asked for interactive must know it did not get it.
 * `cancel_after` becomes an absolute epoch-ms deadline; one already past, or under a second away,
 * is a 400 (the job could only end canceled at once).
 */
export function schedulingOf(
  principal: Principal,
  priority: PriorityClass | undefined,
  cancelAfter: number | string | undefined,
  now = Date.now(),
  /** The class a job gets when it names none: interactive for a single job, batch in a batch. */
  preferred: PriorityClass = "interactive",
): Pick<JobData, "priority" | "deadline_at"> {
  const allowed = allowedClasses(principal.limits.priority_classes);
  if (priority !== undefined && !allowed.includes(priority)) {
    throw new GatewayError(
      "priority_not_allowed",
      `this API key may not submit ${priority} jobs; it may use: ${allowed.join(", ")}`,
      { allowed_priorities: allowed },
    );
  }
  // Unnamed, a job gets the preferred class, or the class its key is limited to.
  const fallback = allowed.includes(preferred) ? preferred : allowed[0]!;
  const out: Pick<JobData, "priority" | "deadline_at"> = { priority: priority ?? fallback };
  if (cancelAfter !== undefined) {
    const at =
      typeof cancelAfter === "number" ? now + Math.round(cancelAfter * 1000) : Date.parse(cancelAfter);
    if (at - now < MIN_CANCEL_AFTER_MS) {
      throw new GatewayError(
        "invalid_request",
        at <= now
          ? `cancel_after is in the past (${new Date(at).toISOString()}); give a later time or a number of seconds`
          : "cancel_after must be at least 1 second ahead",
        [{ path: "cancel_after", message: "must be at least 1 second in the future" }],
      );
    }
    out.deadline_at = at;
  }
  return out;
}

/** The fields an upstream may default that the request left out (JobData.defaulted). */
export function leftOut(fields: Record<string, unknown>): DefaultableParam[] {
  return (["num_inference_steps", "guidance_scale"] as const).filter((f) => fields[f] === undefined);
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
