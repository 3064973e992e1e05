import type { Job, Queue } from "bullmq";
import type { JobData, JobResult } from "../job-record";
import type { JobSnapshot, QueueState } from "../job-view";

/**
 * Reads one job and its state; null when it does not exist (or retention has removed it).
 * The state is read before the job's hash: a job only moves forward, so the hash read second is at
 * least as new as the state. (The other order can pair "completed" with a hash from before the
 * completion: a succeeded job without its result.)
 */
export async function getJobSnapshot(queue: Queue, id: string): Promise<JobSnapshot | null> {
  const state = (await queue.getJobState(id)) as QueueState;
  if (state === "unknown") return null;
  const job = (await queue.getJob(id)) as Job<JobData, JobResult> | undefined;
  if (!job) return null;
  return {
    id,
    data: job.data,
    state,
    timestamp: job.timestamp,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn,
    attemptsMade: job.attemptsMade,
    progress: job.progress,
    returnvalue: job.returnvalue,
    failedReason: job.failedReason,
  };
}
