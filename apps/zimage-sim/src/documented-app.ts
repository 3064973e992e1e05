import { randomUUID } from "node:crypto";
import express, { type Express, type Request, type Response } from "express";
import multer from "multer";
import type { Logger } from "pino";
import { z } from "zod";
import { mountAdminRoutes } from "./admin-routes";
import { createBaseApp } from "./base-app";
import { preciseNow, type SimulatedGpu } from "./gpu";
import { renderImage } from "./image-renderer";
import { decodeInputImage } from "./input-image";
import type { SimulatorOptions } from "./simulator";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const size = z
  .string()
  .regex(/^\d{1,5}x\d{1,5}$/, "size must be WIDTHxHEIGHT")
  .refine((s) => s.split("x").every((v) => Number(v) % 32 === 0), "width and height must be divisible by 32")
  .refine(
    (s) => s.split("x").every((v) => Number(v) >= 64 && Number(v) <= 2048),
    "width and height must be 64..2048",
  );

const common = {
  prompt: z.string().min(1),
  negative_prompt: z.string().optional(),
  n: z.number().int().min(1).max(4).default(1),
  num_inference_steps: z.number().int().min(1).max(200).default(50),
  cfg_normalization: z.boolean().default(false),
  seed: z.number().int().min(0).optional(),
};
// Unknown fields are ignored, as a pydantic model would.
const generationSchema = z.object({
  ...common,
  size: size.default("1024x1024"),
  response_format: z.enum(["b64_json", "url"]).default("b64_json"),
  guidance_scale: z.number().default(4.0),
});
const num = (v: z.ZodNumber) =>
  z.preprocess((x) => (typeof x === "string" && x.trim() !== "" ? Number(x) : x), v);
const editSchema = z.object({
  prompt: z.string().min(1),
  negative_prompt: z.string().optional(),
  n: num(z.number().int().min(1).max(4)).default(1),
  num_inference_steps: num(z.number().int().min(1).max(200)).default(50),
  guidance_scale: num(z.number()).default(1.5),
  seed: num(z.number().int().min(0)).optional(),
  size: size.optional(),
  response_format: z.enum(["b64_json", "url"]).default("url"),
});

type ImageJob = {
  prompt: string;
  negativePrompt?: string | undefined;
  width: number;
  height: number;
  n: number;
  steps: number;
  guidance: number;
  seed?: number | undefined;
  responseFormat: "b64_json" | "url";
  inputSha256?: string | undefined;
};

function toImageJob(
  b: Pick<
    z.infer<typeof generationSchema>,
    "prompt" | "negative_prompt" | "n" | "num_inference_steps" | "guidance_scale" | "seed" | "response_format"
  >,
  size: string,
): ImageJob {
  const [width, height] = size.split("x").map(Number) as [number, number];
  return {
    prompt: b.prompt,
    negativePrompt: b.negative_prompt,
    width,
    height,
    n: b.n,
    steps: b.num_inference_steps,
    guidance: b.guidance_scale,
    seed: b.seed,
    responseFormat: b.response_format,
  };
}

