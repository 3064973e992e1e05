import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  freePort,
  type PrivateRedis,
  type RunningProcess,
  startProcess,
  startRedis,
  waitFor,
} from "@zimage/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The production tree as the Dockerfile makes it (`pnpm build:production <dir>`, the same command),
 * run from a directory outside the checkout with plain `node dist/main.js`: no tsx, no dev
 * dependencies, NODE_OPTIONS unset. No Docker engine here, so the image itself is not built; this
 * is everything its build stage does and what its runtime stage runs.
 */
const root = resolve(import.meta.dirname, "../../..");
const APPS = ["api", "worker", "zimage-sim"];

let out: string;
let redis: PrivateRedis;
let dataDir: string;
const running: RunningProcess[] = [];
let apiUrl: string;
let buildMs: number;

/** pnpm as whatever runs the tests (`pnpm test` sets npm_execpath), else the README's `npx -y pnpm@10`. */
function pnpm(args: string[]) {
  const execpath = process.env.npm_execpath;
  const [cmd, ...pre] = execpath?.includes("pnpm") ? [process.execPath, execpath] : ["npx", "-y", "pnpm@10"];
  return spawnSync(cmd ?? "npx", [...pre, ...args], { cwd: root, encoding: "utf8" });
}

/** Environment of a production process: the test runner's, without NODE_OPTIONS (vitest's or anyone's). */
const prodEnv = (env: Record<string, string>) => ({
  ...env,
  NODE_OPTIONS: undefined,
  NODE_ENV: "production",
});

function start(args: string[], cwd: string, env: Record<string, string>): RunningProcess {
  const child = startProcess(process.execPath, args, { cwd, env: prodEnv(env) });
  running.push(child);
  return child;
}

/** Starts a process and waits for its `/ready` to answer 200; `ms` is spawn → ready. */
async function startUntilReady(args: string[], cwd: string, env: Record<string, string>, readyUrl: string) {
  const t0 = performance.now();
  const child = start(args, cwd, env);
  await waitFor(async () => (await fetch(readyUrl)).ok, {
    timeoutMs: 30_000,
    intervalMs: 10,
    what: readyUrl,
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n${args.join(" ")}: ${child.output().slice(-3000)}`);
  });
  return { child, ms: Math.round(performance.now() - t0) };
}

/** Median spawn → ready of `runs` starts, one after the other (each stopped before the next). */
async function medianStart(
  runs: number,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  port: number,
) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { child, ms } = await startUntilReady(
      args,
      cwd,
      { ...env, PORT: String(port) },
      `http://127.0.0.1:${port}/ready`,
    );
    times.push(ms);
    await child.stop();
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

/**
 * Bytes of the files under `dir` (those `keep` accepts), each path counted: pnpm hard-links them to
 * its store, and a COPY into an image stores every one.
 */
function treeBytes(dir: string, keep: (file: string) => boolean = () => true): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += treeBytes(path, keep);
    else if (entry.isFile() && keep(path)) total += lstatSync(path).size;
  }
  return total;
}

