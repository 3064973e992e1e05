import { randomBytes } from "node:crypto";
import { startSimulator } from "@zimage/zimage-sim";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { SideResult } from "./economy-report";
import { type GpuProfile, replay, type SubmitEnd, sideResult, simOptions, within } from "./economy-sim";
import type { TraceJob } from "./economy-trace";
import { sleep } from "./gateway";

interface FifoJobData {
  index: number;
  prompt: string;
  size: string;
  steps: number | null;
  /** Edits: the input PNG, base64. */
  image?: string;
}

/**
 * The baseline a team would write by hand: one BullMQ queue, one worker with concurrency 1, each job
 * forwarded as it comes to the reference server (text-to-image: `POST /v1/images/generations`; edit:
 * `POST /v1/images/async_edit`, then polling the task), then the image fetched from `/outputs/`.
 */
async function forward(simUrl: string, data: FifoJobData, pollMs: number): Promise<void> {
  let url: string;
  if (data.image === undefined) {
    const res = await fetch(`${simUrl}/v1/images/generations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        prompt: data.prompt,
        size: data.size,
        n: 1,
        num_inference_steps: data.steps,
        response_format: "url",
      }),
    });
    if (!res.ok) throw new Error(`generations answered ${res.status}: ${await res.text()}`);
    url = ((await res.json()) as { data: Array<{ url: string }> }).data[0]!.url;
  } else {
    const form = new FormData();
    form.append("prompt", data.prompt);
    form.append("image", new Blob([Buffer.from(data.image, "base64")], { type: "image/png" }), "input.png");
    const res = await fetch(`${simUrl}/v1/images/async_edit`, { method: "POST", body: form });
    if (!res.ok) throw new Error(`async_edit answered ${res.status}: ${await res.text()}`);
    const { task_id } = (await res.json()) as { task_id: string };
    for (;;) {
      await sleep(pollMs);
      const task = (await (await fetch(`${simUrl}/v1/images/tasks/${task_id}`)).json()) as {
        status: string;
        data?: Array<{ url: string }>;
        error?: string;
      };
      if (task.status === "processing") continue;
      if (task.status !== "completed") throw new Error(`edit task failed: ${task.error}`);
      url = task.data![0]!.url;
      break;
    }
  }
  // The server names a host of its own guessing: keep the path, use the address we reached it on.
  const named = new URL(url);
  const image = await fetch(new URL(named.pathname + named.search, simUrl));
  if (!image.ok) throw new Error(`fetching ${named.pathname} answered ${image.status}`);
  await image.arrayBuffer();
}

/** Side (a): the trace through a plain FIFO BullMQ worker, on `redisUrl` under a prefix of its own. */
export async function runFifo(
  trace: TraceJob[],
  inputs: Map<number, Buffer>,
  gpu: GpuProfile,
  redisUrl: string,
  pollMs: number,
  timeoutMs: number,
): Promise<SideResult> {
  const sim = await startSimulator(simOptions(gpu));
  const prefix = `gpu-economy-fifo-${randomBytes(4).toString("hex")}`;
  const queueConn = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const workerConn = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue<FifoJobData>("images", { connection: queueConn, prefix });
  // Each job's end, as the worker reports it to the submitting side.
  const ends = new Map<number, (end: { at: number; error?: string }) => void>();
  const ended = trace.map(
    (job) =>
      new Promise<{ at: number; error?: string }>((resolve) => {
        ends.set(job.index, resolve);
      }),
  );
  const worker = new Worker<FifoJobData>(
    "images",
    async (job) => {
      try {
        await forward(sim.url, job.data, pollMs);
        ends.get(job.data.index)?.({ at: Date.now() });
      } catch (err) {
        ends.get(job.data.index)?.({ at: Date.now(), error: (err as Error).message });
        throw err;
      }
    },
    { connection: workerConn, prefix, concurrency: 1 },
  );
  try {
    const outcomes = await replay(trace, async (job, submittedAt): Promise<SubmitEnd> => {
      const size = `${job.width}x${job.height}`;
      await queue.add(job.kind, {
        index: job.index,
        prompt: job.prompt,
        size,
        steps: job.steps,
        ...(job.kind === "edit" && { image: inputs.get(job.index)!.toString("base64") }),
      });
      const d = await within(ended[job.index]!, submittedAt + timeoutMs - Date.now());
      return {
        completedAt: d ? d.at : null,
        ok: d !== undefined && d.error === undefined,
        ...((!d || d.error) && { error: d?.error ?? "timed out" }),
      };
    });
    return sideResult("FIFO", trace, outcomes, sim, gpu);
  } finally {
    await worker.close(true);
    await queue.obliterate({ force: true });
    await queue.close();
    queueConn.disconnect();
    workerConn.disconnect();
    await sim.close();
  }
}
