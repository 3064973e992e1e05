import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { pngSize } from "@zimage/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** `zimage batch FILE` run as a subprocess against a real api, worker and simulator. */
const root = resolve(import.meta.dirname, "../../..");
const ADMIN = "admin-key-for-the-cli-batch-tests-0123456789";
let cluster: Cluster;
let key: string;
let dir: string;

beforeAll(async () => {
  cluster = await startCluster({ sim: { loadMs: 0, baseMs: 100 }, env: { ADMIN_API_KEY: ADMIN } });
  key = await cluster.createKey("cli-batcher");
  dir = await mkdtemp(join(tmpdir(), "zimage-cli-batch-"));
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function zimage(args: string[]) {
  const bin = resolve(root, "apps/cli/bin/zimage.mjs");
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { ...process.env, ZIMAGE_GATEWAY_URL: cluster.apiUrl, ZIMAGE_API_KEY: key },
      timeout: 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const batches = async () =>
  ((await (await cluster.request("GET", "/v1/batches", { key })).json()) as { data: unknown[] }).data.length;

describe("zimage batch", () => {
  it("submits one prompt a line, shows progress, saves the images; a re-run downloads nothing new", async () => {
    await writeFile(join(dir, "prompts.txt"), "a lighthouse\n\na kite\na teapot\n");
    const first = await zimage(["batch", "prompts.txt", "--size", "160x128", "--steps", "2"]);
    expect(first.code, first.stderr).toBe(0);
    const out = join(dir, "prompts-images");
    expect((await readdir(out)).sort()).toEqual([".zimage-batch.json", "001.png", "002.png", "003.png"]);
    expect(first.stdout.trim().split("\n")).toEqual(
      ["001.png", "002.png", "003.png"].map((f) => join(out, f)),
    );
    expect(first.stderr).toMatch(/\[#{24}\] 3\/3 done/); // the progress bar's last line
    expect(first.stderr).toContain("3 images saved, 0 already there");
    expect(pngSize(await readFile(join(out, "002.png")))).toEqual({ width: 160, height: 128 });
    const state = JSON.parse(await readFile(join(out, ".zimage-batch.json"), "utf8"));
    expect(state.batch_id).toMatch(/^batch_/);
    expect(state.job_ids).toHaveLength(3);
    const before = await Promise.all(["001.png", "002.png", "003.png"].map((f) => readFile(join(out, f))));

    const again = await zimage(["batch", "prompts.txt", "--size", "160x128", "--steps", "2"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe("");
    expect(again.stderr).toContain("0 images saved, 3 already there");
    expect(await batches()).toBe(1); // resumed, not resubmitted

    // A damaged file is fetched again, and only that one.
    await writeFile(join(out, "002.png"), "truncated");
    const repair = await zimage(["batch", "prompts.txt", "--size", "160x128", "--steps", "2"]);
    expect(repair.stdout.trim()).toBe(join(out, "002.png"));
    expect(sha(await readFile(join(out, "002.png")))).toBe(sha(before[1]!));
  });

  it("takes JSONL job requests, with options as defaults, and refuses a bad line", async () => {
    await writeFile(
      join(dir, "jobs.jsonl"),
      `${JSON.stringify({ prompt: "wide", size: "256x128" })}\n${JSON.stringify({ prompt: "default size", n: 2 })}\n`,
    );
    const run = await zimage([
      "batch",
      "jobs.jsonl",
      "--size",
      "128x128",
      "--steps",
      "2",
      "-o",
      "out",
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ status: "completed", counts: { total: 2, succeeded: 2 }, skipped: 0 });
    expect((await readdir(join(dir, "out"))).sort()).toEqual([
      ".zimage-batch.json",
      "001.png",
      "002-1.png",
      "002-2.png",
    ]);
    expect(pngSize(await readFile(join(dir, "out", "001.png")))).toEqual({ width: 256, height: 128 });
    expect(pngSize(await readFile(join(dir, "out", "002-2.png")))).toEqual({ width: 128, height: 128 });

    await writeFile(join(dir, "bad.jsonl"), '{"prompt": "ok"}\n{"prompt": "x", "size": "7x7"}\n');
    const bad = await zimage(["batch", "bad.jsonl"]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain(
      "the request body is invalid: line 2: size: each side must be between 128 and 2048 pixels",
    );
  });
});
