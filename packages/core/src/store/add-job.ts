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
