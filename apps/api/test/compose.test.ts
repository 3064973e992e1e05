import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../../..");

/** `docker compose config` (v2 plugin) or `docker-compose config` (v1), whichever this machine has. */
function composeConfig(args: string[], env: Record<string, string> = {}) {
  const opts = { cwd: root, encoding: "utf8" as const, env: { ...process.env, ...env } };
  const v2 = spawnSync("docker", ["compose", "version"], opts);
  return v2.status === 0
    ? spawnSync("docker", ["compose", ...args], opts)
    : spawnSync("docker-compose", args, opts);
}

describe("docker-compose.yml and Dockerfile", () => {
  it("validates and defines the documented services", () => {
    const check = composeConfig(["config", "-q"]);
    expect(check.error).toBeUndefined();
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
    const services = composeConfig(["--profile", "sim", "config", "--services"]);
    expect(services.stdout.trim().split("\n").sort()).toEqual([
      "api",
      "prometheus",
      "redis",
      "worker",
      "zimage-sim",
    ]);
    // The simulator only runs with `--profile sim` (compose v1 still lists it, so check the file).
    const compose = readFileSync(resolve(root, "docker-compose.yml"), "utf8");
    expect(compose).toMatch(/zimage-sim:\n(?: {4}.*\n)*? {4}profiles: \["sim"\]/);
  });

  it("keeps Redis durable, workers scrapeable and the image unprivileged", () => {
    const compose = readFileSync(resolve(root, "docker-compose.yml"), "utf8");
    expect(compose).toMatch(/--appendonly", "yes"/);
    expect(compose).toMatch(/--maxmemory-policy", "noeviction"/);
    expect(compose).toMatch(/WORKER_METRICS_HOST: 0\.0\.0\.0/);
    expect(compose).toMatch(/\.\/deploy\/prometheus\.yml:\/etc\/prometheus\/prometheus\.yml/);
    const dockerfile = readFileSync(resolve(root, "Dockerfile"), "utf8");
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/pnpm install --frozen-lockfile/);
  });

  it("runs the built JavaScript in the image, without tsx or dev dependencies", () => {
    const dockerfile = readFileSync(resolve(root, "Dockerfile"), "utf8");
    const [build = "", runtime = ""] = dockerfile.split(/^FROM /m).slice(1);
    // The build stage makes the tree that apps/api/test/production-build.test.ts makes and runs.
    expect(build).toMatch(/^RUN .*pnpm build:production \/app$/m);
    // The runtime stage takes that tree only, not the workspace, and starts node on dist/.
    expect(runtime.match(/^COPY .*$/gm)).toEqual(["COPY --from=build /app /app"]);
    expect(runtime).toMatch(/^CMD \["node", "apps\/api\/dist\/main\.js"\]$/m);
    expect(runtime).not.toMatch(/tsx|pnpm/);
    const compose = readFileSync(resolve(root, "docker-compose.yml"), "utf8");
    const commands = compose.match(/^ {4}command: \["node".*$/gm) ?? [];
    expect(commands.map((c) => c.trim())).toEqual([
      'command: ["node", "apps/api/dist/main.js"]',
      'command: ["node", "apps/worker/dist/main.js"]',
      'command: ["node", "apps/zimage-sim/dist/main.js"]',
    ]);
  });
});
