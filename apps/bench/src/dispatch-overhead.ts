import type { RequestRecord } from "@zimage/zimage-sim";
import { sleep, startGateway, submitMany } from "./gateway";
import { percentile } from "./stats";
import type { BenchRedis } from "./submit-throughput";

export interface DispatchRun {
  gapP50: number;
  gapP99: number;
  gapMax: number;
  utilization: number;
  /** Worker processes that held upstream leases during the run. */
  leaseHolders: number;
}

/** Idle time at each GPU between one image request's end and the next one's start, and busy share. */
export function gapsOf(records: RequestRecord[]): { gaps: number[]; busy: number; span: number } {
  const images = records
    .filter((r) => r.path.includes("images") && r.startedAt !== null && r.finishedAt !== null)
    .sort((a, b) => a.startedAt! - b.startedAt!);
  const gaps: number[] = [];
  let busy = 0;
  for (let i = 0; i < images.length; i++) {
    busy += images[i]!.finishedAt! - images[i]!.startedAt!;
    if (i > 0) gaps.push(images[i]!.startedAt! - images[i - 1]!.finishedAt!);
  }
  const span = images.length ? images.at(-1)!.finishedAt! - images[0]!.startedAt! : 0;
  return { gaps, busy, span };
}

/**
 * Issue #9.1: the simulator at a fixed 100 ms per image, `jobs` queued at once, `upstreams` GPUs
 * and as many worker processes.
 */
export async function dispatchOverhead(
  upstreams: number,
  jobs: number,
  redis?: BenchRedis,
): Promise<DispatchRun> {
  // The jobs are all queued before any worker starts, so the measurement is the dispatch path alone,
  // not the api and the submitting clients competing for this machine's cores.
  const { cluster, key } = await startGateway({
    upstreams,
    workers: 0,
    sim: { loadMs: 0, baseMs: 100, msPerStepMegapixel: 0 },
    ...(redis ? { externalRedis: redis.env } : {}),
  });
  try {
    await submitMany(cluster.apiUrl, key, jobs, 16, (i) => ({ prompt: `job ${i}`, size: "128x128" }));
    // Started together, as in a deployment; each races the others for the upstreams' leases.
    await Promise.all(Array.from({ length: upstreams }, () => cluster.startWorker()));
    const done = () =>
      cluster.sims.reduce(
        (n, s) =>
          n + s.stats().requests.filter((r) => r.finishedAt !== null && r.path.includes("images")).length,
        0,
      );
    const deadline = Date.now() + jobs * 1000;
    while (done() < jobs && Date.now() < deadline) await sleep(50);
    const owners = new Set(
      (await cluster.upstreams()).map((u) => String(u.owner).split(":").slice(0, 2).join(":")),
    );
    const all = cluster.sims.map((s) => gapsOf(s.stats().requests));
    const gaps = all.flatMap((g) => g.gaps);
    const utilization = all.reduce((n, g) => n + g.busy / g.span, 0) / all.length;
    return {
      gapP50: percentile(gaps, 50),
      gapP99: percentile(gaps, 99),
      gapMax: Math.max(...gaps),
      utilization,
      leaseHolders: owners.size,
    };
  } finally {
    await cluster.stop();
  }
}
