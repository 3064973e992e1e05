import { createRedis, getDispatchStats, readUpstreamStates } from "@zimage/core";
import { prng } from "./economy-trace";
import { estimateEta, loadAhead } from "./eta-legacy";
import { sleep, startGateway } from "./gateway";
import { percentile } from "./stats";

export const ETA_HEADING = "## 11. ETA accuracy";

export interface EtaPlan {
  /** Jobs measured, in `bursts` bursts `burstGapMs` apart (long enough for an idle unload between them). */
  jobs: number;
  bursts: number;
  burstGapMs: number;
  /** Jobs of each burst arrive spread over this long. */
  burstSpreadMs: number;
  /** Unmeasured jobs first, so both estimators have something learned. */
  warmup: number;
  seed: number;
}

export const ETA_DEFAULTS: EtaPlan = {
  jobs: 80,
  bursts: 5,
  burstGapMs: 9_000,
  burstSpreadMs: 2_000,
  warmup: 6,
  seed: 19,
};

/**
 * The simulators' time, scaled down from a real GPU's: 60 ms a request plus 20 ms per megapixel-step
 * (1024x1024, 50 steps, n=1: 1.1 s), and a 1.5 s model load after each idle unload (IDLE_UNLOAD 3 s).
 */
const SIM = { loadMs: 1_500, baseMs: 60, msPerStepMegapixel: 20, logLevel: "silent" };
const SIZES = [256, 512, 768, 1024];
const STEPS = [8, 20, 30, 50];
const NS = [1, 1, 2, 4];

interface Sample {
  actual: number;
  after: number | null;
  before: number | null;
  position: number;
}

interface View {
  id: string;
  status: string;
  created_at: string;
  completed_at: string | null;
  queue_position: number | null;
  eta_seconds: number | null;
}

/**
 * Issue #19: how close `eta_seconds` in the submit answer comes to the job's real completion, on two
 * simulated GPUs, with a mix of sizes, steps and n, arriving in bursts with idle gaps (so cold starts).
 * "Before" is main's rolling-average ETA (eta-legacy.ts), computed in the same run from the same
 * Redis right after each submit answer, given the same queue position.
 */
