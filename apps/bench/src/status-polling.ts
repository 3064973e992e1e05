import { waitFor } from "@zimage/testkit/standalone";
import { startSimulator } from "@zimage/zimage-sim";
import { startBenchServer, startGateway, startHandwrittenGateway, submit } from "./gateway";
import { load } from "./load";

export interface PollingRun {
  apiRps: number;
  /** Issue #20's hand-written gateway's `GET /v1/jobs/:id` (`Job.fromId`) of a job its worker finished. */
  handRps: number;
  bareRps: number;
}

const SIM = { loadMs: 0, baseMs: 10, msPerStepMegapixel: 0 };
const BODY = { prompt: "polled", size: "128x128" };

/** A job through the hand-written gateway, once its worker has finished it: the path to poll. */
async function handFinishedJob(url: string, token: string): Promise<string> {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const res = await fetch(`${url}/v1/jobs`, { method: "POST", headers, body: JSON.stringify(BODY) });
  if (res.status !== 202) throw new Error(`hand-written submit answered ${res.status}: ${await res.text()}`);
  const path = `/v1/jobs/${((await res.json()) as { id: string }).id}`;
  const view = await waitFor(
    async () => {
      const v = (await (await fetch(`${url}${path}`, { headers })).json()) as { state: string };
      return v.state === "completed" || v.state === "failed" ? v : null;
    },
    { timeoutMs: 30_000, intervalMs: 20, what: "the hand-written worker to finish the polled job" },
  );
  if (view.state !== "completed")
    throw new Error(`hand-written job ended ${view.state}: ${JSON.stringify(view)}`);
  return path;
}

/**
 * Issue #9.3: `GET /v1/jobs/:id` of a finished job, against a bare Express handler answering the same JSON,
 * and (issue #20) the hand-written gateway reading its own finished job from the same Redis.
 */
export async function statusPolling(connections: number, seconds: number): Promise<PollingRun> {
  const { cluster, key } = await startGateway({ sim: SIM });
  const stops: Array<() => Promise<unknown>> = [() => cluster.stop()];
  try {
    // The hand-written worker gets a simulator of its own: the gateway's workers hold a lease on theirs.
    const sim = await startSimulator(SIM);
    stops.unshift(() => sim.close());
    const hand = await startHandwrittenGateway(cluster.redis.url, sim.url);
    stops.unshift(() => hand.stop());
    const job = await submit(cluster.apiUrl, key, BODY, { prefer: "wait=30" });
    const path = `/v1/jobs/${job.id}`;
    const view = await (
      await fetch(`${cluster.apiUrl}${path}`, { headers: { authorization: `Bearer ${key}` } })
    ).text();
    const bare = await startBenchServer("bare-server.ts", "bare", { BODY: view, PORT: "0" });
    stops.unshift(() => bare.stop());
    const handPath = await handFinishedJob(hand.url, hand.token);
    const api = await load({
      url: `${cluster.apiUrl}${path}`,
      headers: { authorization: `Bearer ${key}` },
      connections,
      seconds,
      expectStatus: 200,
    });
    const handwritten = await load({
      url: `${hand.url}${handPath}`,
      headers: { authorization: `Bearer ${hand.token}` },
      connections,
      seconds,
      expectStatus: 200,
    });
    const baseline = await load({
      url: `${bare.url}${path}`,
      connections,
      seconds,
      expectStatus: 200,
    });
    return { apiRps: api.rps, handRps: handwritten.rps, bareRps: baseline.rps };
  } finally {
    for (const stop of stops) await stop();
  }
}
