import type { Redis } from "ioredis";

/**
 * Job change notifications on one Redis pub/sub channel: the api publishes submits and cancels, the
 * worker dispatches, phase changes and ends. Each api process holds one subscription and fans out in
 * memory (waiters now; SSE and webhooks next). Pub/sub is not durable, so readers always re-read the
 * job itself and use events only as a cue to look again.
 */
export interface JobEvent {
  id: string;
  /** `changed`: this job's state or phase moved. `dispatched`: a job started, so queue positions moved. */
  type: "changed" | "dispatched";
  /** The job's owner (API key id), so a per-user stream can tell its jobs from others' without a read. */
  owner?: string;
}

export const jobEventsChannel = (prefix: string) => `${prefix}:job-events`;

export async function publishJobEvent(redis: Redis, prefix: string, event: JobEvent): Promise<void> {
  await redis.publish(jobEventsChannel(prefix), JSON.stringify(event));
}

export function parseJobEvent(message: string): JobEvent | null {
  try {
    const e = JSON.parse(message) as Partial<JobEvent>;
    if (typeof e.id !== "string" || (e.type !== "changed" && e.type !== "dispatched")) return null;
    return typeof e.owner === "string"
      ? { id: e.id, type: e.type, owner: e.owner }
      : { id: e.id, type: e.type };
  } catch {
    // Null is the answer for any unreadable message; the subscriber reports it (job_event_parse).
    return null;
  }
}
