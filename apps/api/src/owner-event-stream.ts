import type { JobView } from "@zimage/core";
import type { Request, Response } from "express";
import type { JobEventBus } from "./job-event-bus";
import { openEventStream, viewEventId } from "./job-event-stream";
import { isFinished } from "./job-wait";

/** Pub/sub can drop a message: every watched job is re-read this often regardless. */
const RECHECK_MS = 5_000;
/** Dispatches come in bursts; queued jobs' positions are re-read at most this often. */
const POSITIONS_MS = 250;

export interface OwnerStreamSource {
  owner: string;
  /** The job's view as the caller sees it, or null when it no longer exists for them. */
  read(id: string): Promise<JobView | null>;
  /** The owner's queued and running jobs. */
  pending(): Promise<string[]>;
}

/**
 * `GET /v1/events`: one stream of all the caller's jobs, for dashboards such as the web console:
 * `event: job` with the view whenever one of them changes (including queue positions), and
 * `event: deleted` when one is deleted. It opens with the caller's queued and running jobs. A
 * client that reconnects re-reads its list, so the stream carries no event ids.
 */
export async function streamOwnerEvents(
  req: Request,
  res: Response,
  bus: JobEventBus,
  source: OwnerStreamSource,
): Promise<void> {
  const initial = await source.pending();
  const stopHeartbeat = openEventStream(res, 2000);

  // id → the last view sent (its event id), for jobs not yet finished.
  const watched = new Map<string, string | null>();
  const queued = new Set<string>();
  const dirty = new Set<string>();
  let closed = false;
  let draining = false;

  const refresh = async (id: string) => {
    // Safe to drop: a read that fails (Redis trouble, which /ready and the 503s already surface) is
    // retried by the next recheck, at most RECHECK_MS later, so the stream only lags.
    const view = await source.read(id).catch(() => undefined);
    if (view === undefined || closed) return;
    if (view === null) {
      watched.delete(id);
      queued.delete(id);
      res.write(`event: deleted\ndata: ${JSON.stringify({ id })}\n\n`);
      return;
    }
    const seen = viewEventId(view);
    if (watched.get(id) !== seen) res.write(`event: job\ndata: ${JSON.stringify(view)}\n\n`);
    if (isFinished(view)) {
      watched.delete(id);
      queued.delete(id);
    } else {
      watched.set(id, seen);
      if (view.status === "queued") queued.add(id);
      else queued.delete(id);
    }
  };

  // One refresh at a time, so a job's events go out in the order they happened.
  const drain = async () => {
    if (draining) return;
    draining = true;
    try {
      while (dirty.size && !closed) {
        const [id] = dirty;
        dirty.delete(id!);
        await refresh(id!);
      }
    } finally {
      draining = false;
    }
  };
  const mark = (ids: Iterable<string>) => {
    for (const id of ids) dirty.add(id);
    void drain();
  };

  let positionsTimer: NodeJS.Timeout | null = null;
  const unsubscribe = bus.subscribe((event) => {
    if (event.owner === source.owner || watched.has(event.id)) mark([event.id]);
    if (event.type === "dispatched" && queued.size && !positionsTimer)
      positionsTimer = setTimeout(() => {
        positionsTimer = null;
        mark(queued);
      }, POSITIONS_MS);
  });
  const recheck = setInterval(() => {
    source
      .pending()
      .then((ids) => mark([...watched.keys(), ...ids]))
      // Safe to drop: the next interval asks again; a Redis outage is surfaced by /ready and 503s.
      .catch(() => {});
  }, RECHECK_MS);

  await new Promise<void>((resolve) => {
    req.once("close", resolve);
    for (const id of initial) watched.set(id, null);
    mark(initial);
  });
  closed = true;
  unsubscribe();
  clearInterval(recheck);
  stopHeartbeat();
  if (positionsTimer) clearTimeout(positionsTimer);
  res.end();
}
