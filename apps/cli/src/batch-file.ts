import type { BatchCreateParams, BatchJobParams } from "@zimage/sdk";
import { UsageError } from "./exit-codes";

/**
 * A batch file for `zimage batch FILE`: JSON Lines of job requests (each line an object, as the body
 * of POST /v1/jobs), or plain text with one prompt per line. Blank lines are skipped; a file whose
 * first non-blank line starts with `{` is JSONL, and then every line must be an object.
 */
export function parseBatchFile(
  text: string,
  shared: Omit<BatchJobParams, "prompt">,
): { params: BatchCreateParams /** The file line of each job. */; lines: number[] } {
  const lines = text
    .split(/\r?\n/)
    .map((line, i) => ({ line: line.trim(), number: i + 1 }))
    .filter((l) => l.line !== "");
  if (lines.length === 0)
    throw new UsageError("the batch file has no jobs (one prompt or JSON object a line)");
  const numbers = lines.map((l) => l.number);
  if (!lines[0]!.line.startsWith("{"))
    return { params: { ...shared, prompts: lines.map((l) => l.line) }, lines: numbers };
  const jobs = lines.map(({ line, number }) => {
    let job: unknown;
    try {
      job = JSON.parse(line);
    } catch (err) {
      throw new UsageError(`line ${number} is not JSON: ${(err as Error).message}`);
    }
    if (typeof job !== "object" || job === null || Array.isArray(job))
      throw new UsageError(`line ${number} is not a JSON object`);
    // Command-line options fill in what a line leaves out.
    return { ...shared, ...(job as BatchJobParams) };
  });
  return { params: { jobs }, lines: numbers };
}

/**
 * The gateway names a bad job by its index (`jobs.17.size`, `prompts.3`); a person wants the line of
 * the file: "line 19: size: must look like …".
 */
export function describeRefusal(details: unknown, lines: number[]): string | null {
  if (!Array.isArray(details)) return null;
  const out = details.flatMap((d: { path?: unknown; message?: unknown }) => {
    if (typeof d?.path !== "string" || typeof d.message !== "string") return [];
    const m = /^(?:jobs|prompts)\.(\d+)(?:\.(.+))?$/.exec(d.path);
    if (!m) return [`${d.path}: ${d.message}`];
    const line = lines[Number(m[1])];
    return [`line ${line}: ${m[2] ? `${m[2]}: ` : ""}${d.message}`];
  });
  return out.length > 0 ? out.join("; ") : null;
}

/** File name of image `image` of job `index` (0-based) in a batch of `total`: 001.png, 001-2.png. */
export function imageFileName(index: number, image: number, images: number, total: number): string {
  const stem = String(index + 1).padStart(Math.max(3, String(total).length), "0");
  return images > 1 ? `${stem}-${image + 1}.png` : `${stem}.png`;
}
