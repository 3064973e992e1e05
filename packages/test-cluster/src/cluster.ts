import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  freePort,
  type PrivateRedis,
  type RunningProcess,
  startProcess,
  startRedis,
  startTcpProxy,
  type TcpProxy,
  waitFor,
} from "@zimage/testkit/standalone";
import { type RunningSimulator, type SimulatorOptions, startSimulator } from "@zimage/zimage-sim";

/**
 * A gateway cluster for cross-process tests: a private redis-server, N simulators (real HTTP on
 * loopback), the api and M worker processes, each started the way an operator starts them.
 */
const root = resolve(import.meta.dirname, "../../..");
const tsx = (file: string) => ["--import", "tsx", resolve(root, file)];

export interface JobView {
  id: string;
  status: string;
  phase: string | null;
  attempts: number;
  upstream: string | null;
  result: { images: Array<{ url: string; width: number; height: number; sha256: string }> } | null;
  error: { code: string; message: string; details?: unknown } | null;
  timings: Record<string, number | null>;
  completed_at: string | null;
  effective_params?: Record<string, unknown> | null;
}

export interface Cluster {
  redis: PrivateRedis;
  sims: RunningSimulator[];
  apiUrl: string;
  dataDir: string;
  workers: RunningProcess[];
  api: RunningProcess;
  /** SIGKILLs the api and starts a new one on the same port. */
  restartApi(): Promise<void>;
  env: Record<string, string>;
  startWorker(extraEnv?: Record<string, string>): Promise<RunningProcess>;
  /**
   * A worker that reaches Redis only through its own TCP proxy, so a test can partition that one
   * worker from Redis (`proxy.cut()`) while everyone else keeps talking to it. Closed by stop().
   */
  startWorkerBehindProxy(
    extraEnv?: Record<string, string>,
  ): Promise<{ worker: RunningProcess; proxy: TcpProxy }>;
  /**
   * The worker whose dispatcher holds upstream `index`'s lease, by the owner (`host:pid:rand`) the
   * holder records in the upstream's state; undefined while it names no live worker of this cluster.
   */
  leaseHolder(index?: number): Promise<RunningProcess | undefined>;
  /** Sends a request to the api, as `key` when given (tests without keys run in open local mode). */
  request(
    method: string,
    path: string,
    opts?: { key?: string | undefined; body?: unknown },
  ): Promise<Response>;
  submit(body: Record<string, unknown>, key?: string): Promise<string>;
  /** Submits an image-to-image job as a multipart upload of `image` (a PNG). */
  submitEdit(fields: Record<string, string>, image: Buffer, key?: string): Promise<string>;
  /** Creates an API key through the admin endpoint (the cluster must run with ADMIN_API_KEY). */
  createKey(name: string): Promise<string>;
  view(id: string, key?: string): Promise<JobView>;
  waitFor(id: string, statuses?: string[], timeoutMs?: number, key?: string): Promise<JobView>;
  upstreams(): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  upstreams?: number;
  workers?: number;
  sim?: SimulatorOptions;
  /** Upstream names → ports to use instead of the simulators started here (e.g. a port with nothing on it). */
  upstreamUrls?: string[];
  /** Options appended to each upstream's ZIMAGE_UPSTREAMS entry, by index (e.g. `;edit=none`). */
  upstreamOptions?: string[];
  env?: Record<string, string>;
  /**
   * Use this Redis instead of a private redis-server: the variables that name it (REDIS_SENTINELS…,
   * REDIS_CLUSTER_NODES, QUEUE_PREFIX). The caller starts and stops it; `cluster.redis` then throws.
   */
  externalRedis?: Record<string, string>;
}

