import type { Queue } from "bullmq";
import { GatewayError } from "../errors";
import type { DeliveryData } from "../webhook-queue";

export interface Redelivery {
  webhookId: string;
  /** 1 for the first redelivery of this delivery, 2 for the next… */
  redelivery: number;
  /** How the delivery had ended: `failed` (exhausted or ended by the receiver/guard) or `completed`. */
  previous: "failed" | "completed";
}

/**
 * Sends a finished webhook delivery again as the same BullMQ job, so the `webhook-id` (the job id,
 * `<job>-<event>`) and the payload kept in its data stay those of the original; the sender signs each
 * attempt with the owner's secrets as they are then and checks the URL with the SSRF guard again.
 *
 * Only a finished delivery moves: BullMQ's `retry` checks the state in the same script that moves the
 * job to `wait`, so of two concurrent redeliveries one wins and the other gets `delivery_pending`, and
 * a delivery still waiting, delayed or being sent is never sent twice at once. Attempts start over
 * (`resetAttemptsMade`): a redelivery gets the whole WEBHOOK_RETRY_SCHEDULE again.
 *
 * A delivery the receiver accepted may be sent again too (it lost the event, say): it carries the same
 * `webhook-id`, so a receiver that de-duplicates as Standard Webhooks recommends keeps the first.
 */
export async function redeliverWebhook(queue: Queue<DeliveryData>, webhookId: string): Promise<Redelivery> {
  const job = await queue.getJob(webhookId);
  if (!job) throw deliveryNotFound(webhookId);
  const state = await job.getState();
  if (state !== "failed" && state !== "completed") throw pending(webhookId, state);
  const redelivery = (job.data.redelivery ?? 0) + 1;
  // Written before the move so the sender's first attempt already records it; a move that then loses
  // the race leaves a count one ahead, which only numbers the next redelivery one higher.
  await job.updateData({ ...job.data, redelivery });
  try {
    await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
  } catch (err) {
    const now = await job.getState();
    if (now === "failed" || now === "completed") throw err;
    throw pending(webhookId, now);
  }
  return { webhookId, redelivery, previous: state };
}

const deliveryNotFound = (webhookId: string) =>
  new GatewayError("delivery_not_found", `no webhook delivery ${webhookId} (deliveries are kept 7 days)`);

const pending = (webhookId: string, state: string) =>
  new GatewayError(
    "delivery_pending",
    `webhook delivery ${webhookId} is still ${state === "active" ? "being sent" : "queued or waiting for its next retry"}; ` +
      "redeliver it once it has ended (GET /v1/jobs/:id/deliveries shows its attempts)",
    { state },
  );
