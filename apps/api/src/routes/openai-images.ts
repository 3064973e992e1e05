import { GatewayError, readUpstreamStates } from "@zimage/core";
import type { RequestHandler } from "express";
import express, { type NextFunction, type Request, type Response, Router } from "express";
import type { Redis } from "ioredis";
import type { JobEventBus } from "../job-event-bus";
import type { JobService, Submitted } from "../job-service";
import { isFinished, waitForFinish } from "../job-wait";
import type { ApiMetrics } from "../metrics";
import { listModels } from "../model-list";
import { imagesResponse, jobFailure } from "../openai/images-response";
import { useOpenAIErrors } from "../openai/openai-error";
import { nativeParams, prefersAsync } from "../openai/openai-request";
import type { Principal } from "../principal";
import type { StreamSlots } from "../stream-slots";
import { imageUpload } from "../upload";

export interface OpenAIImagesOptions {
  jobs: JobService;
  events: JobEventBus;
  metrics: ApiMetrics;
  redis: Redis;
  prefix: string;
  maxJsonBytes: number;
  maxUploadBytes: number;
  publicUrl?: string | undefined;
  /** OPENAI_WAIT_SECONDS: how long a request is held open for its job before answering 504. */
  waitSeconds: number;
  /** Store check and bearer auth, run here so their errors come out in OpenAI's shape. */
  guards: RequestHandler[];
  /** A request held for its job counts against the stream caps, like any long-poll. */
  streams: StreamSlots;
}

/** Everything under these answers in OpenAI's error shape, an unknown route included. */
const PATHS = ["/v1/images", "/v1/models"];

/**
 * The OpenAI-compatible facade: the Images API's generations and edits, queued as ordinary jobs
 * (auth, limits and fair share apply) while the connection waits for the result.
 */
export function openaiImagesRouter(opts: OpenAIImagesOptions): Router {
  const router = Router();
  const baseUrl = (req: Request) => opts.publicUrl ?? `${req.protocol}://${req.get("host")}`;
  const principalOf = (res: Response) => res.locals.principal as Principal;

  router.use(PATHS, (_req, res, next) => {
    useOpenAIErrors(res);
    next();
  });
  router.use(PATHS, ...opts.guards);

  const json = express.json({ limit: opts.maxJsonBytes, strict: true });
  const upload = imageUpload(opts.maxUploadBytes, ["image", "image[]", "mask"]);
  const requireType = (type: string, hint: string) => (req: Request, _res: Response, next: NextFunction) =>
    next(req.is(type) ? undefined : new GatewayError("unsupported_media_type", hint));

  const answer = async (req: Request, res: Response, submit: () => Promise<Submitted>) => {
    // The slot is taken before the job is created, so a refusal (429/503) created nothing and an
    // OpenAI client may retry it.
    const held = prefersAsync(req.get("prefer")) ? null : opts.streams.hold(res, principalOf(res).id, "wait");
    const { view, created } = await submit();
    if (created) opts.metrics.jobsSubmitted.inc({ kind: view.kind });
    res.set("X-Job-Id", view.id);
    if (!held) {
      res.set("Preference-Applied", "respond-async");
      return res
        .status(created ? 202 : 200)
        .location(`/v1/jobs/${view.id}`)
        .json(view);
    }
    const principal = principalOf(res);
    const last = await waitForFinish(
      opts.events,
      view,
      () => opts.jobs.getView(principal, view.id, baseUrl(req)),
      opts.waitSeconds,
      held.signal,
    );
    // The client left: the job carries on and stays readable through the native API.
    if (held.closed && !isFinished(last)) return;
    if (!isFinished(last)) {
      throw new GatewayError(
        "job_wait_timeout",
        `job ${last.id} is still ${last.status} after ${opts.waitSeconds} s; it keeps its place, fetch it with GET /v1/jobs/${last.id}`,
        { job_id: last.id },
      );
    }
    if (last.status !== "succeeded") throw jobFailure(last);
    res.json(await imagesResponse(last, (i) => opts.jobs.imageBytes(principal, last.id, i)));
  };

  const submitOptions = (req: Request, res: Response) => ({
    principal: principalOf(res),
    baseUrl: baseUrl(req),
    idempotencyKey: req.get("idempotency-key"),
  });

  router.post(
    "/v1/images/generations",
    requireType("application/json", "send the request as application/json"),
    json,
    async (req, res) => {
      await answer(req, res, () =>
        opts.jobs.submitGenerate(nativeParams(req.body, "generate"), submitOptions(req, res)),
      );
    },
  );

  router.post(
    "/v1/images/edits",
    requireType("multipart/form-data", "send the request as multipart/form-data with the image file"),
    upload,
    async (req, res) => {
      const fields = nativeParams({ ...(req.body ?? {}) }, "edit");
      await answer(req, res, () => opts.jobs.submitEdit(fields, req.file, submitOptions(req, res)));
    },
  );

  router.get("/v1/models", async (_req, res) => {
    res.json({ object: "list", data: listModels(await readUpstreamStates(opts.redis, opts.prefix)) });
  });

  // OpenAI's `models.retrieve(id)`: the entry `GET /v1/models` lists, or OpenAI's 404 for a model no
  // upstream serves.
  router.get("/v1/models/:id", async (req, res) => {
    const id = req.params.id;
    const model = listModels(await readUpstreamStates(opts.redis, opts.prefix)).find((m) => m.id === id);
    if (!model) {
      throw new GatewayError("model_not_found", `the model ${JSON.stringify(id)} does not exist`, {
        param: "model",
      });
    }
    res.json(model);
  });

  router.use(PATHS, (req: Request) => {
    throw new GatewayError("not_found", `no route for ${req.method} ${req.originalUrl.split("?")[0]}`);
  });

  // Once a job exists, an OpenAI client must not retry on its own: that would queue the work twice.
  // 429 and 503 are refusals that created nothing, so those stay retryable.
  router.use(PATHS, (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const status = (err as { status?: number }).status;
    if (status !== 429 && status !== 503) res.set("x-should-retry", "false");
    next(err);
  });

  return router;
}
