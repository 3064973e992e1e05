import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { addedLatency } from "./added-latency";
import { pollingSection, submitSection } from "./baseline-report";
import { type DispatchRun, dispatchOverhead } from "./dispatch-overhead";
import { ETA_DEFAULTS, ETA_HEADING, etaAccuracy } from "./eta-accuracy";
import { fanOut } from "./fan-out";
import { ECONOMY_DEFAULTS, economySection, gpuEconomy, gpuEconomyCli } from "./gpu-economy";
import { machine } from "./machine";
import { redisTopologies, TOPOLOGIES_DEFAULTS, TOPOLOGIES_HEADING } from "./redis-topologies";
import { sectionUnder, writeScenarioSection } from "./report-section";
import { scale } from "./scale";
import { SIZING_DEFAULTS, SIZING_HEADING, sizing } from "./sizing";
import { fmt, spread, verdict } from "./stats";
import { statusPolling } from "./status-polling";
import { STORAGE_DEFAULTS, STORAGE_HEADING, storageLatency } from "./storage-latency";
import { submitThroughput } from "./submit-throughput";

/**
 * `pnpm bench [--quick] [--only dispatch,submit,polling,scale,fanout,latency,economy,storage,eta]`: starts its own Redis,
 * simulators, api and workers on loopback for each measurement and writes the report (BENCHMARKS.md
 * for a full run, .data/bench/BENCHMARKS.quick.md for --quick).
 * `pnpm bench gpu-economy [flags]` runs the GPU economy scenario alone (flags in gpu-economy.ts).
 * `pnpm bench redis-topologies|storage|sizing [--into BENCHMARKS.md]` runs one of issue #18's scenarios alone
 * and writes its section to .data/bench/<name>.md (and in place in the file given to --into).
 * redis-topologies (~3 min) and sizing (~1–2 min) are not in the full run; a full run keeps their sections.
 * `pnpm bench eta` (issue #19's ETA accuracy, ~1 min) is in the full run, not in --quick.
 */
if (process.argv[2] === "gpu-economy") {
  await gpuEconomyCli(process.argv.slice(3));
  process.exit(0);
}
const scenarios: Record<
  string,
  { heading: string; run: (log: (msg: string) => void) => Promise<{ markdown: string }> }
> = {
  "redis-topologies": {
    heading: TOPOLOGIES_HEADING,
    run: (log) => redisTopologies(TOPOLOGIES_DEFAULTS, log),
  },
  storage: { heading: STORAGE_HEADING, run: (log) => storageLatency(STORAGE_DEFAULTS, log) },
  sizing: { heading: SIZING_HEADING, run: (log) => sizing(SIZING_DEFAULTS, log) },
  eta: { heading: ETA_HEADING, run: (log) => etaAccuracy(ETA_DEFAULTS, log) },
};
const scenario = scenarios[process.argv[2] ?? ""];
if (scenario) {
  const t0 = Date.now();
  const log = (msg: string) =>
    process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);
  const { markdown } = await scenario.run(log);
  await writeScenarioSection({
    name: process.argv[2]!,
    heading: scenario.heading,
    argv: process.argv.slice(3),
    seconds: (Date.now() - t0) / 1000,
    body: markdown,
    log,
  });
  process.exit(0);
}
const { values } = parseArgs({
  options: { quick: { type: "boolean" }, only: { type: "string" }, out: { type: "string" } },
});
const quick = values.quick === true;
const only = new Set(
  (values.only ?? `dispatch,submit,polling,scale,fanout,latency,economy,storage${quick ? "" : ",eta"}`).split(
    ",",
  ),
);
const root = resolve(import.meta.dirname, "../../..");
const out = resolve(root, values.out ?? (quick ? ".data/bench/BENCHMARKS.quick.md" : "BENCHMARKS.md"));

const plan = quick
  ? {
      runs: 1,
      dispatchJobs: 60,
      levels: [1, 16],
      seconds: 2,
      scaleJobs: 5_000,
      subscribers: 200,
      latencyRuns: 5,
      economy: { jobs: 24, bursts: 2 },
    }
  : {
      runs: 3,
      dispatchJobs: 500,
      levels: [1, 16, 64],
      seconds: 5,
      scaleJobs: 100_000,
      subscribers: 1_000,
      latencyRuns: 15,
      economy: { jobs: ECONOMY_DEFAULTS.trace.jobs, bursts: ECONOMY_DEFAULTS.trace.bursts },
    };

const started = Date.now();
const log = (msg: string) =>
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
const sections: string[] = [];
const repeat = async <T>(n: number, fn: () => Promise<T>): Promise<T[]> => {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
};

if (only.has("dispatch")) {
  const rows: string[] = [];
  for (const upstreams of [1, 4]) {
    log(`dispatch overhead, ${upstreams} upstream(s), ${plan.dispatchJobs} jobs × ${plan.runs}`);
    const runs: DispatchRun[] = await repeat(plan.runs, () => dispatchOverhead(upstreams, plan.dispatchJobs));
    const p50 = spread(runs.map((r) => r.gapP50));
    const p99 = spread(runs.map((r) => r.gapP99));
    rows.push(
      `| ${upstreams} upstream${upstreams > 1 ? "s" : ""}, ${upstreams} worker${upstreams > 1 ? "s" : ""} | ${fmt(p50, 2, " ms")} | ${fmt(p99, 2, " ms")} | ${fmt(spread(runs.map((r) => r.gapMax)), 1, " ms")} | ${fmt(spread(runs.map((r) => r.utilization * 100)), 2, " %")} | ${runs.map((r) => r.leaseHolders).join(", ")} | ${verdict(p50.median <= 3 && p99.median <= 10)} |`,
    );
  }
  sections.push(`## 1. Dispatch overhead

Simulator at a fixed 100 ms per image, ${plan.dispatchJobs} jobs queued before the workers start. The gap is the
simulator's idle time between one image request's end and the next one's start; utilization is busy time / makespan, per GPU.
Goal: gap p50 ≤ 3 ms, p99 ≤ 10 ms.

| setup | gap p50 | gap p99 | gap max | utilization | processes holding leases (per run) | goal |
|---|---|---|---|---|---|---|
${rows.join("\n")}`);
}

