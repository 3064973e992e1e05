import { fmt, spread, verdict } from "./stats";
import type { PollingRun } from "./status-polling";
import type { SubmitRun } from "./submit-throughput";

/** Issue #20's goals: the gateway's submit and poll at ≥ 70 % of the hand-written gateway's. */
export const HAND_GOAL_PERCENT = 70;

const HANDWRITTEN = `The hand-written gateway (apps/bench/src/handwritten-gateway.ts) is what a team would write instead of this
gateway: the smallest Express app with one shared bearer token, the same zod schema, \`Queue.add\` answering \`{id}\`,
\`GET\` by \`Job.fromId\`, and a BullMQ worker with concurrency 1 forwarding to the simulator; no per-user keys, limits,
fair share, idempotency or queue positions. It runs in its own process on the same Redis under its own BullMQ prefix
and is loaded by the same autocannon, in the same run.`;

/** The hand-written gateway's figure of one run: every run of a section has it, except on an external Redis. */
const hand = (r: SubmitRun): { rps: number; p99Ms: number } => {
  if (!r.hand) throw new Error(`submit run at ${r.connections} connections has no hand-written baseline`);
  return r.hand;
};

/** §2, from `runs` (each run: one SubmitRun per level, in `levels` order). */
export function submitSection(runs: SubmitRun[][], levels: number[], seconds: number): string {
  const rows = levels.map((c, i) => {
    const at = runs.map((r) => r[i]!);
    const s = (f: (r: SubmitRun) => number) => spread(at.map(f));
    const vsHand = s((r) => (100 * r.apiRps) / hand(r).rps);
    const vsRaw = s((r) => (100 * r.apiRps) / r.rawRps);
    return `| ${c} | ${fmt(
      s((r) => r.apiRps),
      0,
    )} | ${fmt(
      s((r) => r.apiP99Ms),
      0,
      " ms",
    )} | ${fmt(
      s((r) => hand(r).rps),
      0,
    )} | ${fmt(
      s((r) => hand(r).p99Ms),
      0,
      " ms",
    )} | ${fmt(
      s((r) => r.rawRps),
      0,
    )} | ${fmt(vsHand, 0, " %")} | ${verdict(vsHand.median >= HAND_GOAL_PERCENT)} | ${fmt(vsRaw, 0, " %")} | ${verdict(vsRaw.median >= 50)} |`;
  });
  return `## 2. Submit throughput against a hand-written gateway

Authenticated \`POST /v1/jobs\` (a user key, 1024x1024 text-to-image) with autocannon for ${seconds} s per level, against the
hand-written gateway's \`POST /v1/jobs\` with the same body and connections, and raw BullMQ \`Queue.add\` from the same
number of concurrent loops (the physical limit), all on the same Redis with no worker running.

${HANDWRITTEN}

Goals: ≥ ${HAND_GOAL_PERCENT} % of the hand-written gateway (issue #20), ≥ 50 % of raw (issue #9).

| connections | api submits/s | api p99 | hand-written submits/s | hand-written p99 | raw Queue.add/s | api / hand-written | goal (≥ ${HAND_GOAL_PERCENT} %) | api / raw | goal (≥ 50 %) |
|---|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}`;
}

/** §3, from one PollingRun per run. */
export function pollingSection(runs: PollingRun[], connections: number, seconds: number): string {
  const s = (f: (r: PollingRun) => number) => spread(runs.map(f));
  const vsHand = s((r) => (100 * r.apiRps) / r.handRps);
  const vsBare = s((r) => (100 * r.apiRps) / r.bareRps);
  return `## 3. Status polling against a hand-written gateway

\`GET /v1/jobs/:id\` of a finished job with a user key, ${connections} connections for ${seconds} s, against the hand-written gateway's
\`GET /v1/jobs/:id\` of a job its own worker finished, and a bare Express handler answering the gateway's JSON from
memory in its own process (the HTTP limit), in the same run. The hand-written gateway is the one of §2
(apps/bench/src/handwritten-gateway.ts): its GET checks the shared token and answers \`Job.fromId\` with the job's state;
the gateway's also looks up the user's key, keeps each job to its owner and signs the image URLs.

Goals: ≥ ${HAND_GOAL_PERCENT} % of the hand-written gateway (issue #20), ≥ 60 % of bare Express (issue #9).

| api GET/s | hand-written GET/s | bare Express GET/s | api / hand-written | goal (≥ ${HAND_GOAL_PERCENT} %) | api / bare | goal (≥ 60 %) |
|---|---|---|---|---|---|---|
| ${fmt(
    s((r) => r.apiRps),
    0,
  )} | ${fmt(
    s((r) => r.handRps),
    0,
  )} | ${fmt(
    s((r) => r.bareRps),
    0,
  )} | ${fmt(vsHand, 0, " %")} | ${verdict(vsHand.median >= HAND_GOAL_PERCENT)} | ${fmt(vsBare, 0, " %")} | ${verdict(vsBare.median >= 60)} |`;
}
