import express, { type Request, type Response, Router } from "express";
import { cancelBatch } from "../batch-cancellation";
import { batchJobsQuerySchema, listBatches, parseQuery, readBatchView } from "../batch-reads";
import type { BatchService } from "../batch-service";
import type { JobDeps } from "../job-access";
import type { ApiMetrics } from "../metrics";
import type { Principal } from "../principal";

export interface BatchesRouterOptions {
  batches: BatchService;
  jobDeps: JobDeps;
  /** The body limit of a batch: BATCH_MAX_JOBS job requests (see app.ts). */
  maxBatchJsonBytes: number;
  publicUrl?: string | undefined;
  metrics: ApiMetrics;
}

const principalOf = (res: Response) => res.locals.principal as Principal;

/** `/v1/batches` (issue #19): submit many text-to-image jobs at once, follow and cancel them together. */
export function batchesRouter(opts: BatchesRouterOptions): Router {
  const router = Router();
  const json = express.json({ limit: opts.maxBatchJsonBytes, strict: true });
  const baseUrl = (req: Request) => opts.publicUrl ?? `${req.protocol}://${req.get("host")}`;

  router.post("/v1/batches", json, async (req, res) => {
    const { view, created } = await opts.batches.create(req.body, {
      principal: principalOf(res),
      baseUrl: baseUrl(req),
      idempotencyKey: req.get("idempotency-key"),
    });
    if (created) opts.metrics.jobsSubmitted.inc({ kind: "generate" }, view.counts.total);
    // An Idempotency-Key replay answers 200 with the batch the first request created.
    res
      .status(created ? 202 : 200)
      .location(`/v1/batches/${view.id}`)
      .json(view);
  });

  router.get("/v1/batches", async (req, res) => {
    res.json(await listBatches(opts.jobDeps, principalOf(res), req.query, baseUrl(req)));
  });

  router.get("/v1/batches/:id", async (req, res) => {
    const q = parseQuery(batchJobsQuerySchema, req.query);
    const page = { cursor: Number(q.cursor ?? 0), limit: q.limit };
    res.json(await readBatchView(opts.jobDeps, principalOf(res), req.params.id, baseUrl(req), page));
  });

  router.post("/v1/batches/:id/cancel", async (req, res) => {
    const { view, canceled } = await cancelBatch(opts.jobDeps, principalOf(res), req.params.id, baseUrl(req));
    for (const job of canceled) opts.metrics.jobsCanceled.inc({ kind: job.kind });
    res.json(view);
  });

  return router;
}
