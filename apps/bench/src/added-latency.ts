import { startGateway, submit } from "./gateway";

/**
 * Issue #9.6: one job at a time on an idle system with a warm GPU: the time from sending the submit
 * to receiving the finished job (`Prefer: wait`), minus the simulator's own time for the request.
 */
export async function addedLatency(runs: number): Promise<number[]> {
  const { cluster, key } = await startGateway({ sim: { loadMs: 0, baseMs: 100, msPerStepMegapixel: 0 } });
  try {
    await submit(cluster.apiUrl, key, { prompt: "warm-up", size: "128x128" }, { prefer: "wait=30" });
    const added: number[] = [];
    for (let i = 0; i < runs; i++) {
      const prompt = `latency ${i}`;
      const t0 = performance.timeOrigin + performance.now();
      const job = await submit(cluster.apiUrl, key, { prompt, size: "128x128" }, { prefer: "wait=30" });
      const t1 = performance.timeOrigin + performance.now();
      if ((job as unknown as { status: string }).status !== "succeeded")
        throw new Error(`job ${job.id} did not finish in time`);
      const rec = cluster.sims[0]!.stats().requests.find((r) => r.prompt === prompt)!;
      added.push(t1 - t0 - (rec.finishedAt! - rec.startedAt!));
    }
    return added;
  } finally {
    await cluster.stop();
  }
}
