import { mkdir, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { type Cluster, startCluster } from "@zimage/test-cluster";
import { type RunningProcess, type TcpProxy, waitFor } from "@zimage/testkit";
import type { RequestRecord, SimulatorOptions } from "@zimage/zimage-sim";
import { type ChaosResult, resultOf, settle, submitAll } from "./chaos-harness";

/**
 * Issue #16 §1: faults that make the upstream's lease holder lose its lease without knowing it — a
 * process frozen (SIGSTOP) or cut off from Redis (a silent partition) for longer than the lease's
 * TTL. Meanwhile a standby takes the lease and dispatches; when the old holder comes back it must not
 * send the GPU anything more. Shared by the fast tests (apps/worker/test/lease-fencing.test.ts) and the
 * 200-job chaos runs (lease-fencing.chaos.test.ts).
 */
export type LeaseFaultKind = "pause-between-jobs" | "pause-mid-job" | "redis-blackhole";

export interface LeaseFaultPlan {
  kind: LeaseFaultKind;
  /** How long the holder stays frozen or cut off; must be longer than LEASE_TTL_SECONDS. */
  faultMs: () => number;
  /** Faults to inject one after another, each on whoever holds the lease then, while jobs remain. */
  times: number;
}

export interface LeaseCluster {
  cluster: Cluster;
  /** Two workers, each reaching Redis through its own proxy, so either can be partitioned alone. */
  workers: Array<{ worker: RunningProcess; proxy: TcpProxy }>;
}

/** The open-mode principal's default limits would throttle a burst; faults are the subject here. */
const LIMITS = { DEFAULT_RATE_PER_MINUTE: "100000", DEFAULT_MAX_PENDING: "100000" };

/** One upstream, two workers (FAST_ENV: 1.5 s lease, 2 s job lock, stalled check every 1 s). */
export async function startLeaseCluster(sim: SimulatorOptions, onStarted: (c: Cluster) => void) {
  const cluster = await startCluster({ workers: 0, sim: { loadMs: 50, ...sim }, env: LIMITS });
  onStarted(cluster);
  const workers = await Promise.all([cluster.startWorkerBehindProxy(), cluster.startWorkerBehindProxy()]);
  return { cluster, workers } satisfies LeaseCluster;
}

const pidOf = (w: RunningProcess | undefined) => (w ? String(w.pid) : "none");

/**
 * Injects `plan.times` faults, each on the worker holding the lease at that moment, and describes
 * what happened. Every fault is undone in a finally: a frozen worker left behind hangs the run.
 */
export async function injectLeaseFaults(
  { cluster, workers }: LeaseCluster,
  plan: LeaseFaultPlan,
  jobs: number,
): Promise<string[]> {
  const sim = cluster.sims[0]!;
  const remaining = () => sim.stats().imageRequests < jobs - 2;
  const notes: string[] = [];
  for (let i = 0; i < plan.times && remaining(); i++) {
    const holder = await waitFor(() => cluster.leaseHolder(), { timeoutMs: 30_000, what: "a lease holder" });
    const victim = workers.find((w) => w.worker === holder)!;
    // The holder must be dispatching (not merely named in a stale upstream state) before the fault.
    const seen = sim.stats().imageRequests;
    await waitFor(() => sim.stats().imageRequests > seen || !remaining(), {
      timeoutMs: 30_000,
      what: "the holder to dispatch",
    });
    if (!remaining()) break;
    // Sharp timing: between jobs = the instant the GPU went idle (the holder has its answer and is
    // about to check its lease and fetch); mid-job = while the GPU has the holder's request open.
    const wantBusy = plan.kind !== "pause-between-jobs";
    const atMoment = await waitFor(() => sim.stats().inFlight === (wantBusy ? 1 : 0) || !remaining(), {
      timeoutMs: 30_000,
      intervalMs: 1,
      what: wantBusy ? "a request on the GPU" : "the GPU to go idle",
    }).then(remaining);
    if (!atMoment) break;
    const ms = plan.faultMs();
    const t0 = Date.now();
    try {
      if (plan.kind === "redis-blackhole") victim.proxy.cut("blackhole");
      else victim.worker.pause();
      await sleep(ms);
    } finally {
      victim.proxy.restore();
      victim.worker.resume();
    }
    const during = await cluster.leaseHolder().catch(() => undefined);
    notes.push(
      `${plan.kind === "redis-blackhole" ? "cut" : "froze"} holder ${victim.worker.pid} for ${Date.now() - t0} ms (lease then with ${pidOf(during)})`,
    );
    // The next fault waits a lease's time after this one ended, so that whatever the old holder does on
    // waking meets a GPU the new holder keeps busy, not one idle because its holder is the next victim.
    await sleep(1_500);
    const after = sim.stats().imageRequests;
    await waitFor(() => sim.stats().imageRequests >= after + 3 || !remaining(), {
      timeoutMs: 30_000,
      what: "jobs to flow again after the fault",
    });
  }
  return notes;
}

/** Image requests that reached the GPU while another was still open (each one a broken promise). */
function overlapping(requests: RequestRecord[]): number {
  const images = requests.filter((r) => r.path.includes("images")).sort((a, b) => a.arrivedAt - b.arrivedAt);
  return images.filter((r, i) =>
    images.slice(0, i).some((o) => o.finishedAt === null || o.finishedAt > r.arrivedAt),
  ).length;
}

const jobsDoneOf = async (cluster: Cluster) =>
  Number((await cluster.upstreams()).find((u) => u.name === "gpu0")?.jobs_done ?? Number.NaN);

export interface LeaseFaultOutcome {
  row: ChaosResult;
  /** Successful completions the upstream counted (moveToCompleted that held the job's lock). */
  jobsDone: number;
  notes: string[];
}

/**
 * Submits `jobs` at once (a backlog keeps the new holder dispatching back to back when the old one
 * comes back, which is when a second request would land on the GPU), injects the faults, waits for
 * every acknowledged job, and builds the row.
 */
export async function runLeaseFaults(
  lc: LeaseCluster,
  fault: string,
  plan: LeaseFaultPlan,
  opts: {
    jobs: number;
    settleMs: number /** Added to every image request (the simulator's latency fault). */;
    latencyMs?: number;
  },
): Promise<LeaseFaultOutcome> {
  const { cluster } = lc;
  const sim = cluster.sims[0]!;
  // A cluster may serve several runs: each starts from an idle GPU and counts only its own requests.
  await waitFor(() => sim.stats().inFlight === 0, { timeoutMs: 30_000, what: "an idle GPU" });
  sim.reset();
  sim.setFaults({ latencyMs: opts.latencyMs ?? 0 });
  const doneBefore = await jobsDoneOf(cluster);
  const started = Date.now();
  const submitting = submitAll(cluster, opts.jobs, { concurrency: 8, deadlineMs: 60_000 });
  const notes = await injectLeaseFaults(lc, plan, opts.jobs);
  const subs = await submitting;
  const statuses = await settle(cluster, subs, { timeoutMs: opts.settleMs });
  // The upstream counts a completion as its end is announced, just after the job's state moved:
  // give the last ones a moment before reading (more than expected still shows, and fails the run).
  const succeeded = [...statuses.values()].filter((st) => st === "succeeded").length;
  await waitFor(async () => (await jobsDoneOf(cluster)) - doneBefore >= succeeded, {
    timeoutMs: 10_000,
    what: "the upstream's completion count to catch up",
  }).catch(() => undefined); // a shortfall is what the caller asserts on
  const jobsDone = (await jobsDoneOf(cluster)) - doneBefore;
  // LEASE_DEBUG=<dir>: keep the workers' logs and the simulator's request log of every run.
  const debugDir = process.env.LEASE_DEBUG;
  if (debugDir) {
    const slug = `${plan.kind}-${started}`;
    await mkdir(debugDir, { recursive: true });
    for (const w of lc.workers)
      await writeFile(`${debugDir}/${slug}-worker-${w.worker.pid}.log`, w.worker.output());
    await writeFile(`${debugDir}/${slug}-gpu.json`, JSON.stringify(sim.stats().requests));
  }
  const overlaps = overlapping(sim.stats().requests);
  const lost = lc.workers.reduce(
    (n, w) => n + (w.worker.output().match(/lost the upstream's lease/g)?.length ?? 0),
    0,
  );
  const row = await resultOf(
    cluster,
    fault,
    `${notes.join("; ")}; ${overlaps} image requests arrived while another was open; ${lost} "lost the upstream's lease" log lines; upstream counted ${jobsDone} completions`,
    subs,
    statuses,
    started,
  );
  return { row, jobsDone, notes };
}
