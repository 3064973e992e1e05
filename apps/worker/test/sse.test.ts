import { resolve } from "node:path";
import { type Cluster, type JobView, startCluster } from "@zimage/test-cluster";
import { freePort, type RunningProcess, startProcess, waitFor } from "@zimage/testkit";
import { afterEach, describe, expect, it } from "vitest";

/** Issue #6 (part): job views over server-sent events. */
let cluster: Cluster | undefined;
let extraApi: RunningProcess | undefined;
afterEach(async () => {
  await extraApi?.stop("SIGKILL");
  extraApi = undefined;
  await cluster?.stop();
  cluster = undefined;
});

interface SseEvent {
  id: string | null;
  event: string | null;
  view: JobView;
}

/** Reads an SSE stream to its end (or until `until` says stop), parsing `job` events. */
async function readEvents(
  url: string,
  opts: { lastEventId?: string; until?: (e: SseEvent) => boolean } = {},
): Promise<SseEvent[]> {
  const controller = new AbortController();
  const res = await fetch(url, {
    headers: {
      accept: "text/event-stream",
      ...(opts.lastEventId ? { "last-event-id": opts.lastEventId } : {}),
    },
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
        const field = (name: string) =>
          block
            .split("\n")
            .find((l) => l.startsWith(`${name}: `))
            ?.slice(name.length + 2) ?? null;
        const data = field("data");
        if (!data) continue;
        const e = { id: field("id"), event: field("event"), view: JSON.parse(data) as JobView };
        events.push(e);
        if (opts.until?.(e)) {
          controller.abort();
          return events;
        }
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  }
  return events;
}

const RANK: Record<string, number> = { queued: 0, running: 1, succeeded: 2, failed: 2, canceled: 2 };

describe("server-sent events", () => {
  it("sends each state change in order, then ends", async () => {
    cluster = await startCluster({ sim: { loadMs: 700, baseMs: 700 } });
    await cluster.submit({ prompt: "ahead", size: "256x256" });
    const id = await cluster.submit({ prompt: "watched", size: "256x256" });
    const events = await readEvents(`${cluster.apiUrl}/v1/jobs/${id}/events`);
    const statuses = events.map((e) => e.view.status);
    expect(statuses[0]).toBe("queued");
    expect(statuses.at(-1)).toBe("succeeded");
    expect(statuses).toContain("running");
    for (let i = 1; i < statuses.length; i++)
      expect(RANK[statuses[i]!]!).toBeGreaterThanOrEqual(RANK[statuses[i - 1]!]!);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length); // no duplicates
    expect(events.every((e) => e.event === "job" && e.view.id === id)).toBe(true);
    expect(events.at(-1)!.view.result?.images).toHaveLength(1);
  });

  it("resumes after a reconnect with Last-Event-ID without repeating what was seen", async () => {
    cluster = await startCluster({ sim: { loadMs: 0, baseMs: 1_500 } });
    const id = await cluster.submit({ prompt: "reconnect", size: "256x256" });
    const url = `${cluster.apiUrl}/v1/jobs/${id}/events`;
    const first = await readEvents(url, { until: (e) => e.view.status === "running" });
    const seen = first.at(-1)!;
    const rest = await readEvents(url, { lastEventId: seen.id! });
    expect(rest.map((e) => e.id)).not.toContain(seen.id);
    expect(rest.at(-1)!.view.status).toBe("succeeded");
    // Reconnecting to a finished job with its final id sends nothing more and ends.
    expect(await readEvents(url, { lastEventId: rest.at(-1)!.id! })).toEqual([]);
  });

  it("serves 200 clients on two api processes, all of whom see the result", async () => {
    // One key (open mode) holds all 200 streams: above the default MAX_STREAMS_PER_KEY of 64.
    const caps = { MAX_STREAMS_PER_KEY: "200" };
    cluster = await startCluster({ sim: { loadMs: 0, baseMs: 2_500 }, env: caps });
    const port = await freePort();
    extraApi = startProcess(
      process.execPath,
      ["--import", "tsx", resolve(import.meta.dirname, "../../api/src/main.ts")],
      {
        env: { ...cluster.env, ...caps, PORT: String(port) },
      },
    );
    await extraApi.waitForOutput(/api listening/);
    const second = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${second}/ready`)).ok);
    const id = await cluster.submit({ prompt: "popular", size: "256x256" });
    const streams = Array.from({ length: 200 }, (_, i) =>
      readEvents(`${i % 2 ? second : cluster!.apiUrl}/v1/jobs/${id}/events`),
    );
    const all = await Promise.all(streams);
    for (const events of all) expect(events.at(-1)?.view.status).toBe("succeeded");
  });

  it("answers 404 for an unknown job before any stream starts", async () => {
    cluster = await startCluster({});
    const res = await fetch(`${cluster.apiUrl}/v1/jobs/01JZZZZZZZZZZZZZZZZZZZZZZZ/events`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
  });
});
