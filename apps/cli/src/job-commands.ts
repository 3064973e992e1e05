import { readFile, writeFile } from "node:fs/promises";
import { extname } from "node:path";
import type { EditParams, Job, ZImageGateway } from "@zimage/sdk";
import { EXIT, UsageError } from "./exit-codes";
import { ProgressLine } from "./progress";

export interface JobFlags {
  size?: string | undefined;
  n?: string | undefined;
  steps?: string | undefined;
  guidance?: string | undefined;
  negative?: string | undefined;
  seed?: string | undefined;
  priority?: string | undefined;
  "cancel-after"?: string | undefined;
  output?: string | undefined;
  "no-wait"?: boolean | undefined;
  json?: boolean | undefined;
}

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n))
    throw new UsageError(`--${flag} must be a number, got "${value}"`);
  return n;
}

export function jobParams(prompt: string, f: JobFlags): EditParams {
  const p: EditParams = { prompt };
  const set = <K extends keyof EditParams>(k: K, v: EditParams[K] | undefined) => {
    if (v !== undefined) p[k] = v;
  };
  set("size", f.size);
  set("n", number("n", f.n));
  set("num_inference_steps", number("steps", f.steps));
  set("guidance_scale", number("guidance", f.guidance));
  set("negative_prompt", f.negative);
  set("seed", number("seed", f.seed));
  if (f.priority !== undefined && f.priority !== "interactive" && f.priority !== "batch")
    throw new UsageError(`--priority must be interactive or batch, got "${f.priority}"`);
  set("priority", f.priority);
  // Seconds (a number) or an ISO 8601 timestamp, passed as given; the gateway checks the range.
  const after = f["cancel-after"];
  set("cancel_after", after !== undefined && /^\d+(\.\d+)?$/.test(after) ? Number(after) : after);
  return p;
}

/** Where image `i` of `count` goes: the -o name, numbered when there are several. */
export function outputPath(job: Job, i: number, count: number, output: string | undefined): string {
  const base = output ?? `${job.id}.png`;
  if (count === 1) return base;
  const ext = extname(base) || ".png";
  return `${base.slice(0, base.length - extname(base).length)}-${i + 1}${ext}`;
}

/** Submits, follows the job with a live progress line, saves its images; returns the exit code. */
export async function runJob(
  client: ZImageGateway,
  kind: "generate" | "edit",
  positionals: string[],
  flags: JobFlags,
): Promise<number> {
  let job: Job;
  if (kind === "generate") {
    const [prompt, ...extra] = positionals;
    if (!prompt || extra.length > 0) throw new UsageError('usage: zimage generate "PROMPT" [options]');
    job = await client.generate(jobParams(prompt, flags));
  } else {
    const [file, prompt, ...extra] = positionals;
    if (!file || !prompt || extra.length > 0)
      throw new UsageError('usage: zimage edit IMAGE "PROMPT" [options]');
    const image = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${file}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
    });
    job = await client.edit(
      { image, filename: file.split(/[\\/]/).pop() ?? "input.png" },
      jobParams(prompt, flags),
    );
  }
  if (flags["no-wait"]) {
    process.stdout.write(flags.json ? `${JSON.stringify(job)}\n` : `${job.id}\n`);
    return EXIT.ok;
  }
  const progress = flags.json ? undefined : new ProgressLine();
  progress?.update(job);
  try {
    for await (const view of client.events(job.id)) {
      job = view;
      progress?.update(view);
    }
  } finally {
    progress?.done();
  }
  if (job.status !== "succeeded") {
    if (flags.json) process.stdout.write(`${JSON.stringify(job)}\n`);
    else process.stderr.write(`job ${job.id} ${job.status}: ${job.error?.message ?? "no reason given"}\n`);
    return EXIT.jobFailed;
  }
  const images = job.result?.images ?? [];
  const files: string[] = [];
  for (let i = 0; i < images.length; i++) {
    const path = outputPath(job, i, images.length, flags.output);
    await writeFile(path, await client.download(job.id, i));
    files.push(path);
  }
  if (flags.json) process.stdout.write(`${JSON.stringify({ ...job, files })}\n`);
  else for (const f of files) process.stdout.write(`${f}\n`);
  return EXIT.ok;
}
