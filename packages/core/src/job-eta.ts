import type { JobKind } from "./job-request";
import type { InferenceRate, UpstreamRate } from "./store/eta-rates";
import type { QueuedJobCost, QueuePlace, RunningJobCost } from "./store/queue-position";
import type { UpstreamState } from "./store/upstream-state";

/**
 * `eta_seconds` (issue #19): a function of each job's cost (`jobCost`: width × height × steps × n),
 * each upstream's learned speed (`eta-rates.ts`: inference = overhead + rate × cost, and its model
 * load time), and the queue in the order it runs (`readQueuePlace`, the queue-position order).
 *
 * A queued job: the upstreams able to run it start from the remaining time of the jobs they run now;
 * the jobs ahead of it are handed out in queue order, each to the upstream able to run its kind that
 * can start generating it first (free, plus a model load if its pipeline is not loaded there — how the
 * fetch policy prefers a warm GPU); a job of a kind whose pipeline is cold pays that upstream's load
 * and leaves it loaded (evicting the other pipeline on a two-pipeline server). Then the job itself,
 * the same way: so it pays one model load when its pipeline is cold on every upstream able to run it
 * and no job ahead loads it first. Only the first AHEAD_EXAMINED jobs ahead are read; the rest are
 * counted at their mean cost, spread over the upstreams in proportion to their speed.
 * A running job: its expected duration on its upstream minus the time it has run, never negative.
 * An upstream with nothing learned yet uses the mean of those that have; null when none has.
 */

export interface EtaContext {
  upstreams: UpstreamState[];
  rates: Map<string, UpstreamRate>;
  now: number;
}

interface SimUpstream {
  name: string;
  rate: InferenceRate;
  loadMs: number;
  /** Ms from now until it is free. */
  free: number;
  /** Pipelines loaded: both on a single-model server once loaded. */
  warm: Set<JobKind>;
  twoPipelines: boolean;
  able: (kind: string) => boolean;
}

const KINDS: JobKind[] = ["generate", "edit"];

function warmKinds(u: UpstreamState): Set<JobKind> {
  const loaded = u.loaded_pipeline;
  if (loaded === "all") return new Set(KINDS);
  if (loaded === "generate" || loaded === "edit") return new Set([loaded]);
  if (loaded === "none") return new Set();
  return u.model_loaded === true ? new Set(KINDS) : new Set();
}

