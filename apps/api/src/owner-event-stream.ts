import type { JobView } from "@zimage/core";
import type { JobEventBus } from "./job-event-bus";
import { viewEventId } from "./job-event-stream";
import { isFinished } from "./job-wait";
import { SseWriter, type SseWriterOptions } from "./sse-writer";
import type { HeldStream } from "./stream-slots";

/**
 * The safety net under pub/sub. Events are lost when the bus's subscription drops (the bus then
 * calls `onResync` and the stream re-reads everything once) or when a worker's publish fails. For
 * the latter, a slow sweep with a bounded cost per stream: one read of the owner's pending set and
 * at most RECHECK_BATCH job reads, every RECHECK_MS plus up to RECHECK_JITTER_MS (so streams opened
 * together do not sweep together), round-robin over the watched jobs. It used to re-read every
 * pending job every 5 s, which for a key with hundreds of pending jobs and a few dashboards open is
 * hundreds of reads a second doing nothing. Now a watched job whose event was lost is seen within
 * ceil(watched / RECHECK_BATCH) sweeps; a new job whose event was lost, at the next sweep.
 */
const RECHECK_MS = 15_000;
const RECHECK_JITTER_MS = 5_000;
const RECHECK_BATCH = 25;
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
 * client that reconnects re-reads its list, so the stream carries no event ids. Everything the
 * stream registers (bus subscriptions, timers) is released through `held` when the client leaves,
 * including a client that leaves while the first list is being read.
 */
export async function streamOwnerEvents(
  held: HeldStream,
  bus: JobEventBus,
  source: OwnerStreamSource,
  writer: Omit<SseWriterOptions, "retryMs">,
): Promise<void> {
  const initial = await source.pending();
  if (held.closed) return;
  const sse = new SseWriter(held, { ...writer, retryMs: 2000 });

  // id → the last view sent (its event id), for jobs not yet finished.
  const watched = new Map<string, string | null>();
  const queued = new Set<string>();
  const dirty = new Set<string>();
  let draining = false;

  const refresh = async (id: string) => {
    // Safe to drop: a read that fails (Redis trouble, which /ready and the 503s already surface) is
    // retried by a later sweep, so the stream only lags.
    const view = await source.read(id).catch(() => undefined);
    if (view === undefined || held.closed) return;
    if (view === null) {
      watched.delete(id);
      queued.delete(id);
      sse.send(id, "deleted", { id });
      return;
    }
    const seen = viewEventId(view);
    if (watched.get(id) !== seen) sse.send(id, "job", view);
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
      while (dirty.size && !held.closed) {
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
  held.onClose(
    bus.subscribe((event) => {
      if (event.owner === source.owner || watched.has(event.id)) mark([event.id]);
      if (event.type === "dispatched" && queued.size && !positionsTimer)
        positionsTimer = held.setTimeout(() => {
          positionsTimer = null;
          mark(queued);
        }, POSITIONS_MS);
    }),
  );

  let cursor = 0;
  const sweep = async (all: boolean) => {
    // Safe to drop: the next sweep asks again; a Redis outage is surfaced by /ready and 503s.
    const ids = await source.pending().catch(() => null);
    if (ids === null || held.closed) return;
    const known = [...watched.keys()];
    const unseen = ids.filter((id) => !watched.has(id));
    if (all) return mark([...known, ...unseen]);
    const start = known.length ? cursor % known.length : 0;
    const turn = [...known, ...known].slice(start, start + Math.min(RECHECK_BATCH, known.length));
    cursor = start + turn.length;
    mark([...unseen.slice(0, RECHECK_BATCH), ...turn]);
  };
  const schedule = () =>
    held.setTimeout(
      () => void sweep(false).finally(schedule),
      RECHECK_MS + Math.random() * RECHECK_JITTER_MS,
    );
  schedule();
  held.onClose(bus.onResync(() => void sweep(true)));

  for (const id of initial) watched.set(id, null);
  mark(initial);
}
