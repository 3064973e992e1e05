import type { Express, NextFunction, Request, Response } from "express";
import type { Logger } from "pino";
import { mountAdminRoutes } from "../admin-routes";
import { createBaseApp } from "../base-app";
import type { SimulatedGpu } from "../gpu";
import { mountAsyncRoutes } from "./async-routes";
import { RequestValidationError } from "./fastapi-body";
import { parseGeneration, rawBody } from "./generation-request";
import { ImageWork, roundedSize } from "./image-work";
import { JobRunner } from "./job-runner";
import { OutputFiles } from "./outputs";
import { modelIds, Pipelines } from "./pipelines";
import { allowedMethods, openApiDocument } from "./route-table";

export interface ReferenceAppOptions {
  t2iLoadMs: number;
  editLoadMs: number;
  baseMs: number;
  msPerStepMegapixel: number;
  logger: Logger;
  /** The origin result URLs are built on, e.g. `http://zimage-gpu.invalid:8003` (read per URL). */
  publicHost: () => string;
}

/**
 * The reference profile: the public reference server (shared/zimage-api.md, "The public reference
 * server: what it actually does") as a gateway deployed in front of it meets it.
 */
export function createReferenceApp(gpu: SimulatedGpu, opts: ReferenceAppOptions): Express {
  const app = createBaseApp(opts.logger);
  const pipelines = new Pipelines(gpu, { t2i: opts.t2iLoadMs, edit: opts.editLoadMs });
  const outputs = new OutputFiles(opts.publicHost);
  const runner = new JobRunner(gpu, new ImageWork(gpu, pipelines, outputs, opts));

  app.post("/v1/images/generations", rawBody, async (req, res) => {
    const job = parseGeneration(req);
    const { width, height } = roundedSize(job.size);
    const rec = gpu.record(req.path, job.prompt, `${width}x${height}`);
    await runner.sync(req, res, rec, job);
  });
  app.get("/v1/images/generations", (_req, res) => {
    res.json({
      error: "Method not allowed. Use POST to generate.",
      hint: `If you are checking status, the server is currently ${gpu.busy ? "GENERATING" : "IDLE"}`,
      is_generating: gpu.busy,
    });
  });
  mountAsyncRoutes(app, gpu, runner);

  app.get("/outputs/:filename", (req, res) => {
    const name = req.params.filename;
    if (name.includes("/") || name.includes("\\") || name === "..")
      return res.status(403).json({ detail: "Forbidden" });
    const png = outputs.get(name);
    if (!png) return res.status(404).json({ detail: "File not found" });
    res.type("image/png").send(png);
  });

  const loaded = () => ({ t2i_loaded: pipelines.isLoaded("t2i"), edit_loaded: pipelines.isLoaded("edit") });
  app.get("/health", (_req, res) => {
    res.json({ status: "ok", t2i_model: modelIds.t2i, edit_model: modelIds.edit, ...loaded() });
  });
  // `generating` from the moment a job holds the lock, model load included, to its end.
  app.get("/v1/internal/status", (_req, res) => {
    res.json({ status: gpu.busy ? "generating" : "idle", ...loaded() });
  });
  app.get("/v1/models", (_req, res) => {
    const created = Math.floor(Date.now() / 1000);
    const model = (id: string, capability: string) => ({
      id,
      object: "model",
      created,
      owned_by: "zai-org",
      capabilities: [capability],
    });
    res.json({
      object: "list",
      data: [model(modelIds.t2i, "text-to-image"), model(modelIds.edit, "image-to-image")],
    });
  });
  // Not behind the GPU lock: a job being processed keeps its pipeline and finishes.
  const unload = (req: Request, res: Response) => {
    runner.recordInstant(req.path);
    pipelines.unload();
    res.json({ status: "models unloaded" });
  };
  app.get("/v1/internal/unload", unload);
  app.post("/v1/internal/unload", unload);
  app.get("/openapi.json", (_req, res) => {
    res.json(openApiDocument());
  });

  mountAdminRoutes(app, gpu);

  // Starlette's answers for an unknown path and for a known path with the wrong method.
  app.use((req, res) => {
    const allow = allowedMethods(req.path);
    if (allow.length === 0) return res.status(404).json({ detail: "Not Found" });
    res.status(405).set("allow", allow.join(", ")).json({ detail: "Method Not Allowed" });
  });
  app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof RequestValidationError) return res.status(422).json({ detail: err.issues });
    if (err.status && err.status < 500) return res.status(err.status).json({ detail: err.message });
    res.status(500).type("text/plain").send("Internal Server Error");
  });
  return app;
}