function mean(values: number[]): number | null {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

/** The upstreams a job's ETA considers, each with its learned (or the pooled) speed; empty when nothing is learned. */
function simUpstreams(ctx: EtaContext): SimUpstream[] {
  const learned = [...ctx.rates.values()];
  const inference = learned.flatMap((r) => (r.inference ? [r.inference] : []));
  if (inference.length === 0) return [];
  const pooled: InferenceRate = {
    overheadMs: mean(inference.map((r) => r.overheadMs))!,
    msPerCost: mean(inference.map((r) => r.msPerCost))!,
  };
  const pooledLoad = mean(learned.flatMap((r) => (r.loadMs !== null ? [r.loadMs] : []))) ?? 0;
  // Upstreams a worker serves (a name left by a removed upstream has no holder), and up if any are.
  const served = ctx.upstreams.filter((u) => u.owner !== null);
  const pool = served.length ? served : ctx.upstreams;
  const upNow = pool.filter((u) => u.up !== false);
  const chosen = upNow.length ? upNow : pool;
  if (chosen.length === 0) {
    // No upstream registered yet (an api started before any worker): one GPU at the pooled speed.
    return [
      {
        name: "",
        rate: pooled,
        loadMs: pooledLoad,
        free: 0,
        warm: new Set(KINDS),
        twoPipelines: false,
        able: () => true,
      },
    ];
  }
  return chosen.map((u) => {
    const r = ctx.rates.get(u.name);
    return {
      name: u.name,
      rate: r?.inference ?? pooled,
      loadMs: r?.loadMs ?? pooledLoad,
      free: 0,
      warm: warmKinds(u),
      twoPipelines: u.capabilities?.health_shape === "pipelines",
      able: (kind: string) => u.capabilities === null || u.capabilities?.[kind as JobKind] !== null,
    };
  });
}

const inferenceMs = (u: SimUpstream, cost: number) => u.rate.overheadMs + u.rate.msPerCost * cost;

/**
 * Ms until a running job is done on `u` (never negative). A job just taken has no phase yet: it will
 * load if `u` does not have its pipeline loaded.
 */
function remainingMs(u: SimUpstream, job: RunningJobCost, now: number): number {
  const p = (job.progress ?? {}) as { phase?: string; generating_since?: number };
  const started = job.processedOn ?? now;
  const infer = inferenceMs(u, job.cost);
  const loading = p.phase === "loading" || (p.phase === undefined && !u.warm.has(job.kind as JobKind));
  if (loading) return Math.max(0, u.loadMs - (now - started)) + infer;
  const since = typeof p.generating_since === "number" ? p.generating_since : started;
  return Math.max(0, infer - (now - since));
}

function occupy(u: SimUpstream, kind: string, cost: number, notBefore = 0): number {
  const k = kind as JobKind;
  const load = u.warm.has(k) ? 0 : u.loadMs;
  const start = Math.max(u.free, notBefore);
  u.free = start + load + inferenceMs(u, cost);
  if (KINDS.includes(k)) u.warm = u.twoPipelines ? new Set([k]) : new Set(KINDS);
  return u.free;
}

/** The upstream able to run `kind` that starts generating it first (ties: the one done first). */
function pick(sims: SimUpstream[], kind: string, cost: number): SimUpstream | undefined {
  let best: SimUpstream | undefined;
  let bestReady = Number.POSITIVE_INFINITY;
  let bestDone = Number.POSITIVE_INFINITY;
  for (const u of sims) {
    if (!u.able(kind)) continue;
    const ready = u.free + (u.warm.has(kind as JobKind) ? 0 : u.loadMs);
    const done = ready + inferenceMs(u, cost);
    if (ready < bestReady || (ready === bestReady && done < bestDone)) {
      best = u;
      bestReady = ready;
      bestDone = done;
    }
  }
  return best;
}

/**
 * `m` more jobs of `cost` each, shared by `sims` in proportion to their speed (a fluid estimate):
 * the time T at which they are all done solves Σ max(0, T − free_u) / time_u = m over the upstreams
 * free before T.
 */
function spreadRest(sims: SimUpstream[], m: number, cost: number): void {
  if (m <= 0 || sims.length === 0) return;
  const sorted = [...sims].sort((a, b) => a.free - b.free);
  let T = Number.POSITIVE_INFINITY;
  let sumInv = 0;
  let sumFreeInv = 0;
  for (const [i, u] of sorted.entries()) {
    const t = Math.max(1, inferenceMs(u, cost));
    sumInv += 1 / t;
    sumFreeInv += u.free / t;
    const candidate = (m + sumFreeInv) / sumInv;
    const next = sorted[i + 1];
    if (!next || candidate <= next.free) {
      T = candidate;
      break;
    }
  }
  for (const u of sims) u.free = Math.max(u.free, T);
}

function startFromRunning(
  sims: SimUpstream[],
  running: RunningJobCost[],
  ctx: EtaContext,
  skip?: string,
): void {
  const byName = new Map(sims.map((u) => [u.name, u]));
  const holder = new Map(ctx.upstreams.filter((u) => u.current_job).map((u) => [u.current_job!, u.name]));
  for (const job of running) {
    if (job.id === skip) continue;
    const name = (job.progress as { upstream?: string } | null)?.upstream ?? holder.get(job.id);
    const u = name !== undefined ? byName.get(name) : undefined;
    if (!u) continue;
    u.free = Math.max(u.free, remainingMs(u, job, ctx.now));
    if (KINDS.includes(job.kind as JobKind))
      u.warm = u.twoPipelines ? new Set([job.kind as JobKind]) : new Set(KINDS);
  }
}

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/** ETA in seconds of a queued job of `kind` and `cost` at `place`; null when no speed is learned yet. */
export function estimateQueuedEta(
  job: QueuedJobCost,
  place: Pick<QueuePlace, "aheadCount" | "ahead" | "delayedUntil" | "running">,
  ctx: EtaContext,
): number | null {
  const sims = simUpstreams(ctx);
  if (sims.length === 0) return null;
  startFromRunning(sims, place.running, ctx);
  for (const a of place.ahead) {
    const u = pick(sims, a.kind, a.cost);
    if (u) occupy(u, a.kind, a.cost);
  }
  const rest = place.aheadCount - place.ahead.length;
  const meanCost = mean(place.ahead.map((a) => a.cost)) ?? job.cost;
  const able = sims.filter((u) => u.able(job.kind));
  spreadRest(able.length ? able : sims, rest, meanCost);
  const u = pick(sims, job.kind, job.cost) ?? sims[0]!;
  const notBefore = place.delayedUntil !== null ? place.delayedUntil - ctx.now : 0;
  return seconds(occupy(u, job.kind, job.cost, notBefore));
}

/** ETA in seconds of a running job; null when no speed is learned yet. */
export function estimateRunningEta(job: RunningJobCost, ctx: EtaContext): number | null {
  const sims = simUpstreams(ctx);
  if (sims.length === 0) return null;
  const name = (job.progress as { upstream?: string } | null)?.upstream;
  const u = sims.find((s) => s.name === name) ?? sims[0]!;
  return seconds(remainingMs(u, job, ctx.now));
}
