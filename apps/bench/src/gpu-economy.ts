import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { makePng, type PrivateRedis, startRedis } from "@zimage/testkit/standalone";
import { runFifo } from "./economy-fifo";
import { runGateway } from "./economy-gateway";
import { renderEconomy, type SideResult, type SideSummary, summarize } from "./economy-report";
import { type GpuProfile, simOptions } from "./economy-sim";
import { makeTrace, type TraceJob, type TraceOptions } from "./economy-trace";
import { startGateway } from "./gateway";
import { machine } from "./machine";
import { placeSectionUnder } from "./report-section";

export type EconomySides = "both" | "fifo" | "gateway";

export interface EconomyOptions {
  trace: TraceOptions;
  gpu: GpuProfile;
  /** How often the FIFO baseline polls an edit task. */
  pollMs: number;
  sides: EconomySides;
}

export const ECONOMY_DEFAULTS: EconomyOptions = {
  trace: {
    jobs: 60,
    editShare: 0.3,
    users: ["alice", "bob", "carol"],
    bursts: 4,
    burstGapMs: 10_000,
    burstSpreadMs: 2_000,
    seed: 15,
  },
  // A load ≫ an inference: 1.5 s per pipeline load, 150–300 ms per job at the trace's sizes and steps.
  gpu: { t2iLoadMs: 1500, editLoadMs: 1500, baseMs: 100, msPerStepMegapixel: 12 },
  pollMs: 250,
  sides: "both",
};

const FLAGS = {
  jobs: "number",
  "edit-share": "number",
  users: "list",
  bursts: "number",
  "burst-gap-ms": "number",
  "burst-spread-ms": "number",
  seed: "number",
  "load-ms": "number",
  "t2i-load-ms": "number",
  "edit-load-ms": "number",
  "base-ms": "number",
  "ms-per-step-mp": "number",
  "poll-ms": "number",
  sides: "string",
  out: "string",
  into: "string",
} as const;

/**
 * `gpu-economy`'s flags, each also settable as GPU_ECONOMY_<FLAG> (e.g. GPU_ECONOMY_EDIT_SHARE=0);
 * a flag wins over its variable. Throws on a value that is not a number, or an unknown `--sides`.
 */
export function parseEconomyArgs(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): { options: EconomyOptions; out: string | undefined; into: string | undefined } {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: "string" as const }])),
  });
  const raw = (flag: keyof typeof FLAGS): string | undefined =>
    (values[flag] as string | undefined) ?? env[`GPU_ECONOMY_${flag.toUpperCase().replaceAll("-", "_")}`];
  const num = (flag: keyof typeof FLAGS, fallback: number): number => {
    const v = raw(flag);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n)) throw new Error(`--${flag} must be a number, got "${v}"`);
    return n;
  };
  const d = ECONOMY_DEFAULTS;
  const sides = raw("sides") ?? d.sides;
  if (sides !== "both" && sides !== "fifo" && sides !== "gateway")
    throw new Error(`--sides must be both, fifo or gateway, got "${sides}"`);
  const loadMs = num("load-ms", Number.NaN);
  const users = raw("users");
  return {
    options: {
      trace: {
        jobs: num("jobs", d.trace.jobs),
        editShare: num("edit-share", d.trace.editShare),
        users: users ? users.split(",").filter(Boolean) : d.trace.users,
        bursts: num("bursts", d.trace.bursts),
        burstGapMs: num("burst-gap-ms", d.trace.burstGapMs),
        burstSpreadMs: num("burst-spread-ms", d.trace.burstSpreadMs),
        seed: num("seed", d.trace.seed),
      },
      gpu: {
        t2iLoadMs: num("t2i-load-ms", Number.isNaN(loadMs) ? d.gpu.t2iLoadMs : loadMs),
        editLoadMs: num("edit-load-ms", Number.isNaN(loadMs) ? d.gpu.editLoadMs : loadMs),
        baseMs: num("base-ms", d.gpu.baseMs),
        msPerStepMegapixel: num("ms-per-step-mp", d.gpu.msPerStepMegapixel),
      },
      pollMs: num("poll-ms", d.pollMs),
      sides,
    },
    out: raw("out"),
    into: raw("into"),
  };
}

/** The inference time of a job on the simulator, as its reference profile computes it. */
const inferenceMs = (gpu: GpuProfile, job: TraceJob) =>
  gpu.baseMs + (gpu.msPerStepMegapixel * (job.steps ?? 50) * job.width * job.height) / 1_000_000;

function describe(o: EconomyOptions, trace: TraceJob[]): string {
  const t = o.trace;
  const edits = trace.filter((j) => j.kind === "edit").length;
  const perUser = t.users.map((u) => `${u} ${trace.filter((j) => j.user === u).length}`).join(", ");
  const inf = trace.map((j) => inferenceMs(o.gpu, j));
  const g = o.gpu;
  return `A mixed trace of ${trace.length} jobs, ${edits} of them edits (${Math.round((100 * edits) / trace.length)} %), from
${t.users.length} users (${perUser}), arriving in ${t.bursts} bursts ${t.burstGapMs / 1000} s apart, each spread over
${t.burstSpreadMs / 1000} s (seed ${t.seed}), replayed in real time. Each side has its own reference-profile simulator:
loading the text-to-image pipeline takes ${g.t2iLoadMs / 1000} s, the edit pipeline ${g.editLoadMs / 1000} s (each evicts the other), and
inference ${g.baseMs} ms + ${g.msPerStepMegapixel} ms per step-megapixel, ${Math.round(Math.min(...inf))}–${Math.round(Math.max(...inf))} ms per job here.

- **FIFO**: what a team would write by hand, a plain BullMQ \`Queue\` and \`Worker\` (concurrency 1) forwarding each job in
  arrival order: text-to-image to \`POST /v1/images/generations\`, edits to \`POST /v1/images/async_edit\` then polling the task
  every ${o.pollMs} ms, then fetching the image from \`/outputs/\`.
- **gateway**: the api and one worker; each job submitted by its user with their own API key to \`POST /v1/jobs\` (JSON for
  text-to-image, multipart with the image for edits) and followed with \`GET /v1/jobs/:id?wait=60\`.

*Wait* is submit → the simulator starting the job's image request (its GPU lock taken; a model load it needs counts as
GPU work). *Done* is submit → result stored (FIFO: the image fetched; gateway: the job's \`completed_at\`). Percentiles
are nearest-rank over succeeded jobs. GPU time loading = successful loads × load time; generating = the image requests'
time on the GPU lock minus loading. Makespan = first submit → last job done. One run.`;
}

