import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { readJobPlace } from "./job-place";
import type { JobData } from "./job-record";
import type { JobSnapshot, JobStatus } from "./job-view";
import { QUEUES } from "./queues";
import { readJobSnapshot } from "./store/read-job-snapshot";
import { type EventView, eventView } from "./webhook-event-view";

export interface DeliveryData {
  jobId: string;
  owner: string;
  event: JobStatus;
  url: string;
  /**
   * The job's view when the event happened, which every attempt sends (image URLs are signed per
   * attempt). Absent in deliveries queued before it was kept, and when the job could not be read at
   * the event: the sender then builds the view at delivery, as those versions did.
   */
  view?: EventView;
  /** How many times this delivery was sent again on request (`POST …/redeliver`); absent: never. */
  redelivery?: number;
}

/** Attempts for a schedule of retry delays: the first try plus one per delay. */
export const deliveryAttempts = (scheduleSeconds: number[]) => scheduleSeconds.length + 1;

/** Where notifyWebhook reads the job of an event: the connection and prefix each webhook queue was made with. */
interface JobReader {
  redis: Redis;
  prefix: string;
  jobs: Queue | undefined;
}
const readers = new WeakMap<Queue<DeliveryData>, JobReader>();

export function createWebhookQueue(connection: Redis, prefix: string): Queue<DeliveryData> {
  const queue = new Queue<DeliveryData>(QUEUES.webhooks, { connection, prefix });
  readers.set(queue, { redis: connection, prefix, jobs: undefined });
  return queue;
}

function readerOf(queue: Queue<DeliveryData>): JobReader & { jobs: Queue } {
  const reader = readers.get(queue);
  if (!reader) throw new Error("notifyWebhook needs a queue made by createWebhookQueue");
  // The `generate` queue on the same connection, made once; it only reads, so it leaves the
  // queue's meta to the api and workers that own the queue.
  reader.jobs ??= new Queue(QUEUES.generate, {
    connection: reader.redis,
    prefix: reader.prefix,
    skipMetasUpdate: true,
  });
  return reader as JobReader & { jobs: Queue };
}

/**
 * Queues a delivery when the job asked for this event. The BullMQ id `<job>-<event>` makes a repeated
 * notification (a retried dispatch, a second api process) a no-op, and is the Standard Webhooks
 * `webhook-id` on every attempt, so receivers can de-duplicate.
 *
 * The job's view is taken now and kept in the delivery (issue #16): a `job.running` retried after
 * the job succeeded still says running, and one retried after the job was swept still carries the
 * whole view. A caller that holds the job as of the event passes `snapshot`; otherwise it is read
 * here (a read that fails fails the notification, as the add on the same Redis would).
 */
export async function notifyWebhook(
  queue: Queue<DeliveryData>,
  jobId: string,
  data: Pick<JobData, "owner" | "webhook">,
  event: JobStatus,
  scheduleSeconds: number[],
  snapshot?: JobSnapshot,
): Promise<void> {
  if (!data.webhook?.events.includes(event)) return;
  const reader = readerOf(queue);
  const atEvent = snapshot ?? (await readJobSnapshot(reader.jobs, reader.redis, reader.prefix, jobId));
  // `job.queued` and `job.running` carry the job's place like every other view (issue #19): a job
  // already taken when its `job.queued` is built was the next one (position 1).
  const place =
    atEvent && (event === "queued" || event === "running")
      ? await readJobPlace({ ...reader, queue: reader.jobs }, atEvent, { asQueued: event === "queued" })
      : null;
  const view = atEvent ? eventView(atEvent, event, place ?? undefined) : null;
  await queue.add(
    event,
    { jobId, owner: data.owner, event, url: data.webhook.url, ...(view ? { view } : {}) },
    {
      jobId: `${jobId}-${event}`,
      attempts: deliveryAttempts(scheduleSeconds),
      backoff: { type: "schedule" },
      removeOnComplete: { age: 7 * 86_400 },
      removeOnFail: { age: 7 * 86_400 },
    },
  );
}
