import {
  checkWebhookUrl,
  DEAD_LETTER_CURSOR,
  type DeliveryData,
  deadLetterCursor,
  describeIssues,
  forgetDeadLetters,
  GatewayError,
  JOB_STATUSES,
  type JobStatus,
  listDeadLetters,
  type Redelivery,
  redeliverWebhook,
} from "@zimage/core";
import { z } from "zod";
import { type JobDeps, loadJob } from "./job-access";
import type { Principal } from "./principal";

/** `succeeded` or `job.succeeded`: the event as the job's `webhook.events` names it or as the payload types it. */
const eventSchema = z
  .string()
  .transform((e) => e.replace(/^job\./, ""))
  .pipe(z.enum(JOB_STATUSES, { error: `must be one of ${JOB_STATUSES.join(", ")}` }));

/**
 * `POST /v1/jobs/:id/deliveries/:event/redeliver`: the job's owner (or an admin) sends a finished
 * delivery of one event again, with the same `webhook-id` (store/redeliver-webhook.ts). Another user's
 * job is a 404 like a missing one. The URL passes the SSRF guard here, so a refusal is the caller's
 * answer rather than a dead attempt, and again before each attempt as always.
 */
export async function redeliver(
  deps: JobDeps,
  principal: Principal,
  jobId: string,
  rawEvent: string,
): Promise<Redelivery & { event: JobStatus }> {
  const parsed = eventSchema.safeParse(rawEvent);
  if (!parsed.success)
    throw new GatewayError("invalid_request", "invalid webhook event", [
      { path: "event", message: parsed.error.issues[0]?.message ?? "invalid" },
    ]);
  const event = parsed.data;
  const job = await loadJob(deps, principal, jobId);
  const webhookId = `${job.id}-${event}`;
  const delivery = await deps.webhooks.getJob(webhookId);
  if (!delivery) {
    throw new GatewayError(
      "delivery_not_found",
      `job ${job.id} has no delivery of event "${event}": it did not ask for it, the event has not happened, ` +
        "or the delivery is older than 7 days",
    );
  }
  await checkWebhookUrl(delivery.data.url, deps.webhookPolicy);
  return { ...(await redeliverWebhook(deps.webhooks, webhookId)), event };
}

export const deadLetterQuerySchema = z.strictObject({
  state: z.literal("exhausted").default("exhausted"),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(DEAD_LETTER_CURSOR, "must be a next_cursor from an earlier page").optional(),
});

/** One dead letter, as `GET /v1/admin/deliveries` lists it. */
export interface DeadLetter {
  object: "webhook.delivery";
  webhook_id: string;
  job_id: string;
  event: string;
  owner: string;
  url: string;
  state: "exhausted";
  /** When the last attempt ended it. */
  ended_at: string;
  /** Attempts of its last run (the first send, or its latest redelivery). */
  attempts: number;
  redelivery: number;
  /** The last attempt's error, as the job's deliveries log shows it. */
  error: string | null;
}

const SCAN_ROUNDS = 5;

/**
 * The admins' dead-letter view: deliveries that ended unaccepted, newest first, by cursor. An entry
 * whose delivery is gone (BullMQ removed it after 7 days) is pruned; one that is not failed right now
 * (a redelivery on its way) is skipped.
 */
export async function listDeadLetterDeliveries(
  deps: JobDeps,
  query: unknown,
): Promise<{ object: "list"; data: DeadLetter[]; next_cursor: string | null; has_more: boolean }> {
  const parsed = deadLetterQuerySchema.safeParse(query);
  if (!parsed.success)
    throw new GatewayError("invalid_request", "invalid query", describeIssues(parsed.error));
  const { limit } = parsed.data;
  let cursor = parsed.data.cursor;
  const data: DeadLetter[] = [];
  let exhausted = false;
  for (let round = 0; round < SCAN_ROUNDS && data.length < limit && !exhausted; round++) {
    const refs = await listDeadLetters(deps.redis, deps.prefix, {
      limit,
      cursor,
      retentionSeconds: deps.retentionSeconds,
    });
    exhausted = refs.length < limit;
    const gone: string[] = [];
    for (const [i, ref] of refs.entries()) {
      cursor = deadLetterCursor(ref);
      // The state first: the sender lists a dead letter just before BullMQ marks it failed, so a job
      // read before its state could still show the last attempt unfinished.
      const state = await deps.webhooks.getJobState(ref.webhookId);
      if (state === "unknown") gone.push(ref.webhookId);
      if (state !== "failed") continue;
      const job = await deps.webhooks.getJob(ref.webhookId);
      if (!job) continue;
      data.push(entryOf(ref.webhookId, job.data, ref.at, job.attemptsMade, job.failedReason));
      if (data.length === limit) {
        // Entries after this one in the batch are still to come.
        if (i < refs.length - 1) exhausted = false;
        break;
      }
    }
    await forgetDeadLetters(deps.redis, deps.prefix, gone);
  }
  const hasMore = !exhausted && cursor !== undefined;
  return { object: "list", data, next_cursor: hasMore ? (cursor ?? null) : null, has_more: hasMore };
}

const entryOf = (
  webhookId: string,
  d: DeliveryData,
  at: number,
  attempts: number,
  error: string | undefined,
): DeadLetter => ({
  object: "webhook.delivery",
  webhook_id: webhookId,
  job_id: d.jobId,
  event: d.event,
  owner: d.owner,
  url: d.url,
  state: "exhausted",
  ended_at: new Date(at).toISOString(),
  attempts,
  redelivery: d.redelivery ?? 0,
  error: error || null,
});
