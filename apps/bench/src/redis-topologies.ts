import { loadavg } from "node:os";
import { startRedis, startRedisCluster } from "@zimage/testkit/standalone";
import { type DispatchRun, dispatchOverhead } from "./dispatch-overhead";
import { fmt, spread } from "./stats";
import { type BenchRedis, type SubmitRun, submitThroughput } from "./submit-throughput";

export const TOPOLOGIES_HEADING = "## 8. Redis topologies: standalone and Cluster";

export interface TopologiesPlan {
  runs: number;
  connections: number;
  seconds: number;
  dispatchJobs: number;
}

export const TOPOLOGIES_DEFAULTS: TopologiesPlan = {
  runs: 3,
  connections: 16,
  seconds: 3,
  dispatchJobs: 150,
};

interface TopologyRuns {
  name: string;
  submit: SubmitRun[];
  dispatch: DispatchRun[];
}

/** The load average (1, 5, 15 min) as `uptime` prints it. */
export const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(", ");

/**
 * Issue #18, benchmark: submit throughput and dispatch gap on a 3-master Redis Cluster against a
 * standalone redis-server, in one run on this machine with the same load generator. Both servers run
 * without persistence (as testkit's cluster nodes do), so the difference is the topology, not the AOF.
 * The runs alternate standalone, Cluster, standalone, … so a change in the machine's load falls on both.
 * Every gateway gets a fresh hash-tag QUEUE_PREFIX, on both topologies, so the key names are the same
 * and no run sees another's jobs.
 */
export async function redisTopologies(
  plan: TopologiesPlan,
  log: (msg: string) => void,
): Promise<{ markdown: string; seconds: number }> {
  const started = Date.now();
  const loadBefore = load();
  const standalone = await startRedis({ appendonly: false });
  const cluster = await startRedisCluster({ masters: 3 });
  const results: TopologyRuns[] = [
    { name: "standalone (1 redis-server)", submit: [], dispatch: [] },
    { name: "Cluster (3 masters, no replicas)", submit: [], dispatch: [] },
  ];
  const targets = (prefix: string): BenchRedis[] => [
    {
      env: { REDIS_URL: standalone.url, QUEUE_PREFIX: prefix },
      target: { kind: "standalone", url: standalone.url },
      rawPrefix: `{raw-${prefix.slice(1)}`,
    },
    {
      env: { ...cluster.env, QUEUE_PREFIX: prefix },
      target: {
        kind: "cluster",
        url: "redis://127.0.0.1",
        nodes: cluster.ports.map((port) => ({ host: "127.0.0.1", port })),
      },
      rawPrefix: `{raw-${prefix.slice(1)}`,
    },
  ];
  try {
    for (let run = 1; run <= plan.runs; run++) {
      for (const [i, redis] of targets(`{zs${run}}`).entries()) {
        log(`redis topologies, run ${run}: ${results[i]!.name}, submit at ${plan.connections} connections`);
        results[i]!.submit.push((await submitThroughput([plan.connections], plan.seconds, redis))[0]!);
      }
      for (const [i, redis] of targets(`{zd${run}}`).entries()) {
        log(`redis topologies, run ${run}: ${results[i]!.name}, dispatch of ${plan.dispatchJobs} jobs`);
        results[i]!.dispatch.push(await dispatchOverhead(1, plan.dispatchJobs, redis));
      }
    }
  } finally {
    await cluster.stop();
    await standalone.stop();
  }
  const loadAfter = load();
  const rows = results.map((t) => {
    const s = (f: (r: SubmitRun) => number) => spread(t.submit.map(f));
    const d = (f: (r: DispatchRun) => number) => spread(t.dispatch.map(f));
    return `| ${t.name} | ${fmt(
      s((r) => r.apiRps),
      0,
    )} | ${fmt(
      s((r) => r.apiP99Ms),
      0,
      " ms",
    )} | ${fmt(
      s((r) => r.rawRps),
      0,
    )} | ${fmt(
      d((r) => r.gapP50),
      2,
      " ms",
    )} | ${fmt(
      d((r) => r.gapP99),
      2,
      " ms",
    )} | ${fmt(
      d((r) => r.utilization * 100),
      2,
      " %",
    )} |`;
  });
  const markdown = `Submit: authenticated \`POST /v1/jobs\` (a user key, 1024x1024 text-to-image) with autocannon at ${plan.connections} connections for
${plan.seconds} s, then raw BullMQ \`Queue.add\` from ${plan.connections} loops on the same Redis, no worker running. Dispatch: the simulator at a
fixed 100 ms per image, ${plan.dispatchJobs} jobs queued before one worker starts on one upstream; the gap is the simulator's idle time between one
image request's end and the next one's start (as in section 1). The same api, worker, simulator and load generator on both
topologies; only the Redis variables differ: \`REDIS_URL\` for the standalone server, \`REDIS_CLUSTER_NODES\` for the Cluster, and a
hash-tag \`QUEUE_PREFIX\` (\`{zs1}\`, …) on both. Both Redis set-ups run without persistence (no AOF, no RDB), unlike sections 1–6.
${plan.runs} runs, alternating standalone and Cluster; median (min–max).

**Noisy figures.** This machine's two cores were shared with other work during the run (load average ${loadBefore} before, ${loadAfter}
after, as \`uptime\` prints it): compare the two rows with each other, not with sections 1–2, and re-run on a quiet machine for absolute numbers.

| Redis | api submits/s | api p99 | raw Queue.add/s | dispatch gap p50 | gap p99 | utilization |
|---|---|---|---|---|---|---|
${rows.join("\n")}

On the Cluster every key of the gateway carries the prefix's hash tag, so all of them live in one slot, on one of the three
masters: a Cluster gives the gateway failover and the Cluster client's topology handling, not more Redis throughput. The two
rows compare the same single master's worth of work through the standalone and the Cluster client; they do not measure a
Cluster scaling out.`;
  return { markdown, seconds: (Date.now() - started) / 1000 };
}
