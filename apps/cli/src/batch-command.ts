import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, extname, join, resolve } from "node:path";
import { type BatchJobParams, ZImageApiError, type ZImageGateway } from "@zimage/sdk";
import { describeRefusal, imageFileName, parseBatchFile } from "./batch-file";
import { BatchProgress } from "./batch-progress";
import { EXIT, UsageError } from "./exit-codes";
import { type JobFlags, jobParams } from "./job-commands";

/** Kept in the output directory: which batch it holds, so a re-run resumes instead of resubmitting. */
export const STATE_FILE = ".zimage-batch.json";

interface BatchState {
  batch_id: string;
  /** sha256 of the batch file: a different file in the same directory is refused, not mixed in. */
  file_sha256: string;
  /** The jobs in file order: job i's images are saved under number i + 1. */
  job_ids: string[];
}

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

async function readState(dir: string): Promise<BatchState | null> {
  const raw = await readFile(join(dir, STATE_FILE), "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return null;
    throw err;
  });
  return raw === null ? null : (JSON.parse(raw) as BatchState);
}

/** Written whole or not at all: a half-written state file would lose the batch id. */
async function writeState(dir: string, state: BatchState): Promise<void> {
  const tmp = join(dir, `${STATE_FILE}.tmp`);
  await writeFile(tmp, `${JSON.stringify(state)}\n`);
  await rename(tmp, join(dir, STATE_FILE));
}

/** Whether `path` already holds exactly these bytes (a finished download of an earlier run). */
async function alreadySaved(path: string, expected: string): Promise<boolean> {
  const data = await readFile(path).catch(() => null);
  return data !== null && sha256(data) === expected;
}

/**
 * `zimage batch FILE`: submits the file's jobs as one batch (or resumes the batch recorded in the
 * output directory), shows a progress bar of the counts until every job has ended, then saves each
 * succeeded job's images as 001.png, 002.png, … (in file order), skipping any already saved with the
 * right sha256. Interrupted or re-run, it downloads only what is missing.
 */
export async function runBatch(
  client: ZImageGateway,
  positionals: string[],
  flags: JobFlags,
): Promise<number> {
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) throw new UsageError("usage: zimage batch FILE [options]");
  const text = await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
  });
  const dir = resolve(flags.output ?? `${basename(file, extname(file))}-images`);
  await mkdir(dir, { recursive: true });
  const fileSha = sha256(text);
  let state = await readState(dir);
  if (state && state.file_sha256 !== fileSha) {
    throw new UsageError(
      `${dir} holds batch ${state.batch_id} of another file; choose another --output or delete ${STATE_FILE} there`,
    );
  }
  if (!state) {
    const { prompt: _prompt, ...shared } = jobParams("", flags) as BatchJobParams;
    const { params, lines } = parseBatchFile(text, shared);
    const created = await client.batches
      .create(params, {
        // The same file into the same directory is the same batch, even if the state file was never written.
        idempotencyKey: `zimage-batch-${sha256(`${fileSha}\n${dir}`)}`,
      })
      .catch((err: unknown) => {
        const where = err instanceof ZImageApiError ? describeRefusal(err.details, lines) : null;
        // The SDK's message lists the issues by index; said again by line of the file instead.
        if (where) (err as Error).message = `${(err as Error).message.split(": ")[0]}: ${where}`;
        throw err;
      });
    state = { batch_id: created.id, file_sha256: fileSha, job_ids: created.job_ids };
    await writeState(dir, state);
  }
  if (flags["no-wait"]) {
    process.stdout.write(
      flags.json ? `${JSON.stringify({ id: state.batch_id, dir })}\n` : `${state.batch_id}\n`,
    );
    return EXIT.ok;
  }
  const progress = flags.json ? undefined : new BatchProgress();
  let batch: Awaited<ReturnType<typeof client.batches.waitFor>>;
  try {
    batch = await client.batches.waitFor(state.batch_id, {
      intervalMs: 1_000,
      onProgress: (b) => progress?.update(b),
    });
  } finally {
    progress?.done();
  }
  const saved: string[] = [];
  let skipped = 0;
  const order = new Map(state.job_ids.map((id, i) => [id, i]));
  for await (const job of client.batches.jobs(state.batch_id)) {
    const index = order.get(job.id);
    const images = index === undefined ? [] : (job.result?.images ?? []);
    for (let i = 0; i < images.length; i++) {
      const path = join(dir, imageFileName(index!, i, images.length, state.job_ids.length));
      if (await alreadySaved(path, images[i]!.sha256)) {
        skipped++;
        continue;
      }
      const bytes = await client.download(job.id, i);
      await writeFile(`${path}.part`, bytes);
      await rename(`${path}.part`, path);
      saved.push(path);
    }
  }
  const { succeeded, failed, canceled, total } = batch.counts;
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ id: batch.id, status: batch.status, counts: batch.counts, dir, saved, skipped })}\n`,
    );
  } else {
    for (const f of saved) process.stdout.write(`${f}\n`);
    process.stderr.write(
      `batch ${batch.id} ${batch.status}: ${succeeded}/${total} succeeded; ${saved.length} images saved, ${skipped} already there, in ${dir}\n`,
    );
  }
  return failed + canceled > 0 || batch.status === "canceled" ? EXIT.jobFailed : EXIT.ok;
}
