import { createHash } from "node:crypto";
import type { JobView } from "@zimage/core";
import type { Request } from "express";
import type { JobEventBus } from "./job-event-bus";
import { isFinished } from "./job-wait";
import { SseWriter, type SseWriterOptions } from "./sse-writer";
import type { HeldStream } from "./stream-slots";

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
 * `GET /v1/jobs/:id/events`: the job view on each change (queued with positions, running with phase,
 * then the final state), then the stream ends. The first view is read before the headers go out, so
 * an unknown job is still a plain 404. `held` is the request's stream slot, taken before any await:
 * a client that leaves at any point (even during that first read) ends the loop at its next step.
 */
export async function streamJobEvents(
  held: HeldStream,
  req: Request,
  bus: JobEventBus,
  read: () => Promise<JobView>,
  writer: Omit<SseWriterOptions, "retryMs">,
): Promise<void> {
  let view = await read();
  if (held.closed) return;
  const sse = new SseWriter(held, { ...writer, retryMs: RECHECK_MS });
  let lastSent = req.get("last-event-id") ?? null;
  const send = (v: JobView) => {
    const id = viewEventId(v);
    if (id === lastSent) return;
    lastSent = id;
    sse.send(v.id, "job", v, id);
  };
  send(view);
  while (!isFinished(view) && !held.closed) {
    // A queued job's position moves whenever any job starts, so queued streams also wake on dispatches.
    await bus.next(view.id, RECHECK_MS, { signal: held.signal, onDispatch: view.status === "queued" });
    if (held.closed) return;
    view = await read();
    send(view);
  }
  sse.end();
}
