import { generateRequestSchema } from "@zimage/core";
import { Job, Queue, Worker } from "bullmq";
import express from "express";
import { Redis } from "ioredis";

/**
 * Issue #20's baseline: the gateway a team would write by hand in an afternoon, in its own process
 * like the api. It is deliberately only that: one shared bearer token, the same zod schema, one
 * BullMQ queue and one worker with concurrency 1 forwarding to the GPU. No per-user keys or limits,
 * no fair share, no idempotency, no queue positions, no image storage, no events: the gateway's
 * figures are measured against it to show what those cost.
 *
 * REDIS_URL, PREFIX (its own BullMQ prefix on the gateway's Redis), TOKEN, PORT; SIM_URL starts the
 * worker (without it jobs only queue, as in a submit burst).
 */
const token = process.env.TOKEN ?? "";
const prefix = process.env.PREFIX ?? "handwritten";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const simUrl = process.env.SIM_URL;

const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue("images", { connection, prefix });

const worker = simUrl
  ? new Worker(
      "images",
      async (job) => {
        const res = await fetch(`${simUrl}/v1/images/generations`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ ...job.data, response_format: "url" }),
        });
        if (!res.ok) throw new Error(`upstream answered ${res.status}: ${await res.text()}`);
        // The upstream's answer (image URLs) becomes the job's return value, stored by BullMQ.
        return (await res.json()) as unknown;
      },
      { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), prefix, concurrency: 1 },
    )
  : undefined;

const app = express();
// As the api and bare-server do, so the comparison is about the work per request, not headers.
app.disable("x-powered-by");
app.set("etag", false);
app.use((req, res, next) => {
  if (req.get("authorization") !== `Bearer ${token}`) {
    res.status(401).json({ error: "unauthorized" });
    return;
  }
  next();
});

app.post("/v1/jobs", express.json(), async (req, res, next) => {
  try {
    const parsed = generateRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(422).json({ error: parsed.error.issues });
      return;
    }
    const job = await queue.add("generate", parsed.data);
    res.status(202).json({ id: job.id });
  } catch (err) {
    next(err);
  }
});

app.get("/v1/jobs/:id", async (req, res, next) => {
  try {
    const job = await Job.fromId(queue, req.params.id);
    if (!job) {
      res.status(404).json({ error: "not found" });
      return;
    }
    res.json({ id: job.id, state: await job.getState(), data: job.data, result: job.returnvalue ?? null });
  } catch (err) {
    next(err);
  }
});

const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const addr = server.address();
  process.stdout.write(`handwritten listening on ${typeof addr === "object" && addr ? addr.port : 0}\n`);
});
process.on("SIGTERM", () => {
  server.close(async () => {
    await worker?.close();
    await queue.close();
    process.exit(0);
  });
});
