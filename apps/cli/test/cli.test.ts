import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { freePort, makePng, pngSize } from "@zimage/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** `zimage` run as a subprocess, end to end, against a real api, worker and simulator. */
const root = resolve(import.meta.dirname, "../../..");
const ADMIN = "admin-key-for-the-cli-tests-0123456789abcdef";
let cluster: Cluster;
let key: string;
let dir: string;

beforeAll(async () => {
  cluster = await startCluster({ env: { ADMIN_API_KEY: ADMIN } });
  key = await cluster.createKey("cli-user");
  dir = await mkdtemp(join(tmpdir(), "zimage-cli-"));
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI the way the README does (through its bin), with the gateway in the environment. */
async function zimage(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const bin = resolve(root, "apps/cli/bin/zimage.mjs");
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { ...process.env, ZIMAGE_GATEWAY_URL: cluster.apiUrl, ZIMAGE_API_KEY: key, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("zimage CLI", () => {
  it("generate waits with a progress line and saves a PNG of the asked size", async () => {
    const run = await zimage([
      "generate",
      "a paper crane",
      "--size",
      "320x192",
      "--steps",
      "4",
      "-o",
      "crane.png",
    ]);
    expect(run.stderr).toMatch(/[0-9A-Z]{26} {2}(queued|running)/);
    expect(run.stderr).toMatch(/succeeded · \d+:\d\d/);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe("crane.png");
    expect(pngSize(await readFile(join(dir, "crane.png")))).toEqual({ width: 320, height: 192 });
  });

  it("generate --json prints the finished job with its files, and numbers several images", async () => {
    const run = await zimage(["generate", "pair", "-s", "128x128", "-n", "2", "-o", "pair.png", "--json"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    const job = JSON.parse(run.stdout) as { status: string; files: string[] };
    expect(job.status).toBe("succeeded");
    expect(job.files).toEqual(["pair-1.png", "pair-2.png"]);
    for (const f of job.files)
      expect(pngSize(await readFile(join(dir, f)))).toEqual({ width: 128, height: 128 });
  });

  it("edit uploads a file and saves the result", async () => {
    await writeFile(join(dir, "in.png"), makePng(96, 160));
    const run = await zimage(["edit", "in.png", "make it night", "-o", "night.png"]);
    expect(run.code).toBe(0);
    // Without -s the gateway fits the input's size to the bounds: 96x160 → 128x192 (issue #17).
    expect(pngSize(await readFile(join(dir, "night.png")))).toEqual({ width: 128, height: 192 });
  });

  it("jobs lists the caller's jobs; show and cancel act on one", async () => {
    const list = await zimage(["jobs", "--limit", "2"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID +KIND +STATUS +CREATED +PROMPT/);
    expect(list.stdout).toMatch(/edit +succeeded .* make it night/);
    // A slow GPU keeps the first job running, so the second is still queued when it is canceled.
    cluster.sims[0]!.setFaults({ latencyMs: 2000 });
    try {
      expect((await zimage(["generate", "keeps the GPU busy", "--no-wait"])).code).toBe(0);
      const queued = await zimage(["generate", "never mind", "--no-wait"]);
      expect(queued.code).toBe(0);
      const id = queued.stdout.trim();
      expect(id).toMatch(/^[0-9A-Z]{26}$/);
      const canceled = await zimage(["cancel", id, "--json"]);
      expect(canceled.code).toBe(0);
      expect(JSON.parse(canceled.stdout)).toMatchObject({ id, status: "canceled" });
      const shown = JSON.parse((await zimage(["show", id, "--json"])).stdout) as {
        id: string;
        status: string;
      };
      expect(shown).toMatchObject({ id, status: "canceled" });
      // Canceling twice is not an error: the job simply stays canceled.
      expect(await zimage(["cancel", id])).toMatchObject({ code: 0, stdout: `${id} canceled\n` });
    } finally {
      cluster.sims[0]!.setFaults({ latencyMs: 0 });
    }
  });

  it("keys: an admin creates, lists, limits and revokes; a user may not", async () => {
    const admin = { ZIMAGE_API_KEY: ADMIN };
    const created = await zimage(["keys", "create", "robot", "--rate", "30", "--json"], admin);
    expect(created.code).toBe(0);
    const { id, key: robotKey } = JSON.parse(created.stdout) as { id: string; key: string };
    expect(robotKey).toMatch(/^zk_/);
    expect((await zimage(["keys", "list"], admin)).stdout).toMatch(new RegExp(`${id} +robot +user`));
    const limited = await zimage(["keys", "set-limits", id, "--max-pending", "7", "--json"], admin);
    expect(JSON.parse(limited.stdout)).toMatchObject({ rate_per_minute: 30, max_pending: 7 });
    expect((await zimage(["keys", "revoke", id], admin)).code).toBe(0);
    const revoked = await zimage(["jobs"], { ZIMAGE_API_KEY: robotKey });
    expect(revoked.code).toBe(3);
    expect(revoked.stderr).toMatch(/not valid or has been revoked/);
    const notAdmin = await zimage(["keys", "list", "--json"]);
    expect(notAdmin.code).toBe(3);
    expect(JSON.parse(notAdmin.stdout)).toEqual({
      error: { code: "forbidden", message: expect.any(String) },
    });
  });

  it("usage prints your GPU usage by UTC day; keys set-limits sets and clears GPU budgets", async () => {
    const admin = { ZIMAGE_API_KEY: ADMIN };
    const mine = await zimage(["generate", "billed", "--size", "128x128", "--json"]);
    expect(mine.code).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    let report: { key: string; totals: { jobs: number; gpu_seconds: number } } | undefined;
    for (let i = 0; i < 100 && !(report && report.totals.gpu_seconds > 0); i++) {
      const run = await zimage(["usage", "--json", "--from", today]);
      expect(run.code).toBe(0);
      report = JSON.parse(run.stdout);
    }
    expect(report?.totals.jobs).toBeGreaterThanOrEqual(1);
    const text = await zimage(["usage"]);
    expect(text.stdout).toMatch(new RegExp(`^${today} +\\d+ +\\d+ +[\\d.]+ +gpu0=`, "m"));
    expect((await zimage(["usage", "all"])).code).toBe(3);
    expect((await zimage(["usage", "all", "--json"], admin)).stdout).toContain(`"key":"${report!.key}"`);
    expect((await zimage(["usage", "--from", "yesterday"])).code).toBe(2);
    const budget = await zimage(["keys", "set-limits", report!.key, "--gpu-day", "3600", "--json"], admin);
    expect(JSON.parse(budget.stdout)).toMatchObject({
      gpu_seconds_per_day: 3600,
      gpu_seconds_per_month: null,
    });
    const cleared = await zimage(["keys", "set-limits", report!.key, "--gpu-day", "none", "--json"], admin);
    expect(JSON.parse(cleared.stdout)).toMatchObject({ gpu_seconds_per_day: null });
  });

  it("exit codes tell a script what went wrong", async () => {
    const usage = await zimage(["generate"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/usage: zimage generate/);
    expect((await zimage(["frobnicate"])).code).toBe(2);
    expect((await zimage(["generate", "x", "--steps", "many"])).code).toBe(2);
    const invalid = await zimage(["generate", "x", "--size", "1000x1000"]);
    expect(invalid.code).toBe(3);
    expect(invalid.stderr).toMatch(/size: .*divisible by 32/);
    const noFile = await zimage(["edit", "missing.png", "x"]);
    expect([noFile.code, noFile.stderr]).toEqual([2, "zimage: cannot read missing.png: no such file\n"]);
    const down = await zimage(["jobs"], { ZIMAGE_GATEWAY_URL: `http://127.0.0.1:${await freePort()}` });
    expect(down.code).toBe(4);
    expect(down.stderr).toMatch(/no answer from the gateway/);
  });

  it("a job that fails on the GPU exits 1 with the reason", async () => {
    cluster.sims[0]!.setFaults({ oomAbovePixels: 200 * 200 });
    try {
      const run = await zimage(["generate", "too big", "--size", "512x512"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/failed: .*smaller size/);
    } finally {
      cluster.sims[0]!.setFaults({ oomAbovePixels: null });
    }
  });
});
