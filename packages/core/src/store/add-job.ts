import type { Queue } from "bullmq";
import type { JobData } from "../job-record";

/**
 * Enqueues a job under a caller-chosen id (a ULID). `priority` is the fair-share slot (1 = first);
 * BullMQ runs lower numbers first and keeps FIFO order within one number.
 */
export async function addJob(
  queue: Queue,
  id: string,
  data: JobData,
  priority = 1,
  timestamp = Date.now(),
): Promise<void> {
  await queue.add(data.kind, data, { jobId: id, priority, timestamp });
}

/**
 * Enqueues many jobs with one `Queue.addBulk`: BullMQ sends every add in one pipeline, one round trip
 * for the whole batch instead of one per job. Each job keeps its own id, priority and timestamp.
 */
export async function addJobs(
  queue: Queue,
  jobs: ReadonlyArray<{ id: string; data: JobData; priority: number }>,
  timestamp = Date.now(),
): Promise<void> {
  await queue.addBulk(
    jobs.map((j) => ({
      name: j.data.kind,
      data: j.data,
      opts: { jobId: j.id, priority: j.priority, timestamp },
    })),
  );
}
