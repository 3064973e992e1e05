import { GatewayError, type Logger, listPending, statusOf } from "@zimage/core";
import express, { type Request, type Response, Router } from "express";
import type { JobDeps } from "../job-access";
import { loadJob } from "../job-access";
import { announceCancel, cancelJob } from "../job-cancellation";
import type { JobEventBus } from "../job-event-bus";
import { streamJobEvents } from "../job-event-stream";
import { listJobs } from "../job-listing";
import type { JobService } from "../job-service";
import { isFinished, preferredWait, queryWait, waitForFinish } from "../job-wait";
import type { ApiMetrics } from "../metrics";
import { streamOwnerEvents } from "../owner-event-stream";
import type { Principal } from "../principal";
import type { StreamSlots } from "../stream-slots";
import { imageUpload } from "../upload";
import { sendImage } from "./signed-image";

export interface JobsRouterOptions {
  jobs: JobService;
  jobDeps: JobDeps;
  maxJsonBytes: number;
  maxUploadBytes: number;
  publicUrl?: string | undefined;
  metrics: ApiMetrics;
  events: JobEventBus;
  logger: Logger;
  /** Caps and tracks SSE streams and waiting requests; a held request's signal aborts when its client leaves. */
  streams: StreamSlots;
}

const principalOf = (res: Response) => res.locals.principal as Principal;

export function jobsRouter(opts: JobsRouterOptions): Router {
  const router = Router();
  const json = express.json({ limit: opts.maxJsonBytes, strict: true });
  const upload = imageUpload(opts.maxUploadBytes);
  const baseUrl = (req: Request) => opts.publicUrl ?? `${req.protocol}://${req.get("host")}`;

  router.post("/v1/jobs", (req, res, next) => {
    if (req.is("application/json")) return json(req, res, next);
    if (req.is("multipart/form-data")) return upload(req, res, next);
    next(
      new GatewayError(
        "unsupported_media_type",
        "send application/json for text-to-image or multipart/form-data with an image for image-to-image",
      ),
    );
  });

  router.post("/v1/jobs", async (req, res) => {
    const submit = {
      principal: principalOf(res),
      baseUrl: baseUrl(req),
      idempotencyKey: req.get("idempotency-key"),
    };
    const { view, created } = req.is("multipart/form-data")
      ? await opts.jobs.submitEdit(req.body ?? {}, req.file, submit)
      : await opts.jobs.submitGenerate(req.body, submit);
    if (created) opts.metrics.jobsSubmitted.inc({ kind: view.kind });
    const wait = preferredWait(req.get("prefer"));
    // A preference (RFC 7240): over the stream caps the job is still queued and answered at once,
    // without Preference-Applied, rather than refused after it was created.
    const held = wait > 0 ? opts.streams.tryHold(res, principalOf(res).id, "wait") : null;
    if (held) {
      const principal = principalOf(res);
      const last = await waitForFinish(
        opts.events,
        view,
        () => opts.jobs.getView(principal, view.id, baseUrl(req)),
        wait,
        held.signal,
      );
      res.set("Preference-Applied", `wait=${wait}`);
      // Finished within the wait: the result itself (200); otherwise the usual acknowledgement.
      if (isFinished(last)) return res.status(200).location(`/v1/jobs/${last.id}`).json(last);
      return res
        .status(created ? 202 : 200)
        .location(`/v1/jobs/${last.id}`)
        .json(last);
    }
    // An Idempotency-Key replay answers 200 with the job the first request created.
    res
      .status(created ? 202 : 200)
      .location(`/v1/jobs/${view.id}`)
      .json(view);
  });

  router.get("/v1/jobs", async (req, res) => {
    res.json(await listJobs(opts.jobDeps, principalOf(res), req.query, baseUrl(req)));
  });

  router.get("/v1/jobs/:id", async (req, res) => {
    const wait = queryWait(req.query.wait);
    // Taken before the first read, so a client that leaves during it frees the slot at once.
    const held = wait > 0 ? opts.streams.hold(res, principalOf(res).id, "wait") : null;
    const read = () => opts.jobs.getView(principalOf(res), req.params.id, baseUrl(req));
    const view = await read();
    res.json(held ? await waitForFinish(opts.events, view, read, wait, held.signal) : view);
  });

  const sseOptions = {
    writeTimeoutMs: opts.streams.limits.writeTimeoutMs,
    onCoalesced: () => opts.metrics.sseEventsCoalesced.inc(),
    onStalled: () => opts.metrics.sseClientsStalled.inc(),
  };

  router.get("/v1/events", async (req, res) => {
    const principal = principalOf(res);
    const held = opts.streams.hold(res, principal.id, "sse");
    await streamOwnerEvents(
      held,
      opts.events,
      {
        owner: principal.id,
        pending: () => listPending(opts.jobDeps.redis, opts.jobDeps.prefix, principal.id),
        read: (id) =>
          opts.jobs.getView(principal, id, baseUrl(req)).catch((err: unknown) => {
            if (err instanceof GatewayError && (err.status === 404 || err.status === 410)) return null;
            throw err;
          }),
      },
      sseOptions,
    );
  });

  router.post("/v1/jobs/:id/retry", async (req, res) => {
    const { view, created } = await opts.jobs.retry(req.params.id, {
      principal: principalOf(res),
      baseUrl: baseUrl(req),
      idempotencyKey: req.get("idempotency-key"),
    });
    if (created) opts.metrics.jobsSubmitted.inc({ kind: view.kind });
    res
      .status(created ? 202 : 200)
      .location(`/v1/jobs/${view.id}`)
      .json(view);
  });

  router.get("/v1/jobs/:id/events", async (req, res) => {
    const principal = principalOf(res);
    const held = opts.streams.hold(res, principal.id, "sse");
    await streamJobEvents(
      held,
      req,
      opts.events,
      () => opts.jobs.getView(principal, req.params.id, baseUrl(req)),
      sseOptions,
    );
  });

  const cancel = async (req: Request<{ id: string }>, res: Response) => {
    const { view, changed } = await cancelJob(opts.jobDeps, principalOf(res), req.params.id, baseUrl(req));
    if (changed) {
      opts.metrics.jobsCanceled.inc({ kind: view.kind });
      const { data } = await loadJob(opts.jobDeps, principalOf(res), view.id);
      await announceCancel(opts.jobDeps, view, data);
    }
    res.json(view);
  };
  // DELETE ends a job either way: cancels one that is queued or running (200 with the view, as
  // POST …/cancel), deletes one that has ended with its images (204).
  router.delete("/v1/jobs/:id", async (req, res) => {
    const principal = principalOf(res);
    // The status alone decides, so the job is read without building its view.
    const job = await loadJob(opts.jobDeps, principal, req.params.id);
    const status = statusOf(job.state, job.failedReason, !!job.cancelRequestedAt);
    if (status === "queued" || status === "running") return cancel(req, res);
    await opts.jobs.delete(principal, job.id);
    res.status(204).end();
  });
  router.post("/v1/jobs/:id/cancel", cancel);

  router.get("/v1/jobs/:id/images/:index", async (req, res) => {
    await sendImage(
      res,
      await opts.jobs.openImage(principalOf(res), req.params.id, req.params.index),
      opts.logger,
    );
  });

  return router;
}
