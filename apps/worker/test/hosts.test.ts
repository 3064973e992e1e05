import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { FAST_ENV, type JobView } from "@zimage/test-cluster";
import {
  makePng,
  type PrivateRedis,
  type PrivateS3,
  pngSize,
  type RunningProcess,
  removeLeftoverVirtualHosts,
  S3RVER_CREDENTIALS,
  startRedis,
  startS3,
  startVirtualHosts,
  type VirtualHost,
  type VirtualHosts,
  virtualHostsUnavailable,
  waitFor,
} from "@zimage/testkit";
import { type RunningSimulator, startSimulator } from "@zimage/zimage-sim";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Receiver, startReceiver, verify } from "./webhook-receiver";

/**
 * Issue #18 (3): the api and two workers as if on three hosts that share nothing but Redis and the
 * object store. Each runs in its own network namespace, linked to the root namespace by a veth pair
 * (testkit's startVirtualHosts), with its own DATA_DIR and STORAGE=s3; Redis, s3rver, two simulated
 * GPUs and a webhook receiver listen in the root namespace on the bridge's address only. The hosts
 * have no default route: nothing leaves the machine. Cutting a worker host off is taking the root end
 * of its veth down — its packets go nowhere and nobody is told, as when a cable is pulled.
 */
const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../../..");
const tsx = (file: string) => ["--import", "tsx", resolve(root, file)];
const ADMIN = "hosts-admin-key-0123456789abcdef0123456789";
/** A worker holding k leases waits k × this before taking another: each host starts with one GPU. */
const LEASE_SPREAD_SECONDS = "6";

const cannot = await virtualHostsUnavailable();
if (cannot) console.warn(`skipping the separate-hosts test: ${cannot}; it needs root and iproute2`);

interface Env {
  vh: VirtualHosts;
  api: VirtualHost;
  workerHosts: VirtualHost[];
  apiUrl: string;
  workers: RunningProcess[];
  sims: RunningSimulator[];
  redis: PrivateRedis;
  s3: PrivateS3;
  s3client: S3Client;
  receiver: Receiver;
  dataDirs: string[];
}
let env: Partial<Env> & { processes: RunningProcess[]; dataDirs: string[] } = { processes: [], dataDirs: [] };
const the = () => env as Env & { processes: RunningProcess[] };

beforeAll(async () => {
  if (cannot) return;
  const leftovers = await removeLeftoverVirtualHosts();
  if (leftovers.length) console.warn(`removed leftovers of a crashed run: ${leftovers.join(", ")}`);
  const vh = await startVirtualHosts(["api", "worker-a", "worker-b"]);
  env.vh = vh;
  const shared = vh.rootAddress;
  env.redis = await startRedis({ bind: [shared] });
  await vh.track(env.redis.pid!);
  env.s3 = await startS3({ address: shared });
  env.s3client = new S3Client({
    endpoint: env.s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
  const sims: RunningSimulator[] = [];
  env.sims = sims;
  for (let i = 0; i < 2; i++)
    sims.push(
      await startSimulator({
        host: shared,
        loadMs: 100,
        baseMs: 200,
        msPerStepMegapixel: 0,
        logLevel: "silent",
      }),
    );
  env.receiver = await startReceiver(() => 200, 0, shared);

  const api = vh.hosts.api!;
  env.api = api;
  env.workerHosts = [vh.hosts["worker-a"]!, vh.hosts["worker-b"]!];
  env.apiUrl = `http://${api.address}:8080`;
  const common = {
    ...FAST_ENV,
    ...env.s3.env,
    S3_PREFIX: "hosts",
    REDIS_URL: `redis://${shared}:${env.redis.port}`,
    QUEUE_PREFIX: "hosts",
    ZIMAGE_UPSTREAMS: sims.map((s, i) => `gpu${i}=${s.url}`).join(","),
    PUBLIC_URL: env.apiUrl,
    ADMIN_API_KEY: ADMIN,
    // The receiver's address is private; allow it alone, the SSRF guard stays on for the rest.
    WEBHOOK_ALLOWLIST: shared,
    LEASE_SPREAD_SECONDS,
  };
  const dataDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), "zimage-host-"));
    env.dataDirs.push(dir);
    return dir;
  };
  const apiProcess = api.start(process.execPath, tsx("apps/api/src/main.ts"), {
    env: { ...common, DATA_DIR: await dataDir(), HOST: api.address, PORT: "8080" },
  });
  env.processes.push(apiProcess);
  // Both workers start together, so each is up well within the spread delay and takes one GPU.
  const workers: RunningProcess[] = [];
  for (const host of env.workerHosts) {
    const w = host.start(process.execPath, tsx("apps/worker/src/main.ts"), {
      env: { ...common, DATA_DIR: await dataDir() },
    });
    workers.push(w);
    env.processes.push(w);
  }
  env.workers = workers;
  await apiProcess.waitForOutput(/api listening/);
  await waitFor(async () => (await fetch(`${env.apiUrl}/ready`)).ok, { what: "the api host to be ready" });
  await Promise.all(workers.map((w) => w.waitForOutput(/worker ready/)));
  const owners = await waitFor(
    async () => {
      const o = await Promise.all([0, 1].map(leaseHolder));
      return o.every((w) => w !== undefined) ? o : null;
    },
    { timeoutMs: 20_000, what: "both GPUs' leases held" },
  );
  expect(new Set(owners).size, "each worker host holds one GPU's lease").toBe(2);
}, 60_000);