export async function etaAccuracy(plan: EtaPlan, log: (msg: string) => void): Promise<{ markdown: string }> {
  const { cluster, key } = await startGateway({ upstreams: 2, sim: SIM, env: { IDLE_UNLOAD_SECONDS: "3" } });
  const redis = createRedis(cluster.redis.url);
  const rand = prng(plan.seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const body = (i: number) => {
    const size = pick(SIZES);
    return { prompt: `eta ${i}`, size: `${size}x${size}`, num_inference_steps: pick(STEPS), n: pick(NS) };
  };
  // A kept-alive connection the api closed while idle (between bursts) fails once: ask again, with an
  // Idempotency-Key so a submit that did land is not queued twice.
  const retried = async (url: string, init: RequestInit): Promise<Response> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fetch(url, init);
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  };
  const submit = async (b: Record<string, unknown>): Promise<View> => {
    const res = await retried(`${cluster.apiUrl}/v1/jobs`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        "idempotency-key": String(b.prompt).replaceAll(" ", "-"),
      },
      body: JSON.stringify(b),
    });
    // 200: the Idempotency-Key's replay of a submit whose answer was lost.
    if (res.status !== 202 && res.status !== 200)
      throw new Error(`submit answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as View;
  };
  const finished = async (id: string): Promise<View> => {
    for (;;) {
      const res = await retried(`${cluster.apiUrl}/v1/jobs/${id}?wait=60`, {
        headers: { authorization: `Bearer ${key}` },
      });
      const v = (await res.json()) as View;
      if (v.status === "succeeded") return v;
      if (v.status === "failed" || v.status === "canceled") throw new Error(`job ${id} ended ${v.status}`);
    }
  };
  try {
    log(`eta: ${plan.warmup} warm-up jobs`);
    for (let i = 0; i < plan.warmup; i++) await finished((await submit(body(-1 - i))).id);
    const perBurst = Math.ceil(plan.jobs / plan.bursts);
    const started = Date.now();
    const runs: Array<Promise<Sample>> = [];
    for (let i = 0; i < plan.jobs; i++) {
      const burst = Math.floor(i / perBurst);
      const at = burst * plan.burstGapMs + rand() * plan.burstSpreadMs;
      runs.push(
        (async () => {
          await sleep(Math.max(0, started + at - Date.now()));
          const b = body(i);
          const answer = await submit(b);
          const [stats, upstreams] = await Promise.all([
            getDispatchStats(redis, cluster.env.QUEUE_PREFIX!),
            readUpstreamStates(redis, cluster.env.QUEUE_PREFIX!),
          ]);
          const position = answer.queue_position ?? 1;
          const before = estimateEta(stats, position, null, loadAhead(upstreams, "generate"));
          const done = await finished(answer.id);
          const actual = (Date.parse(done.completed_at!) - Date.parse(answer.created_at)) / 1000;
          return { actual, after: answer.eta_seconds, before, position };
        })(),
      );
    }
    log(`eta: ${plan.jobs} jobs in ${plan.bursts} bursts`);
    const samples = await Promise.all(runs);
    const loads = cluster.sims.reduce((sum, sim) => sum + sim.stats().loads, 0);
    return { markdown: report(plan, samples, loads) };
  } finally {
    redis.disconnect();
    await cluster.stop();
  }
}

function errors(samples: Sample[], which: "before" | "after") {
  const given = samples.filter((s) => s[which] !== null);
  const abs = given.map((s) => Math.abs(s[which]! - s.actual));
  const rel = given.map((s) => (100 * Math.abs(s[which]! - s.actual)) / Math.max(s.actual, 0.001));
  return {
    given: given.length,
    absP50: percentile(abs, 50),
    absP90: percentile(abs, 90),
    relP50: percentile(rel, 50),
    relP90: percentile(rel, 90),
  };
}

function report(plan: EtaPlan, samples: Sample[], loads: number): string {
  const row = (name: string, e: ReturnType<typeof errors>) =>
    `| ${name} | ${e.given} / ${samples.length} | ${e.absP50.toFixed(1)} s | ${e.absP90.toFixed(1)} s | ${e.relP50.toFixed(0)} % | ${e.relP90.toFixed(0)} % |`;
  const actual = samples.map((s) => s.actual);
  return `Two simulated GPUs (${SIM.baseMs} ms a request + ${SIM.msPerStepMegapixel} ms per megapixel-step, ${SIM.loadMs / 1000} s model load, idle unload after
3 s), ${plan.jobs} text-to-image jobs after ${plan.warmup} warm-up jobs, in ${plan.bursts} bursts ${plan.burstGapMs / 1000} s apart (each spread over
${plan.burstSpreadMs / 1000} s; a GPU idle between bursts unloads, so a burst can start cold: ${loads} model loads in all): sizes ${SIZES.join("/")} square, ${STEPS.join("/")} steps, n ${[...new Set(NS)].join("/")}
(seed ${plan.seed}). Error of the \`eta_seconds\` in each submit answer against the job's real time from submit to completion
(median ${percentile(actual, 50).toFixed(1)} s, p90 ${percentile(actual, 90).toFixed(1)} s, max ${Math.max(...actual).toFixed(1)} s; queue position up to ${Math.max(...samples.map((s) => s.position))}).
"Before" is the rolling-average ETA of main before issue #19 (every job the recent average, \`ceil(position / upstreams)\` rounds,
one load when every GPU is cold), computed in the same run from the same Redis right after each answer, given the same position.
"After" is the cost model (README, "Job view").

| ETA | given | abs. error p50 | abs. error p90 | rel. error p50 | rel. error p90 |
|---|---|---|---|---|---|
${row("before: rolling average", errors(samples, "before"))}
${row("after: cost × learned rate per upstream", errors(samples, "after"))}`;
}
