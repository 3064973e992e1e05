import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { configSchema, loadConfig } from "@zimage/core";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

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
    // Compose v1 lists every service whatever the profile, v2 only the active ones: group them by
    // their `profiles` in the resolved file instead.
    const byProfile = new Map<string, string[]>();
    for (const [name, s] of Object.entries(resolved().services)) {
      const profile = s.profiles?.join(",") ?? "default";
      byProfile.set(profile, [...(byProfile.get(profile) ?? []), name].sort());
    }
    expect(Object.fromEntries(byProfile)).toEqual({
      default: ["api", "prometheus", "redis", "worker"],
      sim: ["zimage-sim"],
      scale: SCALE_SERVICES.toSorted(),
    });
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

interface ComposeService {
  profiles?: string[];
  image?: string;
  command?: string[];
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: Array<string | { type: string; source?: string; target: string }>;
  ports?: Array<{ published: string | number; target: number }>;
  read_only?: boolean;
  stop_grace_period?: string;
  entrypoint?: string[];
}

const SCALE_SERVICES = [
  "redis-master",
  "redis-replica",
  "sentinel-1",
  "sentinel-2",
  "sentinel-3",
  "minio",
  "minio-bucket",
  "api-1",
  "api-2",
  "worker-1",
  "worker-2",
  "proxy",
];

/** The whole file as compose resolves it (anchors merged, variables at their defaults), every profile on. */
function resolved(env: Record<string, string> = {}): { services: Record<string, ComposeService> } {
  const r = composeConfig(["--profile", "sim", "--profile", "scale", "config"], env);
  expect(r.status, r.stderr).toBe(0);
  return parse(r.stdout);
}

/** `11m`, `11m0s`, `90s`, `1h` as compose v1 and v2 print a duration → seconds. */
function durationSeconds(d: string): number {
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)];
  expect(parts.map((p) => p[0]).join(""), `duration ${d}`).toBe(d);
  return parts.reduce((t, [, n, u]) => t + Number(n) * { h: 3600, m: 60, s: 1 }[u as "h" | "m" | "s"], 0);
}

const env = (s: ComposeService) =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v ?? ""]));
const ADMIN_API_KEY = "k".repeat(40);