afterAll(async () => {
  if (cannot) return;
  // Every step runs even when one before it fails; the first failure is reported at the end.
  const errors: unknown[] = [];
  const step = async (f: () => Promise<unknown> | undefined) => {
    try {
      await f();
    } catch (err) {
      errors.push(err);
    }
  };
  await step(() => Promise.all(env.processes.map((p) => p.stop("SIGKILL"))));
  await step(() => env.receiver?.close());
  await step(() => Promise.all((env.sims ?? []).map((s) => s.close())));
  await step(async () => env.s3client?.destroy());
  await step(() => env.s3?.stop());
  await step(() => env.redis?.stop());
  await step(() => env.vh?.remove());
  await step(() => Promise.all(env.dataDirs.map((d) => rm(d, { recursive: true, force: true }))));
  // The proof the cleanup worked: no namespace or link of this run is left.
  await step(async () => {
    expect((await run("ip", ["netns", "list"])).stdout).not.toContain(`zimage-hosts-${process.pid}-`);
    expect((await run("ip", ["-o", "link", "show"])).stdout).not.toMatch(
      new RegExp(`zh${process.pid}(br|h)`),
    );
  });
  env = { processes: [], dataDirs: [] };
  if (errors.length) throw errors[0];
}, 60_000);

async function request(method: string, path: string, key = ADMIN, body?: unknown): Promise<Response> {
  return fetch(`${the().apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function submit(body: Record<string, unknown>, key: string): Promise<string> {
  const res = await request("POST", "/v1/jobs", key, body);
  if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as JobView).id;
}

async function createKey(name: string): Promise<string> {
  const res = await request("POST", "/v1/admin/keys", ADMIN, { name });
  if (res.status !== 201) throw new Error(`creating a key answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { key: string }).key;
}

const view = async (id: string, key: string) =>
  (await (await request("GET", `/v1/jobs/${id}`, key)).json()) as JobView;

const settled = (id: string, key: string, timeoutMs = 30_000) =>
  waitFor(
    async () => {
      const v = await view(id, key);
      return ["succeeded", "failed", "canceled"].includes(v.status) ? v : null;
    },
    { timeoutMs, what: `job ${id} to end` },
  );

/** The worker process whose dispatcher holds GPU `index`'s lease (the owner is `host:pid:rand`). */
async function leaseHolder(index: number): Promise<RunningProcess | undefined> {
  const res = await request("GET", "/v1/upstreams");
  if (!res.ok) return undefined;
  const { data } = (await res.json()) as { data: Array<{ name: string; owner: string | null }> };
  const owner = data.find((u) => u.name === `gpu${index}`)?.owner;
  const pid = owner ? Number(owner.split(":").at(-2)) : Number.NaN;
  return the().workers.find((w) => w.child.pid === pid && w.child.exitCode === null);
}

