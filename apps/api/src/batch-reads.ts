import {
  type BatchRecord,
  type BatchView,
  batchJobIds,
  batchStatusOf,
  batchTtlSeconds,
  countStatuses,
  describeIssues,
  GatewayError,
  isBatchId,
  type JobStatus,
  type JobView,
  listBatchIds,
  readBatch,
  readJobStates,
  reported,
  statusOf,
  touchBatch,
} from "@zimage/core";
import { z } from "zod";
import { type JobDeps, loadJob, viewOf } from "./job-access";
import { isAdmin, type Principal } from "./principal";

export const batchNotFound = (id: string) => new GatewayError("batch_not_found", `no batch with id "${id}"`);

/** Ids per state-reading script: a batch of BATCH_MAX_JOBS is read in a few round trips, none huge. */
const STATE_CHUNK = 1000;

export const batchJobsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(100),
  /** The index of the next job, from `jobs.next_cursor`. */
  cursor: z
    .string()
    .regex(/^\d{1,6}$/, "must be a cursor from jobs.next_cursor")
    .optional(),
});

export const batchListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().refine(isBatchId, "must be a batch id from next_cursor").optional(),
});

export type JobsPage = { cursor: number; limit: number } | null;

export function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const parsed = schema.safeParse(query);
  if (!parsed.success)
    throw new GatewayError("invalid_request", "invalid query", describeIssues(parsed.error));
  return parsed.data;
}

/** The batch if the caller may see it: another key's batch is answered like a missing one (404). */
export async function loadBatch(deps: JobDeps, principal: Principal, id: string): Promise<BatchRecord> {
  if (!isBatchId(id)) throw batchNotFound(id);
  const batch = await readBatch(deps.redis, deps.prefix, id);
  if (!batch || (batch.owner !== principal.id && !isAdmin(principal))) throw batchNotFound(id);
  return batch;
}

/** Each of the batch's jobs' status in submit order; null for a job deleted or swept. */
export async function batchJobStatuses(deps: JobDeps, ids: string[]): Promise<Array<JobStatus | null>> {
  const out: Array<JobStatus | null> = [];
  for (let i = 0; i < ids.length; i += STATE_CHUNK) {
    const rows = await readJobStates(deps.redis, deps.prefix, ids.slice(i, i + STATE_CHUNK));
    for (const r of rows) {
      out.push(
        r.canceledTombstone && r.state === "unknown"
          ? "canceled"
          : statusOf(r.state, r.failedReason, r.cancelRequested),
      );
    }
  }
  return out;
}

/** The batch's view: counts by status and, with `page`, that page of its jobs' views. */
export async function readBatchView(
  deps: JobDeps,
  principal: Principal,
  id: string,
  baseUrl: string,
  page: JobsPage,
): Promise<BatchView> {
  const batch = await loadBatch(deps, principal, id);
  const ids = await batchJobIds(deps.redis, deps.prefix, id);
  const statuses = await batchJobStatuses(deps, ids);
  const counts = countStatuses(batch.total, statuses);
  const status = batchStatusOf(counts, batch.canceledAt !== null);
  if (status === "queued" || status === "running") {
    // A batch still working is read now and then: its record lives until its jobs end (see batch-records.ts).
    await touchBatch(deps.redis, deps.prefix, id, batchTtlSeconds(deps.retentionSeconds)).catch(
      reported(deps.logger, "batch_touch", { batchId: id }),
    );
  }
  const view: BatchView = {
    id,
    object: "batch",
    status,
    created_at: new Date(batch.createdAt).toISOString(),
    canceled_at: batch.canceledAt === null ? null : new Date(batch.canceledAt).toISOString(),
    counts,
  };
  if (!page) return view;
  const end = Math.min(ids.length, page.cursor + page.limit);
  const views = await Promise.all(
    ids.slice(page.cursor, end).map((jobId, k) =>
      statuses[page.cursor + k] === null
        ? null
        : loadJob(deps, principal, jobId).then(
            (snapshot) => viewOf(deps, snapshot, baseUrl),
            // Swept or deleted since the states were read: left out of the page like the others.
            (err: unknown) => {
              if (err instanceof GatewayError && (err.status === 404 || err.status === 410)) return null;
              throw err;
            },
          ),
    ),
  );
  const hasMore = end < ids.length;
  view.jobs = {
    object: "list",
    data: views.filter((v): v is JobView => v !== null),
    next_cursor: hasMore ? String(end) : null,
    has_more: hasMore,
  };
  return view;
}

/** `GET /v1/batches`: the caller's batches, newest first, by cursor (views without their jobs). */
export async function listBatches(deps: JobDeps, principal: Principal, query: unknown, baseUrl: string) {
  const q = parseQuery(batchListQuerySchema, query);
  const { ids, last } = await listBatchIds(deps.redis, deps.prefix, principal.id, {
    limit: q.limit,
    before: q.cursor,
  });
  const data = (
    await Promise.all(
      ids.map((id) =>
        readBatchView(deps, principal, id, baseUrl, null).catch((err: unknown) => {
          if (err instanceof GatewayError && err.code === "batch_not_found") return null;
          throw err;
        }),
      ),
    )
  ).filter((v): v is BatchView => v !== null);
  return { object: "list" as const, data, next_cursor: last, has_more: last !== null };
}
