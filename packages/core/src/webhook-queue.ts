import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { JobData } from "./job-record";
import type { JobStatus } from "./job-view";
import { QUEUES } from "./queues";

export interface DeliveryData {
  jobId: string;
  owner: string;
  event: JobStatus;
  url: string;
}

/** Attempts for a schedule of retry delays: the first try plus one per delay. */
export const deliveryAttempts = (scheduleSeconds: number[]) => scheduleSeconds.length + 1;

export function createWebhookQueue(connection: Redis, prefix: string): Queue<DeliveryData> {
  return new Queue<DeliveryData>(QUEUES.webhooks, { connection, prefix });
}

/**
 * Queues a delivery when the job asked for this event. The BullMQ id `<job>-<event>` makes a repeated
 * notification (a retried dispatch, a second api process) a no-op, and is the Standard Webhooks
 * `webhook-id` on every attempt, so receivers can de-duplicate.
 */
export async function notifyWebhook(
  queue: Queue<DeliveryData>,
  jobId: string,
  data: Pick<JobData, "owner" | "webhook">,
  event: JobStatus,
  scheduleSeconds: number[],
): Promise<void> {
  if (!data.webhook?.events.includes(event)) return;
  await queue.add(
    event,
    { jobId, owner: data.owner, event, url: data.webhook.url },
    {
      jobId: `${jobId}-${event}`,
      attempts: deliveryAttempts(scheduleSeconds),
      backoff: { type: "schedule" },
      removeOnComplete: { age: 7 * 86_400 },
      removeOnFail: { age: 7 * 86_400 },
    },
  );
}
