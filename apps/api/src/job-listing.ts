import {
  describeIssues,
  GatewayError,
  getJobSnapshot,
  isJobId,
  JOB_STATUSES,
  type JobView,
  jobIdFloor,
  listJobIds,
  unindexJobs,
} from "@zimage/core";
import { z } from "zod";
import { type JobDeps, loadJob, viewOf } from "./job-access";
import { isAdmin, type Principal } from "./principal";

export const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().refine(isJobId, "must be a job id from next_cursor").optional(),
  status: z.enum(JOB_STATUSES).optional(),
  created_after: z.iso.datetime({ offset: true }).optional(),
  created_before: z.iso.datetime({ offset: true }).optional(),
  /**
   * Whose jobs: `me` (the caller's, for anyone), `all` (everyone's, admins; an admin's default) or a
   * key id (admins). `me` lets a client that is sometimes an admin ask for its own jobs without
   * knowing its key id (the console's "My jobs"). Key ids are 8 characters, so neither word is one.
   */
  owner: z
    .string()
    .regex(/^[a-z0-9]{1,32}$/, "must be me, all or a key id")
    .optional(),
});

export interface JobList {
  object: "list";
  data: JobView[];
  next_cursor: string | null;
  has_more: boolean;
}

const idAt = (iso: string) => jobIdFloor(Date.parse(iso));
const SCAN_LIMIT = 1000;

/** The owner whose index to read (null: everyone's) for the `owner` query; refuses a user's other owners. */
function ownerOf(principal: Principal, asked: string | undefined): string | null {
  if (asked === undefined || asked === "me" || asked === principal.id) {
    return asked === undefined && isAdmin(principal) ? null : principal.id;
  }
  if (!isAdmin(principal)) throw new GatewayError("forbidden", "only admins can list other keys' jobs");
  return asked === "all" ? null : asked;
}

/**
 * `GET /v1/jobs`: the caller's jobs (an admin's: everyone's, or `owner=me` for their own), newest first, by cursor. A status filter
 * scans at most SCAN_LIMIT ids per page and returns a cursor to continue, so a rare status never
 * turns one request into a full scan.
 */
export async function listJobs(
  deps: JobDeps,
  principal: Principal,
  query: unknown,
  baseUrl: string,
): Promise<JobList> {
  const parsed = listQuerySchema.safeParse(query);
  if (!parsed.success)
    throw new GatewayError("invalid_request", "invalid query", describeIssues(parsed.error));
  const q = parsed.data;
  const owner = ownerOf(principal, q.owner);
  const data: JobView[] = [];
  let cursor = q.cursor;
  let scanned = 0;
  let exhausted = false;
  while (data.length < q.limit && scanned < SCAN_LIMIT) {
    const ids = await listJobIds(deps.redis, deps.prefix, {
      owner,
      limit: Math.min(100, q.limit * 2),
      before: cursor,
      max: q.created_before ? idAt(q.created_before) : undefined,
      min: q.created_after ? idAt(q.created_after) : undefined,
    });
    if (ids.length === 0) {
      exhausted = true;
      break;
    }
    const gone: string[] = [];
    for (const id of ids) {
      scanned++;
      cursor = id;
      const view = await loadJob(deps, principal, id).then(
        (snap) => viewOf(deps, snap, baseUrl),
        () => null,
      );
      if (!view) {
        // Removed by retention: prune the index lazily.
        if (!(await getJobSnapshot(deps.queue, id))) gone.push(id);
        continue;
      }
      if (q.status && view.status !== q.status) continue;
      data.push(view);
      if (data.length === q.limit) break;
    }
    if (gone.length) await unindexJobs(deps.redis, deps.prefix, owner, gone);
  }
  const hasMore = !exhausted && cursor !== undefined;
  return { object: "list", data, next_cursor: hasMore ? (cursor ?? null) : null, has_more: hasMore };
}
