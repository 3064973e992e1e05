import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { freePort, makePng, pngSize } from "@zimage/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMANDS } from "../src/commands";

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
  return run(process.execPath, [bin, ...args], dir, {
    ZIMAGE_GATEWAY_URL: cluster.apiUrl,
    ZIMAGE_API_KEY: key,
    ...env,
  });
}

/**
 * A subprocess in a fresh shell's environment: none of the npm_* variables or INIT_CWD that a
 * `pnpm test` run would pass down (they would make a nested `pnpm zimage` look run from elsewhere).
 */
async function run(file: string, args: string[], cwd: string, env: Record<string, string>): Promise<Run> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith("npm_") && k !== "INIT_CWD" && k !== "PNPM_SCRIPT_SRC_DIR",
    ),
  );
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, {
      cwd,
      env: { ...clean, ...env },
      timeout: 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The command lines of the README's first ```sh block after `heading`, exactly as written there. */
async function readmeLines(heading: string, prefix: string): Promise<string[]> {
  const readme = await readFile(resolve(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf(heading));
  const block = section.slice(
    section.indexOf("```sh\n") + 6,
    section.indexOf("\n```", section.indexOf("```sh")),
  );
  return block.split("\n").filter((line) => line.startsWith(prefix));
}

/** `pnpm keys` (apps/api/src/keys-cli.ts) against the cluster's Redis. */
const keysCli = (args: string[]) =>
  run(process.execPath, ["--import", "tsx", resolve(root, "apps/api/src/keys-cli.ts"), ...args], root, {
    REDIS_URL: cluster.env.REDIS_URL!,
    QUEUE_PREFIX: cluster.env.QUEUE_PREFIX ?? "",
  });

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

describe("the CLI as documented", () => {
  it("the README's CLI lines run exactly as written (through npx -y pnpm@10, from a folder inside the clone)", async () => {
    const lines = await readmeLines("### CLI (`zimage`)", "npx -y pnpm@10 zimage ");
    expect(lines.length).toBeGreaterThanOrEqual(5);
    // A folder inside the clone (pnpm finds the workspace from it) that git ignores; the README's
    // file names are relative to it.
    const cwd = resolve(root, `.data/cli-readme-${process.pid}`);
    await mkdir(cwd, { recursive: true });
    const env = { ZIMAGE_GATEWAY_URL: cluster.apiUrl, ZIMAGE_API_KEY: ADMIN };
    let blocker = "";
    try {
      for (const line of lines) {
        let command = line;
        if (line.includes("01K…")) {
          // `cancel 01K…` needs a job that can still be canceled: one queued behind a slow one.
          cluster.sims[0]!.setFaults({ latencyMs: 60_000 });
          blocker = await cluster.submit({ prompt: "keeps the GPU busy", size: "128x128" }, ADMIN);
          command = line.replace(
            "01K…",
            await cluster.submit({ prompt: "to be canceled", size: "128x128" }, ADMIN),
          );
        }
        const ran = await run("sh", ["-c", command], cwd, env);
        expect({ line, code: ran.code, stderr: ran.code === 0 ? "" : ran.stderr }).toEqual({
          line,
          code: 0,
          stderr: "",
        });
        if (command !== line) expect(ran.stdout).toMatch(/^[0-9A-Z]{26} canceled$/m);
        if (command.includes("keys create alice")) expect(ran.stdout).toMatch(/^zk_/m);
        if (command.includes("generate --help"))
          expect(ran.stdout).toContain("zimage generate: text-to-image");
      }
      expect(pngSize(await readFile(join(cwd, "crane.png")))).toEqual({ width: 1024, height: 768 });
      expect(pngSize(await readFile(join(cwd, "night.png")))).toEqual({ width: 1024, height: 768 });
    } finally {
      cluster.sims[0]!.setFaults({ latencyMs: 0 });
      // The running blocker is discarded, so the GPU is free for the next test at once.
      if (blocker) await cluster.request("POST", `/v1/jobs/${blocker}/cancel`, { key: ADMIN });
      await rm(cwd, { recursive: true, force: true });
    }
  }, 300_000);

  it("the README's `pnpm keys` lines run exactly as written, --help included", async () => {
    const lines = await readmeLines("## Authentication and limits", "npx -y pnpm@10 keys ");
    expect(lines.length).toBeGreaterThanOrEqual(5);
    const env = { REDIS_URL: cluster.env.REDIS_URL!, QUEUE_PREFIX: cluster.env.QUEUE_PREFIX! };
    let id = "";
    for (const line of lines) {
      const ran = await run("sh", ["-c", line.replaceAll("<id>", id)], root, env);
      expect({ line, code: ran.code, stderr: ran.stderr }).toEqual({ line, code: 0, stderr: "" });
      const created = /key (\S+) \(user\) created for "alice"/.exec(ran.stdout);
      if (created) id = created[1]!;
      if (line.endsWith("--help")) expect(ran.stdout).toContain("pnpm keys create NAME");
    }
    expect(id).not.toBe("");
  }, 240_000);

  it("each command has its own help: usage, options and an example, on stdout, exit 0", async () => {
    const global = await zimage(["--help"]);
    expect(global.code).toBe(0);
    const helps = new Set([global.stdout]);
    for (const { name, options } of COMMANDS) {
      const help = await zimage([name, "--help"]);
      expect({ name, code: help.code, stderr: help.stderr }).toEqual({ name, code: 0, stderr: "" });
      expect(help.stdout).toMatch(new RegExp(`^zimage ${name}: .+\\n\\nUsage:\\n  zimage ${name}`));
      expect(help.stdout).toMatch(new RegExp(`Examples?:\\n  zimage ${name} `));
      for (const option of options) expect(help.stdout).toContain(`--${option}`);
      helps.add(help.stdout);
    }
    // `NAME -h` and `help NAME` are the same as `NAME --help`.
    const generate = (await zimage(["generate", "--help"])).stdout;
    expect((await zimage(["generate", "-h"])).stdout).toBe(generate);
    expect((await zimage(["help", "generate"])).stdout).toBe(generate);
    // One global help plus one per command, all different.
    expect(helps.size).toBe(COMMANDS.length + 1);
    expect(generate).toContain("--steps N");
    expect((await zimage(["jobs", "--help"])).stdout).not.toContain("--steps");
  }, 180_000);

  it("an unknown option is named exactly, with balanced quotes, by both CLIs", async () => {
    expect(await zimage(["generate", "x", "--bogus"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "zimage: unknown option --bogus; see zimage generate --help\n",
    });
    // An option of another command is unknown to this one.
    expect(await zimage(["jobs", "--steps", "4"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "zimage: unknown option --steps; see zimage jobs --help\n",
    });
    expect(await zimage(["-x"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "zimage: unknown option -x; see zimage --help\n",
    });
    expect(await keysCli(["list", "--bogus"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "pnpm keys: unknown option --bogus; see pnpm keys --help\n",
    });
  }, 60_000);

  it("keys create takes NAME or --name NAME, the same in zimage and pnpm keys", async () => {
    const admin = { ZIMAGE_API_KEY: ADMIN };
    const names: string[] = [];
    for (const args of [
      ["create", "by-arg"],
      ["create", "--name", "by-flag"],
    ]) {
      const viaApi = await zimage(["keys", ...args, "--json"], admin);
      expect(viaApi.code).toBe(0);
      names.push((JSON.parse(viaApi.stdout) as { name: string }).name);
      const direct = await keysCli([...args, "--json"]);
      expect(direct.code).toBe(0);
      names.push((JSON.parse(direct.stdout) as { name: string }).name);
    }
    expect(names).toEqual(["by-arg", "by-arg", "by-flag", "by-flag"]);
    const two = { code: 2, stdout: "" };
    expect(await zimage(["keys", "create", "a", "--name", "b"], admin)).toEqual({
      ...two,
      stderr: 'zimage: two names given ("a" and --name "b"); give one\n',
    });
    expect(await keysCli(["create", "a", "--name", "b"])).toEqual({
      ...two,
      stderr: 'pnpm keys: two names given ("a" and --name "b"); give one; see pnpm keys --help\n',
    });
  }, 60_000);

  it("jobs lists an admin's own jobs; --all every key's, for admins only", async () => {
    const users = await cluster.submit({ prompt: "a user's job", size: "128x128" }, key);
    const ids = async (args: string[], env: Record<string, string>) => {
      const ran = await zimage(["jobs", "--limit", "100", "--json", ...args], env);
      expect(ran.code).toBe(0);
      return (JSON.parse(ran.stdout) as { data: Array<{ id: string }> }).data.map((j) => j.id);
    };
    const admin = { ZIMAGE_API_KEY: ADMIN };
    expect(await ids([], admin)).not.toContain(users);
    expect(await ids(["--all"], admin)).toContain(users);
    expect(await ids([], {})).toContain(users);
    const refused = await zimage(["jobs", "--all"]);
    expect([refused.code, refused.stderr]).toEqual([3, "zimage: only admins can list other keys' jobs\n"]);
  }, 60_000);

  it("pnpm keys --help prints its usage on stdout and exits 0; no command is a usage error", async () => {
    const help = await keysCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe("");
    expect(help.stdout).toMatch(/^pnpm keys: .*\n\nUsage:\n {2}pnpm keys create NAME/);
    const bare = await keysCli([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("Usage:");
  }, 60_000);
});
