import { Agent, get } from "node:http";
import { sleep, startGateway, submit } from "./gateway";
import { percentile } from "./stats";

export interface FanOutRun {
  subscribers: number;
  lastMs: number;
  p50Ms: number;
}

/**
 * Issue #9.5: `subscribers` SSE streams on one api process following one job; the time from the
 * job's completion (its `completed_at`) to each subscriber's final event.
 */
export async function fanOut(subscribers: number): Promise<FanOutRun> {
  const { cluster, key } = await startGateway({
    sim: { loadMs: 0, baseMs: 4000, msPerStepMegapixel: 0 },
    // One key holds every stream here, far above the default per-key cap.
    env: { MAX_STREAMS_PER_KEY: String(subscribers) },
  });
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  try {
    const job = await submit(cluster.apiUrl, key, { prompt: "watched by many", size: "128x128" });
    const url = new URL(`${cluster.apiUrl}/v1/jobs/${job.id}/events`);
    let connected = 0;
    const arrivals = await Promise.all(
      Array.from(
        { length: subscribers },
        () =>
          new Promise<number>((resolve, reject) => {
            const req = get(
              url,
              { agent, headers: { authorization: `Bearer ${key}`, accept: "text/event-stream" } },
              (res) => {
                let buffer = "";
                let counted = false;
                res.setEncoding("utf8");
                res.on("data", (chunk: string) => {
                  if (!counted) {
                    counted = true;
                    connected++;
                  }
                  buffer += chunk;
                  if (buffer.includes('"status":"succeeded"')) {
                    resolve(performance.timeOrigin + performance.now());
                    req.destroy();
                  }
                });
                res.on("end", () => reject(new Error("stream ended without succeeded")));
              },
            );
            req.on("error", reject);
          }),
      ),
    ).finally(() => agent.destroy());
    const view = (await (
      await fetch(`${cluster.apiUrl}/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { completed_at: string };
    const completed = Date.parse(view.completed_at);
    const delays = arrivals.map((t) => t - completed);
    if (connected < subscribers) throw new Error(`only ${connected} of ${subscribers} subscribers connected`);
    await sleep(10);
    return { subscribers, lastMs: Math.max(...delays), p50Ms: percentile(delays, 50) };
  } finally {
    await cluster.stop();
  }
}