/** Settings that make every timing in the dispatcher fit a test, while keeping the same code paths. */
export const FAST_ENV: Record<string, string> = {
  UPSTREAM_POLL_SECONDS: "0.05",
  HEALTH_INTERVAL_SECONDS: "0.25",
  MODEL_LOAD_RETRY_SECONDS: "0.1",
  JOB_BACKOFF_SECONDS: "0.2",
  LEASE_TTL_SECONDS: "1.5",
  LEASE_SPREAD_SECONDS: "0",
  LOCK_DURATION_SECONDS: "2",
  STALLED_INTERVAL_SECONDS: "1",
  IDLE_UNLOAD_SECONDS: "0",
  SHUTDOWN_GRACE_SECONDS: "30",
  LOG_LEVEL: "info",
  LOG_PRETTY: "false",
  WORKER_METRICS_PORT: "0",
};

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const redis = opts.externalRedis ? undefined : await startRedis();
  const dataDir = await mkdtemp(join(tmpdir(), "zimage-cluster-"));
  const sims: RunningSimulator[] = [];
  const urls: string[] = [];
  if (opts.upstreamUrls) {
    urls.push(...opts.upstreamUrls);
  } else {
    for (let i = 0; i < (opts.upstreams ?? 1); i++) {
      const sim = await startSimulator({
        loadMs: 100,
        baseMs: 100,
        msPerStepMegapixel: 0,
        logLevel: "silent",
        // `TEST_SIM_PROFILE=reference pnpm test:chaos` runs a suite against the reference server's
        // profile; a test that names its profile keeps it.
        ...(process.env.TEST_SIM_PROFILE === "reference" ? { profile: "reference" as const } : {}),
        ...opts.sim,
      });
      sims.push(sim);
      urls.push(sim.url);
    }
  }
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const env: Record<string, string> = {
    ...FAST_ENV,
    ...(redis ? { REDIS_URL: redis.url } : {}),
    QUEUE_PREFIX: "cluster",
    ...opts.externalRedis,
    DATA_DIR: dataDir,
    ZIMAGE_UPSTREAMS: urls.map((u, i) => `gpu${i}=${u}${opts.upstreamOptions?.[i] ?? ""}`).join(","),
    // Workers build the image links in webhook payloads from it.
    PUBLIC_URL: apiUrl,
    ...opts.env,
  };
  const startApi = () =>
    startProcess(process.execPath, tsx("apps/api/src/main.ts"), { env: { ...env, PORT: String(apiPort) } });
  let api = startApi();
  const workers: RunningProcess[] = [];
  const proxies: TcpProxy[] = [];
  const startWorker = async (extraEnv: Record<string, string> = {}) => {
    const w = startProcess(process.execPath, tsx("apps/worker/src/main.ts"), {
      env: { ...env, ...extraEnv },
    });
    workers.push(w);
    await w.waitForOutput(/worker ready/);
    return w;
  };
  try {
    await api.waitForOutput(/api listening/);
    await waitFor(async () => (await fetch(`${apiUrl}/ready`)).ok, { what: "api ready" });
    for (let i = 0; i < (opts.workers ?? 1); i++) await startWorker();
  } catch (err) {
    // A cluster that did not come up must not leave its processes behind.
    await Promise.all([api.stop("SIGKILL"), ...workers.map((w) => w.stop("SIGKILL"))]);
    await Promise.all(sims.map((s) => s.close()));
    await redis?.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const request = (method: string, path: string, opts: { key?: string | undefined; body?: unknown } = {}) =>
    fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
        ...(opts.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
  const view = async (id: string, key?: string) =>
    (await (await request("GET", `/v1/jobs/${id}`, { key })).json()) as JobView;
  const privateRedis = () => {
    if (!redis) throw new Error("this cluster runs on an external Redis (externalRedis)");
    return redis;
  };
  return {
    get redis() {
      return privateRedis();
    },
    sims,
    apiUrl,
    dataDir,
    workers,
    get api() {
      return api;
    },
    restartApi: async () => {
      await api.stop("SIGKILL");
      api = startApi();
      await api.waitForOutput(/api listening/);
      await waitFor(async () => (await fetch(`${apiUrl}/ready`)).ok, { what: "api ready again" });
    },
    env,
    startWorker,
    view,
    request,
    createKey: async (name) => {
      const res = await request("POST", "/v1/admin/keys", { key: env.ADMIN_API_KEY, body: { name } });
      if (res.status !== 201) throw new Error(`creating a key answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { key: string }).key;
    },
    submitEdit: async (fields, image, key) => {
      const fd = new FormData();
      for (const [k, v] of Object.entries(fields)) fd.append(k, v);
      fd.append("image", new Blob([new Uint8Array(image)], { type: "image/png" }), "input.png");
      const res = await fetch(`${apiUrl}/v1/jobs`, {
        method: "POST",
        headers: key ? { authorization: `Bearer ${key}` } : {},
        body: fd,
      });
      if (res.status !== 202) throw new Error(`edit submit answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as JobView).id;
    },
    submit: async (body, key) => {
      const res = await request("POST", "/v1/jobs", { key, body });
      if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as JobView).id;
    },
    waitFor: (id, statuses = ["succeeded", "failed", "canceled"], timeoutMs = 30_000, key) =>
      waitFor(
        async () => {
          const v = await view(id, key);
          return statuses.includes(v.status) ? v : null;
        },
        { timeoutMs, intervalMs: 25, what: `job ${id} to be ${statuses.join("|")}` },
      ),
    upstreams: async () => {
      const res = await request("GET", "/v1/upstreams", { key: env.ADMIN_API_KEY });
      if (!res.ok) throw new Error(`GET /v1/upstreams answered ${res.status}`);
      return ((await res.json()) as { data: Array<Record<string, unknown>> }).data;
    },
    startWorkerBehindProxy: async (extraEnv = {}) => {
      const proxy = await startTcpProxy({ port: privateRedis().port });
      proxies.push(proxy);
      const worker = await startWorker({ ...extraEnv, REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
      return { worker, proxy };
    },
    leaseHolder: async (index = 0) => {
      const res = await request("GET", "/v1/upstreams", { key: env.ADMIN_API_KEY });
      if (!res.ok) return undefined;
      const { data } = (await res.json()) as { data: Array<{ name: string; owner: string | null }> };
      const owner = data.find((u) => u.name === `gpu${index}`)?.owner;
      const pid = owner ? Number(owner.split(":").at(-2)) : Number.NaN;
      return workers.find(
        (w) => w.child.pid === pid && w.child.exitCode === null && w.child.signalCode === null,
      );
    },
    stop: async () => {
      for (const w of workers) w.resume();
      for (const p of proxies) p.restore();
      await Promise.all([api.stop("SIGKILL"), ...workers.map((w) => w.stop("SIGKILL"))]);
      await Promise.all(proxies.map((p) => p.close()));
      await Promise.all(sims.map((s) => s.close()));
      await redis?.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
