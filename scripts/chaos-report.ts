import { readFile } from "node:fs/promises";
import { resolve } from "node:path";

/**
 * Prints the last chaos run (`.data/chaos/results.jsonl`, written by `pnpm test:chaos`) as the
 * Markdown tables of docs/reliability.md.
 */
const file = resolve(import.meta.dirname, "../.data/chaos/results.jsonl");
const rows = (await readFile(file, "utf8"))
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Record<string, unknown>);

// The newest row per fault, in the order the suite runs them.
const latest = new Map<string, Record<string, unknown>>();
for (const r of rows) latest.set(String(r.fault), r);

const faults = [...latest.values()].filter((r) => "submitted" in r);
console.log(
  "| fault | what happened | submitted | acknowledged | completed | lost | duplicated jobs | GPU re-runs | GPU max in flight | seconds |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const r of faults) {
  console.log(
    `| ${r.fault} | ${r.happened} | ${r.submitted} | ${r.acknowledged} | ${r.completed} | ${r.lost} | ${r.duplicatedJobs} | ${r.upstreamDuplicates} | ${r.gpuMaxInFlight} | ${r.seconds} |`,
  );
}
const timing = latest.get("key comparison timing") as
  | { adminKeyCompareNs: Record<string, number>; apiKeyLookupUs: Record<string, number> }
  | undefined;
if (timing) {
  console.log("\n| key check (median) | right key | wrong at first char | wrong at last char |");
  console.log("|---|---|---|---|");
  const a = timing.adminKeyCompareNs;
  const k = timing.apiKeyLookupUs;
  console.log(`| ADMIN_API_KEY compare, ns | ${a.right} | ${a.firstCharWrong} | ${a.lastCharWrong} |`);
  console.log(
    `| API key lookup (hash + Redis), µs | ${k.right} | ${k.firstSecretCharWrong} | ${k.lastCharWrong} |`,
  );
}
