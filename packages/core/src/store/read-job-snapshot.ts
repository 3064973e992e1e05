import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { encodeFailure } from "../job-failure";
import type { JobSnapshot } from "../job-view";
import { DEADLINE_WHILE_QUEUED } from "../job-view";
import { getJobSnapshot } from "./get-job-snapshot";
import { readCancel, readTombstone } from "./job-cancel";

/**
 * Everything the public view of a job needs, with no access check: the BullMQ job with its cancel
 * flag when it runs, or, for a queued job that was canceled (and so removed from the queue), its
 * tombstone. Null when neither exists (never submitted, deleted, or swept). The api's `loadJob` reads
 * the same way and adds the owner check and the 410 for swept jobs.
 */
export async function readJobSnapshot(
  queue: Queue,
  redis: Redis,
  prefix: string,
  id: string,
): Promise<JobSnapshot | null> {
  const snapshot = await getJobSnapshot(queue, id);
  if (snapshot) {
    // Not only while active: a running job canceled and then handed back to the queue (a lost lease,
    // a retry) stays canceled for its owner until its dispatcher discards it.
    if (snapshot.state !== "completed" && snapshot.state !== "failed") {
      const cancel = await readCancel(redis, prefix, id);
      snapshot.cancelRequestedAt = cancel?.at ?? null;
      snapshot.cancelCode = cancel?.code ?? null;
    }
    return snapshot;
  }
  const tomb = await readTombstone(redis, prefix, id);
  if (!tomb) return null;
  return {
    id,
    data: tomb.data,
    state: "failed",
    timestamp: tomb.timestamp,
    finishedOn: tomb.canceledAt,
    attemptsMade: 0,
    progress: null,
    returnvalue: null,
    failedReason: encodeFailure(
      tomb.code === "deadline_exceeded"
        ? DEADLINE_WHILE_QUEUED
        : { code: "job_canceled", message: "canceled before it started" },
    ),
  };
}