if (only.has("submit")) {
  log(`submit throughput at ${plan.levels.join(", ")} connections × ${plan.runs}`);
  const runs = await repeat(plan.runs, () => submitThroughput(plan.levels, plan.seconds));
  sections.push(submitSection(runs, plan.levels, plan.seconds));
}

if (only.has("polling")) {
  log(`status polling × ${plan.runs}`);
  const runs = await repeat(plan.runs, () => statusPolling(16, plan.seconds));
  sections.push(pollingSection(runs, 16, plan.seconds));
}

if (only.has("scale")) {
  log(`scale: ${plan.scaleJobs} queued jobs`);
  const r = await scale(plan.scaleJobs);
  sections.push(`## 4. Scale

${r.jobs.toLocaleString("en")} jobs queued through the api (autocannon, 32 connections; their upstream is unreachable, so they stay queued). One run.

| figure | value |
|---|---|
| Redis memory per queued job | ${Math.round(r.redisBytesPerJob)} bytes |
| api RSS | ${r.apiRssMb.toFixed(0)} MiB |
| worker RSS | ${r.workerRssMb.toFixed(0)} MiB |
| view of the last job (computes queue_position = ${r.lastJobPosition}), median of 20 | ${r.lastJobViewMs.toFixed(2)} ms |
| submit latency, empty queue, median of 20 | ${r.submitMsEmpty.toFixed(2)} ms |
| submit latency at ${r.jobs.toLocaleString("en")} queued, median of 20 | ${r.submitMsDeep.toFixed(2)} ms |`);
}

if (only.has("fanout")) {
  log(`fan-out to ${plan.subscribers} SSE subscribers × ${plan.runs}`);
  const runs = await repeat(plan.runs, () => fanOut(plan.subscribers));
  sections.push(`## 5. Fan-out

${plan.subscribers} SSE subscribers (\`GET /v1/jobs/:id/events\`) on one api process, one job; time from the job's completion to the
subscribers' final event.

| median subscriber | last subscriber |
|---|---|
| ${fmt(spread(runs.map((r) => r.p50Ms)), 1, " ms")} | ${fmt(spread(runs.map((r) => r.lastMs)), 1, " ms")} |`);
}

if (only.has("latency")) {
  log(`added latency, ${plan.latencyRuns} jobs`);
  const added = spread(await addedLatency(plan.latencyRuns));
  sections.push(`## 6. End-to-end latency added

One job at a time on an idle system with a warm GPU (100 ms per image): time from sending \`POST /v1/jobs\` with
\`Prefer: wait=30\` to receiving the finished job, minus the simulator's time for the image request. ${added.runs} jobs.

| added latency, median (min–max) |
|---|
| ${fmt(added, 1, " ms")} |`);
}

if (only.has("economy")) {
  const o = { ...ECONOMY_DEFAULTS, trace: { ...ECONOMY_DEFAULTS.trace, ...plan.economy } };
  const r = await gpuEconomy(o, log);
  sections.push(economySection(r.markdown).trimEnd());
}

// The scenarios run alone keep their sections, with the command and date they were produced by.
const previous = await readFile(out, "utf8").catch(() => "");
const kept = (heading: string) => {
  const section = sectionUnder(previous, heading);
  if (section) sections.push(section);
};
kept(TOPOLOGIES_HEADING);
if (only.has("storage")) {
  log("storage: put and get on the filesystem and S3 stores");
  const r = await storageLatency(quick ? { ops: 10 } : STORAGE_DEFAULTS, log);
  sections.push(`${STORAGE_HEADING}\n\n${r.markdown}`);
}
kept(SIZING_HEADING);
if (only.has("eta")) {
  const r = await etaAccuracy(ETA_DEFAULTS, log);
  sections.push(`${ETA_HEADING}\n\n${r.markdown}`);
}

const command = `npx -y pnpm@10 bench${quick ? " --quick" : ""}${values.only ? ` --only ${values.only}` : ""}`;
const report = `# Benchmarks

Produced by \`${command}\` on ${new Date().toISOString().slice(0, 10)}, in ${((Date.now() - started) / 1000).toFixed(0)} s.
Machine: ${machine()}. Everything on loopback: a private redis-server (AOF everysec), simulators, the api and
worker processes with production timings, and the load generator, all on this machine. Figures are the median of
${plan.runs} run${plan.runs > 1 ? "s" : ""} with (min–max) unless a section says otherwise; ratios are computed within each run.

${sections.join("\n\n")}
${await readFile(resolve(import.meta.dirname, "../findings.md"), "utf8")
  .then((t) => `\n${t}`)
  // findings.md is optional: without it the report simply has no findings section.
  .catch(() => "")}`;
await mkdir(dirname(out), { recursive: true });
await writeFile(out, report);
process.stdout.write(report);
log(`written to ${out}`);
process.exit(0);