/** The job views of one SSE response, in order, until the server ends the stream. */
async function sseViews(id: string, key: string): Promise<JobView[]> {
  const res = await fetch(`${the().apiUrl}/v1/jobs/${id}/events`, {
    headers: { authorization: `Bearer ${key}`, accept: "text/event-stream" },
    signal: AbortSignal.timeout(20_000),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const views: JobView[] = [];
  const events = res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  for await (const e of events as unknown as AsyncIterable<{ event?: string; data: string }>)
    if (e.event === "job") views.push(JSON.parse(e.data) as JobView);
  return views;
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

describe.skipIf(cannot !== null)("api and two workers on separate hosts (network namespaces)", () => {
  it("each host is isolated: only its own link to the root namespace, and no route off the machine", async () => {
    for (const host of [the().api, ...the().workerHosts]) {
      const links = (await run("ip", ["-n", host.netns, "-o", "link", "show"])).stdout.trim().split("\n");
      expect(links.map((l) => l.split(":")[1]?.trim().split("@")[0])).toEqual(["lo", "eth0"]);
      const routes = (await run("ip", ["-n", host.netns, "route", "show", "table", "main"])).stdout.trim();
      expect(routes).not.toMatch(/default/);
      expect(routes.split("\n")).toHaveLength(1);
    }
    // The shared services are not on anyone's loopback: a host reaching 127.0.0.1 reaches itself.
    const { stdout } = await run("ip", [
      "netns",
      "exec",
      the().workerHosts[0]!.netns,
      process.execPath,
      "-e",
      `require("node:net").connect(${the().redis.port}, "127.0.0.1").on("error", (e) => console.log(e.code)).on("connect", () => console.log("connected")).setTimeout(2000, () => process.exit())`,
    ]);
    expect(stdout.trim()).toBe("ECONNREFUSED");
  });

  it("submit, dispatch, results from S3, SSE and a signed webhook all cross the hosts", async () => {
    const key = await createKey("alice");
    const id = await submit(
      {
        prompt: "three hosts, one bucket",
        size: "256x256",
        webhook: { url: the().receiver.url, events: ["succeeded"] },
      },
      key,
    );
    // The stream opens while the job is queued or running and ends after it succeeds.
    const views = await sseViews(id, key);
    expect(["queued", "running"]).toContain(views[0]?.status);
    expect(views.at(-1)).toMatchObject({ id, status: "succeeded" });
    const done = await view(id, key);
    expect(done.upstream).toMatch(/^gpu[01]$/);

    // An edit: the api host writes the input to the bucket, a worker host reads it from there.
    const fd = new FormData();
    fd.append("prompt", "repaint it elsewhere");
    fd.append("size", "256x256");
    fd.append("image", new Blob([new Uint8Array(makePng(96, 64, 3))], { type: "image/png" }), "in.png");
    const editRes = await fetch(`${the().apiUrl}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: fd,
    });
    expect(editRes.status).toBe(202);
    const edit = await settled(((await editRes.json()) as JobView).id, key);
    expect(edit.status).toBe("succeeded");

    // The signed URL names the api host and streams the image from the bucket.
    const s3 = the().s3;
    const objects = (
      (await the().s3client.send(new ListObjectsV2Command({ Bucket: s3.bucket }))).Contents ?? []
    ).map((o) => o.Key!);
    expect(objects).toContain(`hosts/inputs/${edit.id}/input.png`);
    for (const job of [done, edit]) {
      expect(objects.some((k) => k.startsWith(`hosts/results/${job.id}/`))).toBe(true);
      const image = job.result!.images[0]!;
      expect(image.url.startsWith(`${the().apiUrl}/`)).toBe(true);
      const res = await fetch(image.url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
      const body = Buffer.from(await res.arrayBuffer());
      expect(sha256(body)).toBe(image.sha256);
      expect(pngSize(body)).toEqual({ width: 256, height: 256 });
    }

    // The webhook left from a worker host and verifies with the key's secret.
    const delivery = await waitFor(() => the().receiver.deliveries.find((d) => d.body.includes(id)), {
      timeoutMs: 15_000,
      what: "the webhook delivery",
    });
    expect(the().workerHosts.map((h) => h.address)).toContain(delivery.from);
    const secret = ((await (await request("GET", "/v1/webhook-secret", key)).json()) as { secret: string })
      .secret;
    const payload = verify(secret, delivery) as { type: string; data: JobView };
    expect(payload).toMatchObject({ type: "job.succeeded", data: { id, status: "succeeded" } });
    expect(payload.data.result!.images[0]!.url.startsWith(`${the().apiUrl}/`)).toBe(true);

    // No host wrote anything to its own disk: everything went to the bucket.
    for (const dir of the().dataDirs) expect(await readdir(dir, { recursive: true })).toEqual([]);
  });

  it("fair share holds across the worker hosts: two users' jobs interleave on both GPUs", async () => {
    const heavy = await createKey("heavy");
    const light = await createKey("light");
    const ids: Array<[string, string]> = [];
    // While the two users submit, each GPU holds the first job it gets (an added 2 s latency), so the
    // order after it is the queue's alone, however slowly this machine submits.
    for (const sim of the().sims) sim.setFaults({ latencyMs: 2_000 });
    for (let i = 0; i < 8; i++)
      ids.push([await submit({ prompt: `fair heavy ${i}`, size: "128x128" }, heavy), heavy]);
    for (let i = 0; i < 4; i++)
      ids.push([await submit({ prompt: `fair light ${i}`, size: "128x128" }, light), light]);
    for (const sim of the().sims) sim.setFaults({ latencyMs: 0 });
    const jobs = await Promise.all(ids.map(([id, key]) => settled(id, key)));
    expect(jobs.map((j) => j.status)).toEqual(Array(12).fill("succeeded"));
    // Both worker hosts dispatched from the one queue.
    expect(new Set(jobs.map((j) => j.upstream))).toEqual(new Set(["gpu0", "gpu1"]));
    // The order both GPUs started them in: the light user's jobs do not wait behind all 8 heavy ones
    // (first in, first out would start them 9th to 12th). Fair share gives h0 h1 (already on the
    // GPUs), l0 l1 h2 l2 h3 l3 h4 …: the light user's last job starts before the heavy user's 6th.
    const order = the()
      .sims.flatMap((s) => s.stats().requests)
      .filter((r) => r.prompt?.startsWith("fair "))
      .sort((a, b) => a.startedAt! - b.startedAt!)
      .map((r) => r.prompt!);
    expect(order).toHaveLength(12);
    const heavyAt = order.flatMap((p, i) => (p.startsWith("fair heavy") ? [i] : []));
    const lightAt = order.flatMap((p, i) => (p.startsWith("fair light") ? [i] : []));
    expect(lightAt.at(-1)!, order.join(", ")).toBeLessThan(heavyAt[5]!);
    for (const sim of the().sims) expect(sim.stats().maxInFlight).toBe(1);
  });

  it("when the host holding a GPU's lease is cut off, the other host takes it and jobs keep completing", async () => {
    const key = await createKey("failover");
    const [sim0] = the().sims;
    const holder = (await leaseHolder(0))!;
    const other = the().workers.find((w) => w !== holder)!;
    const holderHost = the().workerHosts[the().workers.indexOf(holder)]!;
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await submit({ prompt: `failover ${i}`, size: "128x128" }, key));
    // Cut it while GPU 0 is running one of its jobs: the answer will never reach it.
    await waitFor(() => sim0!.stats().inFlight === 1, { what: "GPU 0 to be running a job" });
    const servedBeforeCut = sim0!.stats().imageRequests;
    await holderHost.cut();

    await waitFor(async () => (await leaseHolder(0))?.pid === other.pid, {
      timeoutMs: 20_000,
      what: "the other worker host to take GPU 0's lease",
    });
    const jobs = await Promise.all(ids.map((id) => settled(id, key)));
    expect(jobs.map((j) => j.status)).toEqual(Array(10).fill("succeeded"));
    expect((await leaseHolder(1))?.pid).toBe(other.pid);

    // The backlog may have drained on GPU 1 meanwhile; GPU 0 now works for the other host. Once its
    // new dispatcher has probed it, new jobs go to both GPUs again.
    const tookOver = Date.now();
    await waitFor(
      async () => {
        const res = await request("GET", "/v1/upstreams");
        const gpu0 = (
          (await res.json()) as { data: Array<{ name: string; up: boolean; checked_at: string }> }
        ).data.find((u) => u.name === "gpu0");
        return gpu0?.up && Date.parse(gpu0.checked_at) >= tookOver;
      },
      { what: "GPU 0's new holder to probe it" },
    );
    const more: string[] = [];
    for (let i = 0; i < 6; i++)
      more.push(await submit({ prompt: `after failover ${i}`, size: "128x128" }, key));
    const after = await Promise.all(more.map((id) => settled(id, key)));
    expect(after.map((j) => j.status)).toEqual(Array(6).fill("succeeded"));
    expect(after.map((j) => j.upstream)).toContain("gpu0");
    expect(sim0!.stats().imageRequests).toBeGreaterThan(servedBeforeCut);
    // No GPU ever had two requests at once, through the cut and the take-over.
    for (const sim of the().sims) expect(sim.stats().maxInFlight).toBe(1);
    for (const dir of the().dataDirs) expect(await readdir(dir, { recursive: true })).toEqual([]);
  });
});
