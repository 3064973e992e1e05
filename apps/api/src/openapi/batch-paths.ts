import { batchJobsSchema, batchPromptsSchema, batchViewSchema, DEFAULT_BATCH_MAX_JOBS } from "@zimage/core";
import { authErrors, error, json, jsonBody, ref } from "./openapi-helpers";

/** The `/v1/batches` part of the OpenAPI document (issue #19), merged into document.ts. */
const idParam = { name: "id", in: "path", required: true, schema: { type: "string" } };
const notFound = error("No such batch, or another key's (`batch_not_found`)");

export const batchSchemas = {
  BatchJobsRequest: json(batchJobsSchema(DEFAULT_BATCH_MAX_JOBS), "input"),
  BatchPromptsRequest: json(batchPromptsSchema(DEFAULT_BATCH_MAX_JOBS), "input"),
  Batch: json(batchViewSchema, "output"),
  BatchCreated: {
    allOf: [
      ref("Batch"),
      {
        type: "object",
        required: ["job_ids"],
        properties: { job_ids: { type: "array", items: { type: "string" }, description: "in submit order" } },
      },
    ],
  },
  BatchList: {
    type: "object",
    required: ["object", "data", "next_cursor", "has_more"],
    properties: {
      object: { const: "list" },
      data: { type: "array", items: ref("Batch") },
      next_cursor: { type: ["string", "null"], description: "pass as `cursor` for the next page" },
      has_more: { type: "boolean" },
    },
  },
};

export const batchPaths = {
  "/v1/batches": {
    post: {
      operationId: "createBatch",
      summary: "Submit a batch of text-to-image jobs",
      description: [
        'Up to BATCH_MAX_JOBS (default 1000) jobs in one request, queued all or none: `{"jobs": [<job request>, …]}` with each job as the JSON body of `POST /v1/jobs`, or `{"prompts": ["…", …], <the other fields of one request>}`. A bad job refuses the whole batch with its index in `details` (`jobs.17.size`, `prompts.3`). Edits are not batchable (each needs its own upload).',
        "Each job's `priority` defaults to `batch`; a batch-level `webhook` applies to each job that sets none. The batch takes one submit rate point; it is admitted when the key has a free pending slot (max_pending), and all its jobs then count as pending.",
        "The jobs are enqueued with one `Queue.addBulk`, their bookkeeping (pending set, listing, fair-share slots) taken in one script.",
      ].join("\n\n"),
      parameters: [
        {
          name: "Idempotency-Key",
          in: "header",
          required: false,
          schema: { type: "string", maxLength: 255 },
          description:
            "Same key + same batch within 24 h returns the same batch (200); a different one is 409.",
        },
      ],
      requestBody: {
        required: true,
        content: {
          "application/json": { schema: { oneOf: [ref("BatchJobsRequest"), ref("BatchPromptsRequest")] } },
        },
      },
      responses: {
        "202": {
          ...jsonBody(ref("BatchCreated"), "Queued; `Location` points at the batch"),
          headers: { Location: { schema: { type: "string" } } },
        },
        "200": jsonBody(ref("BatchCreated"), "An Idempotency-Key replay: the batch created earlier"),
        "400": error(
          "Invalid body or a bad job (`invalid_request`, `details[].path` names the job), or a refused webhook URL (`webhook_url_forbidden`)",
        ),
        "409": error(
          "No upstream can run text-to-image (`capability_unavailable`); Idempotency-Key reused (`idempotency_key_reused`) or still in use (`idempotency_key_in_use`)",
        ),
        "413": error("Body larger than BATCH_MAX_JOBS × 16 KB (and MAX_JSON_BYTES) (`payload_too_large`)"),
        "422": error(
          "A job's `num_inference_steps` or `guidance_scale` outside every upstream's bounds (`param_out_of_range`)",
        ),
        "403": error(
          "A job asks for a priority class its key may not use (`priority_not_allowed`, `details.allowed_priorities`)",
        ),
        "429": error(
          "Submit rate or pending-job limit (`rate_limited`, `too_many_pending_jobs`), or the key's GPU budget is spent (`quota_exceeded`, `details.resets_at`), with Retry-After",
        ),
        ...authErrors,
      },
    },
    get: {
      operationId: "listBatches",
      summary: "List your batches, newest first",
      parameters: [
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
        {
          name: "cursor",
          in: "query",
          schema: { type: "string" },
          description: "`next_cursor` of the previous page",
        },
      ],
      responses: {
        "200": jsonBody(ref("BatchList"), "A page of batches (without their jobs)"),
        "400": error("Invalid query"),
        ...authErrors,
      },
    },
  },
  "/v1/batches/{id}": {
    get: {
      operationId: "getBatch",
      summary: "Get a batch: status, counts by job status, and a page of its jobs",
      parameters: [
        idParam,
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 100 } },
        {
          name: "cursor",
          in: "query",
          schema: { type: "string" },
          description: "`jobs.next_cursor` of the previous page",
        },
      ],
      responses: {
        "200": jsonBody(ref("Batch"), "The batch; `jobs` in submit order"),
        "400": error("Invalid query"),
        "404": notFound,
        ...authErrors,
      },
    },
  },
  "/v1/batches/{id}/cancel": {
    post: {
      operationId: "cancelBatch",
      summary: "Cancel every job of the batch still queued or running",
      description:
        "Each job is canceled as `POST /v1/jobs/{id}/cancel` would (webhook and event per job); jobs already ended keep their outcome. Answers the batch with `canceled_jobs`, the number this call canceled.",
      parameters: [idParam],
      responses: {
        "200": jsonBody(
          {
            allOf: [
              ref("Batch"),
              {
                type: "object",
                required: ["canceled_jobs"],
                properties: { canceled_jobs: { type: "integer" } },
              },
            ],
          },
          "The canceled batch",
        ),
        "404": notFound,
        ...authErrors,
      },
    },
  },
};