describe("docker-compose.yml's scale profile", () => {
  it("runs api and workers on S3 and Sentinel, with settings the gateway accepts", () => {
    const { services } = resolved({ ADMIN_API_KEY });
    const sentinelConf = readFileSync(resolve(root, "deploy/redis-sentinel.conf"), "utf8");
    const [, masterName, masterHost, masterPort, quorum] =
      sentinelConf.match(/^sentinel monitor (\S+) (\S+) (\d+) (\d+)$/m) ?? [];
    expect(masterHost).toBe("redis-master");
    expect(Number(quorum)).toBe(2);
    const [, bucket] =
      (services["minio-bucket"]?.entrypoint?.join(" ") ?? "").match(
        /mc mb --ignore-existing local\/([a-z0-9.-]+)/,
      ) ?? [];
    for (const name of ["api-1", "api-2", "worker-1", "worker-2"]) {
      const service = services[name] as ComposeService;
      const e = env(service);
      // Only variables the gateway reads (a misspelt one would be silently ignored).
      expect(
        Object.keys(e).filter((k) => !(k in configSchema.shape)),
        name,
      ).toEqual([]);
      const config = loadConfig(e);
      expect(config.STORAGE, name).toBe("s3");
      expect(config.redis, name).toMatchObject({
        kind: "sentinel",
        name: masterName,
        sentinels: ["sentinel-1", "sentinel-2", "sentinel-3"].map((host) => ({ host, port: 26379 })),
      });
      // The bucket is the one minio-bucket creates, on the minio service, with its root credentials.
      expect(config.S3_BUCKET).toBe(bucket);
      expect(new URL(config.S3_ENDPOINT ?? "").host).toBe("minio:9000");
      expect(config.S3_FORCE_PATH_STYLE).toBe(true);
      expect(config.AWS_ACCESS_KEY_ID).toBe(services.minio?.environment?.MINIO_ROOT_USER);
      expect(config.AWS_SECRET_ACCESS_KEY).toBe(services.minio?.environment?.MINIO_ROOT_PASSWORD);
      expect(config.ADMIN_API_KEY, `${name} takes ADMIN_API_KEY from the shell`).toBe(ADMIN_API_KEY);
      // Image links name the proxy, not one api process.
      const published = services.proxy?.ports?.[0]?.published;
      expect(config.PUBLIC_URL).toBe(`http://localhost:${published}`);
      // Nothing shared but Redis and the bucket: no named volume (the default profile's `results`).
      expect((service.volumes ?? []).filter((v) => typeof v === "string" || v.type === "volume")).toEqual([]);
      expect(service.read_only, name).toBe(true);
      expect(service.depends_on, name).toEqual({
        "sentinel-1": expect.objectContaining({ condition: "service_healthy" }),
        "sentinel-2": expect.objectContaining({ condition: "service_healthy" }),
        "sentinel-3": expect.objectContaining({ condition: "service_healthy" }),
        "minio-bucket": expect.objectContaining({ condition: "service_completed_successfully" }),
      });
    }
    expect(Number(masterPort)).toBe(6379);
  });

  it("puts both api processes behind the proxy, which trusts nothing outside its network", () => {
    const { services } = resolved();
    const nginx = readFileSync(resolve(root, "deploy/nginx-scale.conf"), "utf8");
    const upstreams = [...nginx.matchAll(/^\s*server (\S+):(\d+)\b/gm)].map((m) => `${m[1]}:${m[2]}`);
    const apis = ["api-1", "api-2"].map((n) => `${n}:${loadConfig(env(services[n] as ComposeService)).PORT}`);
    expect(upstreams).toEqual(apis);
    expect(services.proxy?.volumes).toContainEqual(
      expect.stringMatching(/deploy\/nginx-scale\.conf:\/etc\/nginx\/conf\.d\/default\.conf:ro$/),
    );
    expect(services.proxy?.depends_on).toMatchObject({
      "api-1": { condition: "service_healthy" },
      "api-2": { condition: "service_healthy" },
      "worker-1": { condition: "service_started" },
      "worker-2": { condition: "service_started" },
    });
    // The proxy names the client and says the request was forwarded (open local mode then refuses it);
    // the api believes X-Forwarded-For from private addresses only.
    expect(nginx).toMatch(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
    expect(nginx).toMatch(/proxy_buffering off;/);
    for (const n of ["api-1", "api-2"])
      expect(env(services[n] as ComposeService).TRUST_PROXY).toBe("uniquelocal");
  });

  it("has a healthcheck on each long-running service, on the port it serves", () => {
    const { services } = resolved();
    for (const name of SCALE_SERVICES.filter((n) => n !== "minio-bucket")) {
      expect(services[name]?.healthcheck?.test, name).toBeDefined();
    }
    for (const n of ["api-1", "api-2"]) {
      const port = loadConfig(env(services[n] as ComposeService)).PORT;
      expect(services[n]?.healthcheck?.test.join(" ")).toContain(`http://127.0.0.1:${port}/ready`);
    }
    for (const n of ["worker-1", "worker-2"]) {
      const c = loadConfig(env(services[n] as ComposeService));
      expect(c.WORKER_METRICS_HOST).toBe("0.0.0.0");
      expect(services[n]?.healthcheck?.test.join(" ")).toContain(
        `http://127.0.0.1:${c.WORKER_METRICS_PORT}/ready`,
      );
      // Docker's stop grace must outlast the worker's own (it finishes the image in flight).
      expect(durationSeconds(services[n]?.stop_grace_period ?? "0s")).toBeGreaterThan(
        c.SHUTDOWN_GRACE_SECONDS,
      );
    }
    expect(services["sentinel-1"]?.healthcheck?.test).toEqual(
      expect.arrayContaining(["-p", "26379", "sentinel", "ckquorum"]),
    );
    expect(services["redis-replica"]?.command?.join(" ")).toMatch(/--replicaof redis-master 6379/);
    for (const n of ["redis-master", "redis-replica"]) {
      expect(services[n]?.command?.join(" ")).toMatch(/--appendonly yes .*--maxmemory-policy noeviction/);
    }
    for (const n of ["api-1", "api-2", "worker-1", "worker-2"]) {
      expect(services[n]?.command?.[1], n).toBe(
        n.startsWith("api") ? "apps/api/dist/main.js" : "apps/worker/dist/main.js",
      );
    }
  });

  it("leaves the default profile as it was: filesystem store, standalone Redis", () => {
    const { services } = resolved();
    for (const n of ["api", "worker"]) {
      const e = env(services[n] as ComposeService);
      expect(e.REDIS_URL).toBe("redis://redis:6379");
      expect(e).not.toHaveProperty("STORAGE");
      expect(e).not.toHaveProperty("REDIS_SENTINELS");
      // v1 prints `results:/data:rw`, v2 `{type: volume, source: results, target: /data}`.
      const mounts = (services[n]?.volumes ?? []).map((v) =>
        typeof v === "string" ? v : `${v.source}:${v.target}`,
      );
      expect(mounts, n).toContainEqual(expect.stringMatching(/^results:\/data(:rw)?$/));
    }
    expect(services.api?.ports?.[0]).toMatchObject({ target: 8080 });
    expect(String(services.api?.ports?.[0]?.published)).toBe("8080");
  });
});
