/**
 * `pnpm build:production <dir>`: builds what production runs (`turbo run build` for the api, the
 * worker, the simulator, the console and the packages they use) and lays it out in <dir>. The
 * Dockerfile runs it, and so does apps/api/test/production-build.test.ts, so the image and the test
 * get the same tree:
 *
 *   <dir>/apps/api         dist/ + production node_modules   node apps/api/dist/main.js
 *   <dir>/apps/worker      dist/ + production node_modules   node apps/worker/dist/main.js
 *   <dir>/apps/zimage-sim  dist/ + production node_modules   node apps/zimage-sim/dist/main.js
 *   <dir>/apps/console/dist                                  (served by the api at `/`)
 *
 * Each app comes from `pnpm deploy --prod`: its files (`files: ["dist"]`) and its production
 * dependencies only, from the lockfile, with the @zimage packages it uses copied in (their dist).
 * In the workspace those packages export their TypeScript sources (tsx and vitest run them as they
 * are); here their `publishConfig.exports` (dist/*.js) becomes `exports`, as it would in a published
 * package — `pnpm deploy` copies `files` but does not apply `publishConfig`. docs/architecture.md.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const APPS = ["api", "worker", "zimage-sim"] as const;

const target = process.argv[2];
if (!target) {
  process.stderr.write("usage: pnpm build:production <empty or new directory>\n");
  process.exit(2);
}
const out = resolve(process.env.INIT_CWD ?? process.cwd(), target);
if (existsSync(out) && readdirSync(out).length > 0) fail(`${out} is not empty`);

// Only what production runs: not the SDK, whose build (and its test) is its own.
const filters = [...APPS.map((app) => `--filter=@zimage/${app}...`), "--filter=@zimage/console"];
pnpm(["exec", "turbo", "run", "build", "--output-logs=errors-only", ...filters], "the build");

for (const app of APPS) {
  // inject-workspace-packages for this command only: pnpm 10's deploy then copies the @zimage packages
  // in from the workspace lockfile (the workspace itself keeps its symlinks to the sources).
  const deploy = ["--config.inject-workspace-packages=true", `--filter=@zimage/${app}`, "deploy", "--prod"];
  pnpm([...deploy, join(out, "apps", app)], `pnpm deploy of @zimage/${app}`);
}

for (const app of APPS) pruneOptionalPeers(join(out, "apps", app));

const consoleDist = join(root, "apps", "console", "dist");
cpSync(consoleDist, join(out, "apps", "console", "dist"), { recursive: true });

let rewritten = 0;
for (const file of zimagePackageFiles(out)) {
  const pkg = JSON.parse(readFileSync(file, "utf8"));
  // An app is run (dist/main.js), never imported: its `exports` (sources, for tests) goes.
  if (APPS.some((app) => file === join(out, "apps", app, "package.json"))) delete pkg.exports;
  if (pkg.publishConfig?.exports) {
    pkg.exports = pkg.publishConfig.exports;
    delete pkg.publishConfig;
    rewritten++;
  }
  // Nothing in production may point at TypeScript: a package without a dist export is a build bug.
  if (JSON.stringify(pkg.exports ?? {}).includes('.ts"')) fail(`${file} still exports TypeScript sources`);
  delete pkg.devDependencies;
  // A new file, not a write in place: pnpm hard-links the copied packages' files to the workspace's
  // own, and writing through the link would change packages/*/package.json in the checkout.
  writeFileSync(`${file}.tmp`, `${JSON.stringify(pkg, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}
process.stdout.write(`production tree in ${out} (${rewritten} package exports switched to dist)\n`);

/**
 * TypeScript is an optional peer of valibot (under @bull-board/api), for its types only; pnpm links
 * it because the workspace has it, which puts 23 MB of compiler in the api. Nothing imports it at run
 * time (apps/api/test/production-build.test.ts runs the api without it), so it goes, with its links.
 */
function pruneOptionalPeers(appDir: string): void {
  const store = join(appDir, "node_modules", ".pnpm");
  rmSync(join(store, "node_modules", "typescript"), { force: true }); // pnpm's hoisted link
  for (const entry of readdirSync(store)) {
    if (entry.startsWith("typescript@")) rmSync(join(store, entry), { recursive: true, force: true });
    if (entry.includes("_typescript@"))
      rmSync(join(store, entry, "node_modules", "typescript"), { force: true });
  }
}

/** The package.json of every deployed app and of every @zimage package copied into them. */
function* zimagePackageFiles(dir: string): Generator<string> {
  for (const app of APPS) {
    const appDir = join(dir, "apps", app);
    yield join(appDir, "package.json");
    const store = join(appDir, "node_modules", ".pnpm");
    for (const entry of readdirSync(store)) {
      if (!entry.startsWith("@zimage+")) continue;
      const scope = join(store, entry, "node_modules", "@zimage");
      for (const name of readdirSync(scope)) yield join(scope, name, "package.json");
    }
  }
}

/** Runs pnpm as whatever started this script (`pnpm build:production` sets npm_execpath), else from PATH. */
function pnpm(args: string[], what: string): void {
  const execpath = process.env.npm_execpath;
  const [cmd, ...pre] = execpath?.includes("pnpm") ? [process.execPath, execpath] : ["pnpm"];
  const r = spawnSync(cmd ?? "pnpm", [...pre, ...args], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  });
  if (r.status !== 0) fail(`${what} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

function fail(message: string): never {
  process.stderr.write(`deploy:prod: ${message}\n`);
  process.exit(1);
}
