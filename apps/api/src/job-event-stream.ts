import { createHash } from "node:crypto";
import type { JobView } from "@zimage/core";
import type { Request, Response } from "express";
import type { JobEventBus } from "./job-event-bus";
import { isFinished } from "./job-wait";

const HEARTBEAT_MS = 15_000;
const RECHECK_MS = 2_000;

/**
 * The identity of what a client has seen of a job. ETA is left out (it changes every second without
 * anything happening); everything a client acts on is in. Used as the SSE event id, so a client
 * reconnecting with `Last-Event-ID` gets the job again only if it changed meanwhile.
 */
export function viewEventId(v: JobView): string {
  const seen = [
    v.status,
    v.phase,
    v.queue_position,
    v.attempts,
    v.upstream,
    v.result?.images.length ?? null,
    v.error?.code ?? null,
  ];
  return createHash("sha1").update(JSON.stringify(seen)).digest("base64url").slice(0, 16);
}

/**
 * Starts a server-sent event stream: the headers, the client's reconnect delay, and heartbeat
 * comments that keep proxies from closing an idle stream. Returns what stops the heartbeat.
 */
export function openEventStream(res: Response, retryMs: number): () => void {
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-transform",
    Connection: "keep-alive",
    // nginx would otherwise buffer the stream.
    "X-Accel-Buffering": "no",
  });
  res.write(`retry: ${retryMs}\n\n`);
  const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
  return () => clearInterval(heartbeat);
}

/**
 * `GET /v1/jobs/:id/events`: the job view on each change (queued with positions, running with phase,
 * then the final state), then the stream ends. Heartbeat comments keep proxies from closing it.
 * The first view is read before the headers go out, so an unknown job is still a plain 404.
 */
export async function streamJobEvents(
  req: Request,
  res: Response,
  bus: JobEventBus,
  read: () => Promise<JobView>,
): Promise<void> {
  let view = await read();
  const stopHeartbeat = openEventStream(res, RECHECK_MS);
  const controller = new AbortController();
  req.once("close", () => controller.abort());
  let lastSent = req.get("last-event-id") ?? null;
  const send = (v: JobView) => {
    const id = viewEventId(v);
    if (id === lastSent) return;
    lastSent = id;
    res.write(`id: ${id}\nevent: job\ndata: ${JSON.stringify(v)}\n\n`);
  };
  try {
    send(view);
    while (!isFinished(view) && !controller.signal.aborted) {
      // A queued job's position moves whenever any job starts, so queued streams also wake on dispatches.
      await bus.next(view.id, RECHECK_MS, {
        signal: controller.signal,
        onDispatch: view.status === "queued",
      });
      if (controller.signal.aborted) break;
      view = await read();
      send(view);
    }
  } finally {
    stopHeartbeat();
    res.end();
  }
}
