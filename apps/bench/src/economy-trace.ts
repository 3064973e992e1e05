/** The GPU economy scenario's workload: a deterministic mixed trace of text-to-image and edit jobs. */

export type EconomyKind = "generate" | "edit";

export interface TraceJob {
  index: number;
  user: string;
  kind: EconomyKind;
  /** Arrival time, in ms from the start of the replay. */
  atMs: number;
  /** Text-to-image: the output size; edit: the input image's size (the reference server keeps it). */
  width: number;
  height: number;
  /** Text-to-image only: the reference server runs every edit at 50 steps whatever is asked. */
  steps: number | null;
  /** Unique per job, so each job can be found again in the simulator's request log. */
  prompt: string;
}

export interface TraceOptions {
  jobs: number;
  /** Share of edit jobs, 0..1: exactly round(jobs × editShare) of them. */
  editShare: number;
  users: string[];
  /** Jobs arrive in this many bursts, `burstGapMs` apart, each spread over `burstSpreadMs`. */
  bursts: number;
  burstGapMs: number;
  burstSpreadMs: number;
  seed: number;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1); the same seed gives the same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T2I_SIDES = [384, 512];
const T2I_STEPS = [20, 30, 40];
const EDIT_SIDES = [384, 512];

/**
 * Jobs split as evenly as possible over the bursts; within a burst, arrivals uniform over its spread;
 * users uniform; exactly round(jobs × editShare) edits placed at random. Sorted by arrival.
 */
export function makeTrace(o: TraceOptions): TraceJob[] {
  if (o.jobs < 1 || o.bursts < 1 || o.users.length < 1)
    throw new Error("a trace needs jobs, bursts and users");
  if (!(o.editShare >= 0 && o.editShare <= 1)) throw new Error("editShare must be between 0 and 1");
  const rand = prng(o.seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const edits = Math.round(o.jobs * o.editShare);
  // Fisher–Yates over the job slots: the first `edits` slots of the shuffle are edits.
  const slots = Array.from({ length: o.jobs }, (_, i) => i);
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [slots[i], slots[j]] = [slots[j]!, slots[i]!];
  }
  const isEdit = new Set(slots.slice(0, edits));
  const jobs: Omit<TraceJob, "index" | "prompt">[] = [];
  for (let i = 0; i < o.jobs; i++) {
    const burst = Math.floor((i * o.bursts) / o.jobs);
    const kind: EconomyKind = isEdit.has(i) ? "edit" : "generate";
    const side = pick(kind === "edit" ? EDIT_SIDES : T2I_SIDES);
    jobs.push({
      user: pick(o.users),
      kind,
      atMs: Math.round(burst * o.burstGapMs + rand() * o.burstSpreadMs),
      width: side,
      height: side,
      steps: kind === "generate" ? pick(T2I_STEPS) : null,
    });
  }
  jobs.sort((a, b) => a.atMs - b.atMs);
  return jobs.map((j, index) => ({
    ...j,
    index,
    prompt: `gpu-economy job ${index}: ${j.kind === "edit" ? "repaint this in watercolour" : "a lighthouse at dusk"} (${j.user})`,
  }));
}
