/**
 * `pnpm build` for one package or app: its entry points (the arguments, paths under src/) to ESM
 * JavaScript in dist/, for plain `node` — no tsx, no dev dependencies.
 *
 * Why esbuild and not tsc: the sources import each other without extensions (`./errors`,
 * `moduleResolution: "Bundler"`), which tsc would emit unchanged and Node's ESM loader would refuse.
 * esbuild bundles each package's own files into its entry points (code shared by several entries goes
 * to a chunk, so a class or a zod schema exists once) and leaves every package import — npm
 * dependencies and other @zimage packages alike — to Node at run time. Each package still resolves its
 * own dependencies from its own node_modules, as pnpm laid them out. Type checking stays with
 * `pnpm typecheck` on the sources. How production finds dist: docs/architecture.md#production-build.
 */
import { rm } from "node:fs/promises";
import { build } from "esbuild";

const entryPoints = process.argv.slice(2);
if (entryPoints.length === 0 || entryPoints.some((entry) => !entry.startsWith("src/"))) {
  process.stderr.write("usage: build-package.ts src/<entry>.ts [...] (run in the package's directory)\n");
  process.exit(2);
}

await rm("dist", { recursive: true, force: true });
await build({
  entryPoints,
  outbase: "src",
  outdir: "dist",
  bundle: true,
  packages: "external",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  format: "esm",
  platform: "node",
  // The oldest Node of `engines` (README "Supported Node versions").
  target: "node24",
  sourcemap: true,
  logLevel: "warning",
});
