import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { say } from "./log";

/** Newest modification time of the files under `dir` (0 when it does not exist). */
function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) max = Math.max(max, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return max;
}

function builtAt(app: string): number {
  try {
    return statSync(join(app, "dist/index.html")).mtimeMs;
  } catch {
    return 0; // never built: any source is newer
  }
}

/** Builds the web console with Vite when its build is missing or older than its sources. */
export function ensureConsole(root: string): void {
  const app = resolve(root, "apps/console");
  const sources = Math.max(newest(join(app, "src")), statSync(join(app, "index.html")).mtimeMs);
  if (builtAt(app) >= sources) return;
  say("console", "building the web console (vite build)");
  const vite = resolve(app, "node_modules/vite/bin/vite.js");
  const result = spawnSync(process.execPath, [vite, "build", "--logLevel", "warn"], {
    cwd: app,
    stdio: "inherit",
  });
  if (result.status !== 0) say("console", "the console did not build; the API works, / says how to build it");
}
