import { resolve } from "node:path";
import { startProcess } from "@zimage/testkit/standalone";
import { startGateway, submit } from "./gateway";
import { load } from "./load";

export interface PollingRun {
  apiRps: number;
  bareRps: number;
}

/** Issue #9.3: `GET /v1/jobs/:id` of a finished job, against a bare Express handler answering the same JSON. */
export async function statusPolling(connections: number, seconds: number): Promise<PollingRun> {
  const { cluster, key } = await startGateway({ sim: { loadMs: 0, baseMs: 10, msPerStepMegapixel: 0 } });
  const job = await submit(cluster.apiUrl, key, { prompt: "polled", size: "128x128" }, { prefer: "wait=30" });
  const path = `/v1/jobs/${job.id}`;
  const view = await (
    await fetch(`${cluster.apiUrl}${path}`, { headers: { authorization: `Bearer ${key}` } })
  ).text();
  const bare = startProcess(
    process.execPath,
    ["--import", "tsx", resolve(import.meta.dirname, "bare-server.ts")],
    {
      env: { BODY: view, PORT: "0" },
    },
  );
  try {
    await bare.waitForOutput(/bare listening on \d+/);
    const port = /bare listening on (\d+)/.exec(bare.output())![1];
    const api = await load({
      url: `${cluster.apiUrl}${path}`,
      headers: { authorization: `Bearer ${key}` },
      connections,
      seconds,
      expectStatus: 200,
    });
    const baseline = await load({
      url: `http://127.0.0.1:${port}${path}`,
      connections,
      seconds,
      expectStatus: 200,
    });
    return { apiRps: api.rps, bareRps: baseline.rps };
  } finally {
    await bare.stop();
    await cluster.stop();
  }
}
