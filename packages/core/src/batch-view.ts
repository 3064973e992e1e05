import { z } from "zod";
import { BATCH_STATUSES, type BatchStatus } from "./batch-request";
import { type JobStatus, jobViewSchema } from "./job-view";

/** Jobs of a batch by status; `total` also counts jobs already deleted or swept (RESULT_TTL). */
export const batchCountsSchema = z.object({
  total: z.number().int(),
  queued: z.number().int(),
  running: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  canceled: z.number().int(),
});
export type BatchCounts = z.infer<typeof batchCountsSchema>;

/** The public batch view (`POST`/`GET /v1/batches…`, the SDK): the batch, its counts, a page of jobs. */
export const batchViewSchema = z.object({
  id: z.string(),
  object: z.literal("batch"),
  status: z.enum(BATCH_STATUSES),
  created_at: z.string(),
  /** When the batch was canceled (`POST /v1/batches/:id/cancel`), or null. */
  canceled_at: z.string().nullable(),
  counts: batchCountsSchema,
  /** A page of the batch's jobs in submit order (GET /v1/batches/:id; absent in lists). */
  jobs: z
    .object({
      object: z.literal("list"),
      data: z.array(jobViewSchema),
      next_cursor: z.string().nullable(),
      has_more: z.boolean(),
    })
    .optional(),
});
export type BatchView = z.infer<typeof batchViewSchema>;

export function countStatuses(total: number, statuses: ReadonlyArray<JobStatus | null>): BatchCounts {
  const counts: BatchCounts = { total, queued: 0, running: 0, succeeded: 0, failed: 0, canceled: 0 };
  for (const s of statuses) if (s) counts[s]++;
  return counts;
}

/**
 * canceled once the batch was canceled; otherwise queued while none of its jobs has started, running
 * while any is queued or running, completed when every job has ended (however each ended).
 */
export function batchStatusOf(counts: BatchCounts, canceled: boolean): BatchStatus {
  if (canceled) return "canceled";
  if (counts.queued + counts.running === 0) return "completed";
  const started = counts.running + counts.succeeded + counts.failed + counts.canceled;
  return started === 0 ? "queued" : "running";
}