/** The documented profile: the server as shared/zimage-api.md's API notes describe it. */
export function createDocumentedApp(
  gpu: SimulatedGpu,
  opts: Required<Pick<SimulatorOptions, "loadMs" | "baseMs" | "msPerStepMegapixel">> & { logger: Logger },
): Express {
  const app = createBaseApp(opts.logger);
  const files = new Map<string, Buffer>();
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: 20 * 1024 * 1024, files: 1 },
  }).single("image");

  const detail = (res: Response, status: number, message: unknown) =>
    res.status(status).json({ detail: message });
  // Pydantic's answer to a bad field, as FastAPI gives it.
  const unprocessable = (res: Response, error: z.ZodError) =>
    detail(
      res,
      422,
      error.issues.map((i) => ({ loc: ["body", ...i.path], msg: i.message, type: "value_error" })),
    );

  async function runImageJob(req: Request, res: Response, job: ImageJob): Promise<void> {
    const rec = gpu.record(req.path, job.prompt, `${job.width}x${job.height}`);
    await gpu.exclusive(async () => {
      rec.startedAt = preciseNow();
      try {
        const f = gpu.faults;
        if (f.latencyMs > 0) await sleep(f.latencyMs);
        if (f.dropConnections > 0) {
          f.dropConnections--;
          rec.status = "dropped";
          req.socket.destroy();
          return;
        }
        if (f.failNext) {
          const { status, body } = f.failNext;
          f.failNext = null;
          rec.status = status;
          res.status(status).json(body);
          return;
        }
        if (!gpu.modelLoaded) {
          gpu.loading = true;
          await sleep(opts.loadMs);
          gpu.loading = false;
          if (f.loadFailures > 0) {
            f.loadFailures--;
            rec.status = 500;
            detail(res, 500, "Model loading failed: simulated failure while loading weights");
            return;
          }
          gpu.modelLoaded = true;
          gpu.loads++;
        }
        const pixels = job.width * job.height;
        if (f.oomAbovePixels !== null && pixels > f.oomAbovePixels) {
          rec.status = 500;
          detail(
            res,
            500,
            `CUDA out of memory. Tried to allocate ${((pixels * 64) / 2 ** 30).toFixed(2)} GiB (simulated)`,
          );
          return;
        }
        await sleep(opts.baseMs + (opts.msPerStepMegapixel * job.steps * pixels * job.n) / 1_000_000);
        const data = [];
        for (let index = 0; index < job.n; index++) {
          const png = renderImage({ ...job, index });
          const revised_prompt = job.prompt.trim();
          if (job.responseFormat === "b64_json") {
            data.push({ b64_json: png.toString("base64"), revised_prompt });
          } else {
            const id = randomUUID();
            files.set(id, png);
            // Bounded: the oldest files go first, as a real server's temp dir would be cleaned.
            if (files.size > 200) files.delete(files.keys().next().value!);
            data.push({ url: `http://${req.headers.host}/v1/files/${id}.png`, revised_prompt });
          }
        }
        rec.status = 200;
        res.json({ created: Math.floor(Date.now() / 1000), data });
      } finally {
        rec.finishedAt = preciseNow();
      }
    });
  }

  app.post("/v1/images/generations", express.json({ limit: "1mb" }), async (req, res) => {
    const parsed = generationSchema.safeParse(req.body);
    if (!parsed.success) {
      return unprocessable(res, parsed.error);
    }
    await runImageJob(req, res, toImageJob(parsed.data, parsed.data.size));
  });

  app.post("/v1/images/edits", (req, res, next) => {
    upload(req, res, (err: unknown) =>
      err ? detail(res, 400, `invalid multipart body: ${(err as Error).message}`) : next(),
    );
  });
  app.post("/v1/images/edits", async (req, res) => {
    if (!req.file) return detail(res, 400, "image file is required");
    let input: ReturnType<typeof decodeInputImage>;
    try {
      input = decodeInputImage(req.file.buffer);
    } catch (err) {
      return detail(res, 400, `invalid image: ${(err as Error).message}`);
    }
    const parsed = editSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      return unprocessable(res, parsed.error);
    }
    const size = parsed.data.size ?? `${input.width}x${input.height}`;
    await runImageJob(req, res, { ...toImageJob(parsed.data, size), inputSha256: input.sha256 });
  });

  app.get("/v1/files/:name", (req, res) => {
    const png = files.get(req.params.name.replace(/\.png$/, ""));
    if (!png) return detail(res, 404, "file not found");
    res.type("image/png").send(png);
  });

  app.get("/health", (_req, res) => {
    res.json({ status: "ok", model_loaded: gpu.modelLoaded, model: "Z-Image-Turbo", device: "simulated" });
  });

  app.get("/v1/internal/status", (_req, res) => {
    res.json(gpu.busy ? { status: "generating" } : { status: "idle", model_loaded: gpu.modelLoaded });
  });

  app.get("/v1/models", (_req, res) => {
    res.json({
      object: "list",
      data: [
        {
          id: "z-image-turbo",
          object: "model",
          owned_by: "zimage",
          capabilities: {
            generations: true,
            edits: true,
            max_size: "2048x2048",
            response_formats: ["b64_json", "url"],
          },
        },
      ],
    });
  });

  // The real server frees VRAM at once; a request being processed keeps its own reference and
  // finishes, and the next request loads the model again.
  const unload = (req: Request, res: Response) => {
    const rec = gpu.record(req.path);
    gpu.unload();
    rec.startedAt = rec.finishedAt = preciseNow();
    rec.status = 200;
    res.json({ status: "unloaded" });
  };
  app.get("/v1/internal/unload", unload);
  app.post("/v1/internal/unload", unload);

  mountAdminRoutes(app, gpu);

  app.use((req, res) => detail(res, 404, `Not Found: ${req.method} ${req.path}`));
  app.use(
    (err: Error & { type?: string; status?: number }, _req: Request, res: Response, _next: () => void) => {
      detail(res, err.status && err.status < 500 ? err.status : 500, err.message);
    },
  );
  return app;
}