/** Symbolic links under `dir` whose target is missing (what a careless prune would leave). */
function danglingLinks(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) return existsSync(path) ? [] : [path];
    return entry.isDirectory() ? danglingLinks(path) : [];
  });
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), "zimage-prod-"));
  const t0 = performance.now();
  const build = pnpm(["build:production", out]);
  buildMs = Math.round(performance.now() - t0);
  expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);
  redis = await startRedis();
  dataDir = await mkdtemp(join(tmpdir(), "zimage-prod-data-"));
}, 300_000);

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await redis?.stop();
  for (const dir of [out, dataDir]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the production build", () => {
  it("holds JavaScript and production dependencies only", () => {
    for (const app of APPS) {
      const appDir = join(out, "apps", app);
      expect(existsSync(join(appDir, "dist", "main.js")), app).toBe(true);
      expect(existsSync(join(appDir, "src")), `${app} ships its sources`).toBe(false);
      const installed = readdirSync(join(appDir, "node_modules", ".pnpm"));
      for (const dev of ["tsx@", "typescript@", "esbuild@", "vitest@", "turbo@", "@zimage+testkit@"]) {
        expect(
          installed.filter((name) => name.startsWith(dev)),
          `${app}: ${dev}`,
        ).toEqual([]);
      }
      // The @zimage packages it uses, copied in with their dist and exporting it.
      for (const entry of installed.filter((name) => name.startsWith("@zimage+"))) {
        const scope = join(appDir, "node_modules", ".pnpm", entry, "node_modules", "@zimage");
        for (const name of readdirSync(scope)) {
          const pkg = JSON.parse(readFileSync(join(scope, name, "package.json"), "utf8"));
          expect(JSON.stringify(pkg.exports), `${app} → @zimage/${name}`).toMatch(/\.\/dist\/index\.js/);
          expect(existsSync(join(scope, name, "src")), `@zimage/${name} ships its sources`).toBe(false);
        }
      }
    }
    expect(existsSync(join(out, "apps", "console", "dist", "index.html"))).toBe(true);
    expect(danglingLinks(out)).toEqual([]);
  });

  it("runs a job end to end with plain node outside the checkout", async () => {
    const [simPort, apiPort, timingPort, workerPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const simUrl = `http://127.0.0.1:${simPort}`;
    apiUrl = `http://127.0.0.1:${apiPort}`;
    const env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: "prod",
      DATA_DIR: dataDir,
      ZIMAGE_UPSTREAMS: `sim=${simUrl}`,
      LOG_LEVEL: "warn",
      LOG_PRETTY: "false",
    };
    const sim = start(["apps/zimage-sim/dist/main.js"], out, {
      SIM_PORT: String(simPort),
      SIM_LOAD_MS: "100",
      SIM_BASE_MS: "50",
      SIM_MS_PER_STEP_MEGAPIXEL: "0",
      LOG_LEVEL: "warn",
    });
    await waitFor(async () => (await fetch(`${simUrl}/health`)).ok, {
      timeoutMs: 30_000,
      what: "the built simulator",
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${sim.output().slice(-3000)}`);
    });
    const worker = await startUntilReady(
      ["apps/worker/dist/main.js"],
      out,
      { ...env, WORKER_METRICS_PORT: String(workerPort) },
      `http://127.0.0.1:${workerPort}/ready`,
    );
    await startUntilReady(
      ["apps/api/dist/main.js"],
      out,
      { ...env, PORT: String(apiPort) },
      `${apiUrl}/ready`,
    );
    // Start-up, built and from the sources as `pnpm start` runs the api (tsx), for the record.
    const builtMs = await medianStart(3, ["apps/api/dist/main.js"], out, env, timingPort);
    const tsxMs = await medianStart(3, ["--import", "tsx", "apps/api/src/main.ts"], root, env, timingPort);

    const submit = await fetch(`${apiUrl}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "a lighthouse", size: "512x512", seed: 1, num_inference_steps: 4 }),
    });
    expect(submit.status).toBe(202);
    const { id } = (await submit.json()) as { id: string };
    const view = await waitFor(
      async () => {
        const v = (await (await fetch(`${apiUrl}/v1/jobs/${id}`)).json()) as {
          status: string;
          result: { images: Array<{ url: string }> } | null;
        };
        return ["succeeded", "failed", "canceled"].includes(v.status) ? v : null;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: `job ${id} (worker: ${worker.child.output().slice(-2000)})`,
      },
    );
    expect(view.status).toBe("succeeded");
    const image = await fetch(new URL(view.result?.images[0]?.url ?? "/missing", apiUrl));
    expect(image.status).toBe(200);
    expect(
      Buffer.from(await image.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe("PNG");
    // The console comes from the tree too (apps/console/dist beside apps/api).
    const consolePage = await fetch(`${apiUrl}/`);
    expect(await consolePage.text()).toMatch(/<script type="module"[^>]*src="\/assets\//);

    const dist = APPS.reduce((sum, app) => sum + treeBytes(join(out, "apps", app, "dist")), 0);
    const modules = APPS.reduce((sum, app) => sum + treeBytes(join(out, "apps", app, "node_modules")), 0);
    const maps = APPS.reduce(
      (sum, app) => sum + treeBytes(join(out, "apps", app, "dist"), (f) => f.endsWith(".map")),
      0,
    );
    process.stdout.write(
      `production build: build:production ${buildMs} ms; spawn → /ready (median of 3): api built ${builtMs} ms, ` +
        `api tsx ${tsxMs} ms; worker built ${worker.ms} ms; tree ${mb(treeBytes(out))} ` +
        `(dist ${mb(dist)} of which source maps ${mb(maps)}, production node_modules ${mb(modules)})\n`,
    );
  }, 120_000);
});
