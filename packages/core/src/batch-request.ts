import { z } from "zod";
import { generateRequestSchema } from "./job-request";

/**
 * `POST /v1/batches` (issue #19): text-to-image job requests, each validated by the same schema as
 * `POST /v1/jobs`, in one of two forms — `{"jobs": [<job request>, …]}`, or one request's parameters
 * with a list of prompts `{"prompts": ["…", …], "size": …}`. Zod names a bad job by its index
 * (`jobs.17.size`, `prompts.3`). Edits are not batchable: each needs its own uploaded image.
 * `webhook` at the batch level applies to each job that does not set its own.
 */
export const DEFAULT_BATCH_MAX_JOBS = 1000;

const jobRequest = generateRequestSchema.omit({ kind: true });

const counted = <T extends z.ZodType>(item: T, what: string, maxJobs: number) =>
  z.array(item).min(1, `at least one ${what}`).max(maxJobs, `at most ${maxJobs} ${what}s (BATCH_MAX_JOBS)`);

/** `{"jobs": [...]}`: each job a full request; the batch's `webhook` is each job's unless it sets one. */
export const batchJobsSchema = (maxJobs: number) =>
  z.strictObject({
    jobs: counted(jobRequest, "job", maxJobs),
    webhook: generateRequestSchema.shape.webhook,
  });

/** `{"prompts": [...], ...}`: one request's parameters (and webhook) for every prompt. */
export const batchPromptsSchema = (maxJobs: number) =>
  jobRequest.omit({ prompt: true }).extend({
    prompts: counted(generateRequestSchema.shape.prompt, "prompt", maxJobs),
  });

/**
 * The schema for a body: the jobs form when it has `jobs`, the prompts form otherwise. Chosen by key
 * rather than by a zod union, so an error names the bad field of the form the client meant.
 */
export function batchRequestSchema(body: unknown, maxJobs: number) {
  const jobsForm = typeof body === "object" && body !== null && "jobs" in body;
  return jobsForm ? batchJobsSchema(maxJobs) : batchPromptsSchema(maxJobs);
}

export type BatchRequest = z.infer<ReturnType<typeof batchJobsSchema | typeof batchPromptsSchema>>;
/** One job of a batch as the schema returns it (parameters with defaults filled in). */
export type BatchJobRequest = z.infer<typeof jobRequest>;

export const BATCH_STATUSES = ["queued", "running", "completed", "canceled"] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
