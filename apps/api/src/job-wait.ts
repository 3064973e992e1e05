import { GatewayError, type JobView } from "@zimage/core";
import type { JobEventBus } from "./job-event-bus";

export const MAX_WAIT_SECONDS = 60;
const FINISHED = new Set(["succeeded", "failed", "canceled"]);
/** Pub/sub can drop a message (a reconnect); re-reading this often bounds the cost of a miss. */
const RECHECK_MS = 2_000;

export const isFinished = (view: JobView) => FINISHED.has(view.status);

/** `Prefer: wait=N` (RFC 7240): a preference, so an out-of-range N is clamped, not refused. */
export function preferredWait(header: string | undefined): number {
  const m = /(?:^|[,;\s])wait\s*=\s*"?(\d{1,6})"?/i.exec(header ?? "");
  return m ? Math.min(MAX_WAIT_SECONDS, Number(m[1])) : 0;
}

/** `?wait=N` on GET is an explicit parameter: it must be a whole number of seconds, 0..60. */
export function queryWait(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== "string" || !/^\d{1,2}$/.test(value) || Number(value) > MAX_WAIT_SECONDS) {
    throw new GatewayError(
      "invalid_request",
      `wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`,
    );
  }
  return Number(value);
}

/**
 * Re-reads the job each time it changes until it has finished or `seconds` pass, and returns the last
 * view. `signal` ends the wait early (the client went away).
 */
export async function waitForFinish(
  bus: JobEventBus,
  first: JobView,
  read: () => Promise<JobView>,
  seconds: number,
  signal?: AbortSignal,
): Promise<JobView> {
  const deadline = Date.now() + seconds * 1000;
  let view = first;
  while (!isFinished(view) && Date.now() < deadline && !signal?.aborted) {
    await bus.next(view.id, Math.min(RECHECK_MS, deadline - Date.now()), signal ? { signal } : {});
    // The client left: no one reads the answer, so no further read of Redis on its behalf.
    if (signal?.aborted) break;
    view = await read();
  }
  return view;
}
