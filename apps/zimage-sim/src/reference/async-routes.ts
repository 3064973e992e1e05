import type { Express, NextFunction, Request, Response } from "express";
import multer from "multer";
import type { SimulatedGpu } from "../gpu";
import { RequestValidationError, type ValidationIssue } from "./fastapi-body";
import { parseGeneration, rawBody } from "./generation-request";
import { type EditJob, roundedSize, type TextToImageJob } from "./image-work";
import type { JobOutcome, JobRunner } from "./job-runner";
import { TaskStore } from "./tasks";

type Job = TextToImageJob | EditJob;

const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: 50 * 1024 * 1024 } }).any();

// FastAPI reads `image: UploadFile = File(...)` and `prompt: str = Form(...)`; an empty form
// value counts as absent, and every other field is ignored.
function editFields(req: Request): { image: Buffer; prompt: string } {
  const image = (req.files as Express.Multer.File[] | undefined)?.find((f) => f.fieldname === "image");
  const prompt = (req.body as Record<string, unknown> | undefined)?.prompt;
  const issues: ValidationIssue[] = [];
  if (!image) issues.push({ type: "missing", loc: ["body", "image"], msg: "Field required", input: null });
  if (typeof prompt !== "string" || prompt === "")
    issues.push({ type: "missing", loc: ["body", "prompt"], msg: "Field required", input: null });
  if (issues.length > 0) throw new RequestValidationError(issues);
  return { image: image!.buffer, prompt: prompt as string };
}

/** `async_generate`, `async_edit` and `tasks/{task_id}`: jobs answered at once, polled later. */
export function mountAsyncRoutes(app: Express, gpu: SimulatedGpu, runner: JobRunner): void {
  const tasks = new TaskStore();
  const start = (req: Request, res: Response, job: Job, size: string | null, firstOnly = false) => {
    const rec = gpu.record(req.path, job.prompt, size);
    let taskId = "";
    const accept = () => {
      taskId = tasks.create();
      res.json({
        task_id: taskId,
        status: "processing",
        message: `Task queued. Poll GET /v1/images/tasks/${taskId}`,
      });
    };
    const done = (o: JobOutcome) =>
      o.ok ? tasks.complete(taskId, firstOnly ? o.data.slice(0, 1) : o.data) : tasks.fail(taskId, o.error);
    runner.submit(req, res, rec, job, accept, done);
  };

  // Keeps only the first image, whatever `n` asked for.
  app.post("/v1/images/async_generate", rawBody, (req, res) => {
    const job = parseGeneration(req);
    const { width, height } = roundedSize(job.size);
    start(req, res, job, `${width}x${height}`, true);
  });
  app.post(
    "/v1/images/async_edit",
    (req: Request, res: Response, next: NextFunction) =>
      upload(req, res, (err: unknown) =>
        err ? res.status(400).json({ detail: "There was an error parsing the body" }) : next(),
      ),
    (req, res) => {
      const { image, prompt } = editFields(req);
      start(req, res, { kind: "edit", prompt, image }, null);
    },
  );
  app.get("/v1/images/tasks/:task_id", (req, res) => {
    res.json(tasks.view(req.params.task_id));
  });
}