export interface EconomyRun {
  markdown: string;
  summaries: SideSummary[];
}

/** Runs the scenario on the chosen sides (FIFO first, then the gateway) and answers its report section. */
export async function gpuEconomy(
  o: EconomyOptions,
  log: (msg: string) => void = () => {},
): Promise<EconomyRun> {
  const trace = makeTrace(o.trace);
  const inputs = new Map(
    trace.filter((j) => j.kind === "edit").map((j) => [j.index, makePng(j.width, j.height, j.index)]),
  );
  const longestLoad = Math.max(o.gpu.t2iLoadMs, o.gpu.editLoadMs);
  const timeoutMs = Math.ceil(
    60_000 + trace.reduce((ms, j) => ms + longestLoad + inferenceMs(o.gpu, j) + 500, 0),
  );
  const wantGateway = o.sides !== "fifo";
  // One Redis for both sides when both run (the FIFO baseline under a prefix of its own).
  const gateway = wantGateway ? await startGateway({ sim: simOptions(o.gpu) }) : null;
  let redis: PrivateRedis | null = null;
  const results: SideResult[] = [];
  try {
    if (o.sides !== "gateway") {
      if (!gateway) redis = await startRedis();
      log(`gpu economy: FIFO baseline, ${trace.length} jobs`);
      results.push(
        await runFifo(trace, inputs, o.gpu, gateway?.cluster.redis.url ?? redis!.url, o.pollMs, timeoutMs),
      );
    }
    if (gateway) {
      log(`gpu economy: gateway, ${trace.length} jobs`);
      results.push(await runGateway(gateway.cluster, trace, inputs, o.gpu, timeoutMs));
    }
  } finally {
    await gateway?.cluster.stop();
    await redis?.stop();
  }
  const summaries = results.map((r) => summarize(r, trace));
  const failures = results.flatMap((r) =>
    [...new Set(r.outcomes.filter((x) => !x.ok).map((x) => `${x.kind}: ${x.error}`))].map(
      (e) => `- ${r.name}, ${r.outcomes.filter((x) => !x.ok && `${x.kind}: ${x.error}` === e).length} × ${e}`,
    ),
  );
  const markdown = `${describe(o, trace)}\n\n${renderEconomy(summaries)}${
    failures.length ? `\n\nFailures:\n\n${failures.join("\n")}` : ""
  }`;
  return { markdown, summaries };
}

export const ECONOMY_HEADING = "## 7. GPU economy";

/** The report's section 7: `body` under its heading, with how to run it alone. */
export function economySection(body: string, producedBy = ""): string {
  return `${ECONOMY_HEADING}

${producedBy ? `${producedBy}\n\n` : ""}${body}

Run alone with \`npx -y pnpm@10 bench gpu-economy\` (flags \`--jobs\`, \`--edit-share\`, \`--bursts\`, \`--load-ms\`,
\`--sides fifo|gateway|both\`, \`--into BENCHMARKS.md\`, … in apps/bench/src/gpu-economy.ts).
`;
}

/** `doc` with the GPU economy `section` in place (see placeSectionUnder). */
export function placeSection(doc: string, section: string): string {
  return placeSectionUnder(doc, ECONOMY_HEADING, section);
}

/**
 * `pnpm bench gpu-economy [flags]`: prints the section and writes it to `--out` (default
 * .data/bench/gpu-economy.md); with `--into FILE` also puts it in place in that report (e.g. BENCHMARKS.md).
 */
export async function gpuEconomyCli(argv: string[]): Promise<void> {
  const { options, out, into } = parseEconomyArgs(argv);
  const started = Date.now();
  const log = (msg: string) =>
    process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
  const { markdown } = await gpuEconomy(options, log);
  const flags = argv.filter((_, i) => argv[i] !== "--into" && argv[i - 1] !== "--into");
  const section = economySection(
    markdown,
    `Produced by \`npx -y pnpm@10 bench gpu-economy${flags.length ? ` ${flags.join(" ")}` : ""}\` on ${new Date().toISOString().slice(0, 10)}, in ${((Date.now() - started) / 1000).toFixed(0)} s, on ${machine()}.`,
  );
  const root = resolve(import.meta.dirname, "../../..");
  const file = resolve(root, out ?? ".data/bench/gpu-economy.md");
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, section);
  process.stdout.write(section);
  log(`written to ${file}`);
  if (into) {
    const target = resolve(root, into);
    await writeFile(target, placeSection(await readFile(target, "utf8"), section));
    log(`placed in ${target}`);
  }
}
