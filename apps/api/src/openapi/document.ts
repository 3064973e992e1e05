import {
  ERROR_CODES,
  editRequestSchema,
  generateRequestSchema,
  JOB_STATUSES,
  jobViewSchema,
} from "@zimage/core";
import { batchPaths, batchSchemas } from "./batch-paths";
import { authErrors, error, json, jsonBody, ref } from "./openapi-helpers";
import { modelSchema, upstreamSchema } from "./upstream-schemas";

/**
 * The OpenAPI 3.1 description of every endpoint, served at /openapi.json and rendered at /docs.
 * Request and job shapes come from the same zod schemas the api validates with, so they cannot drift;
 * a test checks that every Express route is here and every path here is routed.
 */
/** The `{object: "list", data: [...]}` envelope of the lists that have no paging. */
const listOf = (items: object) => ({
  type: "object",
  properties: { object: { const: "list" }, data: { type: "array", items } },
});
const idParam = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^[0-9A-HJKMNP-TV-Z]{26}$" },
};
const keyIdParam = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^[a-z0-9]{8}$" },
};
const open = { security: [] as unknown[] };
const adminErrors = { ...authErrors, "403": error("Needs an admin key (`forbidden`)") };
/** Sign-in and sign-out refuse another site's page (login CSRF); a request without Origin or Referer passes. */
const foreignOrigin = {
  "403": error(
    "Sent from another site's page (`forbidden`): its Origin (or Referer) differs in scheme, host or port; the scheme is PUBLIC_URL's when set",
  ),
};
/** SSE streams and waiting requests count against MAX_STREAMS_PER_KEY and MAX_STREAMS_PER_PROCESS. */
const streamErrors = {
  "429": error(
    "The key already holds MAX_STREAMS_PER_KEY event streams and waiting requests on this server (`too_many_streams`), with Retry-After",
  ),
  "503": error(
    "Redis is unreachable (`service_unavailable`), or the server holds MAX_STREAMS_PER_PROCESS streams and waits (`streams_at_capacity`); with Retry-After",
  ),
};

const openaiError = (description: string) => ({
  description: `${description} (OpenAI's error shape; \`code\` is the gateway's)`,
  content: { "application/json": { schema: ref("OpenAIError") } },
});
const openaiPrefer = {
  name: "Prefer",
  in: "header",
  required: false,
  schema: { type: "string", examples: ["respond-async"] },
  description: "`respond-async`: answer 202 with the job (as POST /v1/jobs does) instead of waiting.",
};
const openaiIdempotency = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  schema: { type: "string", maxLength: 255 },
  description: "As on POST /v1/jobs: a retry with the same key joins the same job.",
};
const openaiResponses = {
  "200": jsonBody(ref("ImagesResponse"), "The finished job's images (header X-Job-Id names the job)"),
  "202": jsonBody(ref("Job"), "With Prefer: respond-async: the job, as POST /v1/jobs answers it"),
  "400": openaiError(
    "Invalid request, or the upstream refused it (`upstream_rejected`, `upstream_out_of_memory`)",
  ),
  "401": openaiError("No, unknown or revoked API key"),
  "409": openaiError(
    "No upstream can run the job's kind (`capability_unavailable`, nothing queued), or the job was canceled while the request waited (`job_canceled`)",
  ),
  "422": openaiError(
    "`num_inference_steps` or `guidance_scale` outside the bounds of every upstream able to run the job (`param_out_of_range`, `param` names it)",
  ),
  "413": openaiError("Body or image too large"),
  "415": openaiError("Wrong content type, an unknown Content-Encoding, or a compressed multipart upload"),
  "429": openaiError(
    "Rate or pending-job limit, or the key holds MAX_STREAMS_PER_KEY waiting requests (`too_many_streams`; nothing was queued); with Retry-After",
  ),
  "502": openaiError("The GPU failed the job (`upstream_error`, `upstream_model_load_failed`, …)"),
  "503": openaiError(
    "Redis or every upstream unavailable, or the server holds MAX_STREAMS_PER_PROCESS waiting requests (`streams_at_capacity`)",
  ),
  "504": openaiError("Still running after OPENAI_WAIT_SECONDS (`job_wait_timeout`), or `upstream_timeout`"),
};

/** How the API answers malformed requests; docs/reliability.md "Hostile input and bounds" lists them all. */
const CLIENT_MISTAKES =
  "**Client mistakes are 4xx.** A body that is not what its `Content-Encoding` says (corrupt or truncated gzip, deflate, br) is 400 `invalid_request`; an unknown encoding, or any encoding on a multipart upload, is 415 `unsupported_media_type`. A path parameter with a malformed percent-encoding (`/v1/jobs/%zz`) is 400 `invalid_request` on every route. Text fields must be well-formed Unicode (no lone surrogates, no U+FFFD); a prompt of only spaces or invisible characters (zero-width, U+3000, …) is empty. Multipart numbers are plain decimals (`2`, `2.5`; not `0x2`, `1e0`, `+2`, ` 2`, `02`). Unknown fields, `__proto__` included, are refused by name on every endpoint.";

/** Which parameters each kind of upstream honours; the README's "Upstream kinds" says the same. */
const UPSTREAM_KINDS = [
  "**Upstream kinds.** What a job's parameters do depends on the upstream that runs it; the job view's `effective_params` shows what was actually run, once the job has succeeded.",
  "- *Documented server* (the published API notes): text-to-image and synchronous edits (`POST /v1/images/edits`) honour `size`, `n`, `num_inference_steps`, `guidance_scale`, `negative_prompt`, `cfg_normalization` and `seed`.",
  "- *Reference server* (the public `vision_server.py`): text-to-image honours `size` (rounded down to a multiple of 32), `n`, `num_inference_steps`, `guidance_scale`, `negative_prompt` and `cfg_normalization`, not `seed`. Its only edit path is asynchronous (`POST /v1/images/async_edit`, then polling the task): it takes the image and the prompt only, runs 50 steps at guidance 4 at the input image's size (there the input, not `size`, decides the output's size: send inputs whose sides are 128-2048 and divisible by 32 to stay within the bounds), and the gateway runs `n` tasks for `n` images. Its text-to-image and edit models evict each other, so the gateway prefers jobs whose model is loaded (within PIPELINE_WINDOW_JOBS / PIPELINE_WINDOW_SECONDS).",
  "- *Operator settings* (ZIMAGE_UPSTREAMS options): `steps`/`guidance` replace the gateway's defaults for jobs that leave those fields out; `steps_range`/`guidance_range` clamp values on that upstream; a value outside the bounds of every upstream able to run the job is refused at submit (422 `param_out_of_range`). When every upstream was discovered (or pinned) without a job's kind, submit answers 409 `capability_unavailable` and queues nothing. `GET /v1/upstreams` and `GET /v1/models` show what was discovered and set.",
].join("\n");

const limits = {
  rate_per_minute: { type: "integer", minimum: 1, maximum: 10000000, description: "submits per minute" },
  max_pending: {
    type: "integer",
    minimum: 1,
    maximum: 1000000,
    description: "queued + running jobs at once",
  },
  priority_weight: {
    type: "number",
    minimum: 0.01,
    maximum: 100,
    description: "fair-share weight: 2 gets two queue turns per turn of a weight-1 key, 0.25 one per four",
  },
  priority_classes: {
    type: "array",
    items: { enum: ["interactive", "batch"] },
    minItems: 1,
    maxItems: 2,
    description:
      'the priority classes the key may submit (default both); a key limited to ["batch"] gets batch jobs by default and a 403 `priority_not_allowed` when it asks for interactive',
  },
  gpu_seconds_per_day: {
    type: ["number", "null"],
    exclusiveMinimum: 0,
    maximum: 31622400,
    description: "GPU-seconds budget per UTC day (model load + inference); null: unlimited",
  },
  gpu_seconds_per_month: {
    type: ["number", "null"],
    exclusiveMinimum: 0,
    maximum: 31622400,
    description: "GPU-seconds budget per UTC month; null: unlimited",
  },
};

const usageFigures = {
  type: "object",
  required: ["jobs", "images", "gpu_seconds"],
  properties: {
    jobs: { type: "integer", description: "jobs that reached a GPU and ended (any outcome)" },
    images: { type: "integer", description: "images delivered by the jobs that succeeded" },
    gpu_seconds: {
      type: "number",
      description:
        "GPU time as the dispatchers measured it (model load + inference, every attempt), ms precision",
    },
  },
};

const usageReport = {
  type: "object",
  required: ["object", "from", "to", "key", "totals", "days", "by_upstream"],
  properties: {
    object: { const: "usage" },
    from: { type: "string", format: "date" },
    to: { type: "string", format: "date" },
    key: { type: "string", description: 'the key id, or "all"' },
    totals: usageFigures,
    days: {
      type: "array",
      description: "UTC days with usage, oldest first",
      items: {
        allOf: [
          usageFigures,
          {
            type: "object",
            required: ["date", "upstreams"],
            properties: {
              date: { type: "string", format: "date" },
              upstreams: { type: "object", additionalProperties: usageFigures },
            },
          },
        ],
      },
    },
    by_upstream: { type: "object", additionalProperties: usageFigures },
    by_key: {
      type: "array",
      description: "key=all only: each key with usage in the range, most GPU time first",
      items: {
        allOf: [
          usageFigures,
          {
            type: "object",
            required: ["key", "name"],
            properties: { key: { type: "string" }, name: { type: ["string", "null"] } },
          },
        ],
      },
    },
  },
};

const webhookSecrets = {
  type: "object",
  required: ["secret", "previous_secrets"],
  properties: {
    secret: { type: "string", description: "Deliveries are signed with it (`whsec_…`)" },
    previous_secrets: {
      type: "array",
      description: "Replaced secrets that deliveries are still signed with too, until `expires_at`",
      items: {
        type: "object",
        required: ["secret", "expires_at"],
        properties: { secret: { type: "string" }, expires_at: { type: "string", format: "date-time" } },
      },
    },
  },
};

export const openapiDocument = {
  openapi: "3.1.0",
  info: {
    title: "Z-Image Gateway",
    version: "0.1.0",
    description:
      "Asynchronous job API in front of self-hosted Z-Image GPU servers: submit text-to-image and image-to-image jobs, get an id at once, poll and download the PNGs. Errors are `{error: {code, message, details?}}` with a stable code.\n\n" +
      CLIENT_MISTAKES +
      "\n\n" +
      UPSTREAM_KINDS,
  },
  servers: [{ url: "/" }],
  security: [{ bearer: [] }, { session: [] }],
  components: {
    securitySchemes: {
      bearer: {
        type: "http",
        scheme: "bearer",
        description: "An API key `zk_<id>_<secret>` (or ADMIN_API_KEY).",
      },
      session: {
        type: "apiKey",
        in: "cookie",
        name: "zg_session",
        description: "A browser session from `POST /v1/session` (the web console).",
      },
      metricsToken: {
        type: "http",
        scheme: "bearer",
        description: "METRICS_TOKEN, when the gateway sets one.",
      },
    },
    schemas: {
      Session: {
        type: "object",
        properties: {
          principal: {
            type: "object",
            properties: {
              id: { type: "string" },
              name: { type: "string" },
              role: { enum: ["admin", "user"] },
            },
          },
          open_mode: { type: "boolean", description: "No keys exist and the api is on loopback" },
        },
      },
      GenerateRequest: json(generateRequestSchema, "input"),
      EditRequest: json(editRequestSchema, "input"),
      Job: json(jobViewSchema, "output"),
      ...batchSchemas,
      JobList: {
        type: "object",
        required: ["object", "data", "next_cursor", "has_more"],
        properties: {
          object: { const: "list" },
          data: { type: "array", items: ref("Job") },
          next_cursor: { type: ["string", "null"], description: "pass as `cursor` for the next page" },
          has_more: { type: "boolean" },
        },
      },
      ErrorBody: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["code", "message"],
            properties: {
              code: { type: "string", enum: Object.keys(ERROR_CODES) },
              message: { type: "string" },
              details: {},
            },
          },
        },
      },
      OpenAIError: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["message", "type", "code", "param"],
            properties: {
              message: { type: "string" },
              type: {
                enum: [
                  "invalid_request_error",
                  "authentication_error",
                  "permission_error",
                  "rate_limit_error",
                  "server_error",
                ],
              },
              code: { type: "string", enum: Object.keys(ERROR_CODES) },
              param: { type: ["string", "null"] },
            },
          },
        },
      },
      ImagesResponse: {
        type: "object",
        required: ["created", "data"],
        properties: {
          created: { type: "integer", description: "when the job finished, Unix seconds" },
          data: {
            type: "array",
            items: {
              type: "object",
              required: ["revised_prompt"],
              properties: {
                b64_json: { type: "string", description: "the PNG, base64 (response_format b64_json)" },
                url: { type: "string", description: "a signed gateway URL (response_format url)" },
                revised_prompt: { type: "string" },
              },
            },
          },
        },
      },
      ApiKey: {
        type: "object",
        required: ["id", "name", "role", "prefix", "created_at", "revoked_at", ...Object.keys(limits)],
        properties: {
          id: { type: "string" },
          name: { type: "string" },
          role: { enum: ["admin", "user"] },
          prefix: { type: "string", description: "the key's first characters, to recognise it" },
          created_at: { type: "string", format: "date-time" },
          revoked_at: { type: ["string", "null"], format: "date-time" },
          ...limits,
        },
      },
      Upstream: upstreamSchema,
      Model: modelSchema,
      Readiness: {
        type: "object",
        properties: {
          status: { enum: ["ready", "not_ready"] },
          checks: { type: "object", additionalProperties: { type: "string" } },
        },
      },
    },
  },
  paths: {
    ...batchPaths,
    "/v1/jobs": {
      post: {
        operationId: "createJob",
        summary: "Submit a job",
        description:
          "JSON body: text-to-image. multipart/form-data with one PNG or JPEG in `image` plus the same fields as text: image-to-image. Queued fairly across users; answers at once.",
        parameters: [
          {
            name: "Idempotency-Key",
            in: "header",
            required: false,
            schema: { type: "string", maxLength: 255 },
            description:
              "Same key + same request within 24 h returns the same job (200); a different request is 409.",
          },
          {
            name: "Prefer",
            in: "header",
            required: false,
            schema: { type: "string", examples: ["wait=30"] },
            description:
              "`wait=N` (N up to 60 s): answer 200 with the finished job if it finishes within N seconds, else 202 as usual. Over the stream caps (MAX_STREAMS_PER_KEY, MAX_STREAMS_PER_PROCESS) the preference is not applied: the job is queued and answered at once, without `Preference-Applied`.",
          },
        ],
        requestBody: {
          required: true,
          content: {
            "application/json": { schema: ref("GenerateRequest") },
            "multipart/form-data": {
              schema: {
                allOf: [
                  ref("EditRequest"),
                  {
                    type: "object",
                    required: ["image"],
                    properties: { image: { type: "string", contentMediaType: "image/png" } },
                  },
                ],
              },
            },
          },
        },
        responses: {
          "202": {
            ...jsonBody(ref("Job"), "Queued; `Location` points at the job"),
            headers: { Location: { schema: { type: "string" } } },
          },
          "200": jsonBody(ref("Job"), "The finished job (Prefer: wait), or an Idempotency-Key replay"),
          "400": error(
            "Invalid fields, JSON or image (`invalid_request`, `invalid_json`, `invalid_image`, `invalid_idempotency_key`; a `cancel_after` in the past or under 1 s ahead is `invalid_request`), or a refused webhook URL (`webhook_url_forbidden`)",
          ),
          "403": error(
            "The API key may not use the requested `priority` class (`priority_not_allowed`; `details.allowed_priorities` lists the classes it may use)",
          ),
          "409": error(
            "No upstream can run the job's kind: every upstream was discovered and none offers it (`capability_unavailable`); Idempotency-Key reused with a different request (`idempotency_key_reused`), or a concurrent request with it still queueing its job (`idempotency_key_in_use`)",
          ),
          "422": error(
            "`num_inference_steps` or `guidance_scale` outside the bounds of every upstream able to run the job (`param_out_of_range`; the message and `details.allowed` give each upstream's range)",
          ),
          "413": error("Body or upload too large (`payload_too_large`)"),
          "415": error(
            "Neither JSON nor multipart, an unknown Content-Encoding, or a multipart upload with any Content-Encoding (`unsupported_media_type`)",
          ),
          "429": error(
            "Submit rate or pending-job limit (`rate_limited`, `too_many_pending_jobs`), or the key's GPU budget for the UTC day or month is spent (`quota_exceeded`; `details`: `period`, `limit_seconds`, `used_seconds`, `resets_at`), with Retry-After",
          ),
          ...authErrors,
        },
      },
      get: {
        operationId: "listJobs",
        summary: "List your jobs, newest first",
        parameters: [
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
          {
            name: "cursor",
            in: "query",
            schema: { type: "string" },
            description: "`next_cursor` of the previous page",
          },
          { name: "status", in: "query", schema: { enum: [...JOB_STATUSES] } },
          { name: "created_after", in: "query", schema: { type: "string", format: "date-time" } },
          { name: "created_before", in: "query", schema: { type: "string", format: "date-time" } },
          {
            name: "owner",
            in: "query",
            schema: { type: "string" },
            description:
              "`me`: the caller's own jobs (anyone); `all`: everyone's (admins, and an admin's default); a key id: that key's jobs (admins)",
          },
        ],
        responses: {
          "200": jsonBody(ref("JobList"), "A page of jobs"),
          "400": error("Invalid query"),
          ...adminErrors,
        },
      },
    },
    "/v1/jobs/{id}": {
      get: {
        operationId: "getJob",
        summary: "Get a job",
        parameters: [
          idParam,
          {
            name: "wait",
            in: "query",
            schema: { type: "integer", minimum: 0, maximum: 60 },
            description: "Seconds to wait for the job to finish before answering with its state then",
          },
        ],
        responses: {
          "200": jsonBody(ref("Job"), "The job"),
          "404": error("No such job, or not yours (`job_not_found`)"),
          "410": error("Deleted after RESULT_TTL (`job_gone`)"),
          ...authErrors,
          ...streamErrors,
        },
      },
      delete: {
        operationId: "deleteJob",
        summary: "Cancel an unfinished job, or delete a finished one",
        description:
          "Queued: removed, reads canceled. Running: reads canceled at once; the GPU finishes and the result is discarded. Finished (succeeded, failed or canceled): the job, its images and its input are deleted and it reads 410 `job_gone` from then on.",
        parameters: [idParam],
        responses: {
          "200": jsonBody(ref("Job"), "The canceled job"),
          "204": { description: "The finished job was deleted" },
          "404": error("No such job, or not yours"),
          "409": error("Canceled while running and still on the GPU (`job_still_running`)"),
          "410": error("Already deleted (`job_gone`)"),
          ...authErrors,
        },
      },
    },
    "/v1/jobs/{id}/retry": {
      post: {
        operationId: "retryJob",
        summary: "Submit a new job with the same parameters (and input image) as this one",
        description:
          "Any state. The webhook is not copied. Honours `Idempotency-Key` like a submit; limits and fair share apply.",
        parameters: [
          idParam,
          { name: "Idempotency-Key", in: "header", required: false, schema: { type: "string" } },
        ],
        responses: {
          "202": jsonBody(ref("Job"), "The new job"),
          "404": error("No such job, or not yours"),
          "409": error(
            "The edit's input image is no longer stored (`input_gone`), or no upstream can run the job's kind any more (`capability_unavailable`)",
          ),
          "422": error("A parameter outside every capable upstream's bounds (`param_out_of_range`)"),
          "410": error("The job was deleted (`job_gone`)"),
          "429": error("Rate or pending-jobs limit (`rate_limited`, `too_many_pending_jobs`)"),
          ...authErrors,
        },
      },
    },
    "/v1/events": {
      get: {
        operationId: "streamMyJobEvents",
        summary: "Server-sent events: every change to the caller's jobs",
        description:
          "Opens with the caller's queued and running jobs, then `event: job` with the job view whenever one of them changes (queue position, dispatch, phase, end) and `event: deleted` with `{id}` when one is deleted. Heartbeat comments every 15 s. No event ids: a client that reconnects re-reads its list.",
        responses: {
          "200": {
            description: "text/event-stream",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
          ...authErrors,
          ...streamErrors,
        },
      },
    },
    "/v1/session": {
      post: {
        operationId: "signIn",
        summary: "Exchange an API key for a browser session cookie (the web console's sign-in)",
        description:
          "Sets `zg_session` (HttpOnly, SameSite=Strict, 12 h). With the cookie, every /v1 endpoint works without `Authorization`; requests that change something must come from this origin (Origin header: scheme, host and port). Refused from another site's page (login CSRF). A session made with ADMIN_API_KEY ends when that key changes.",
        security: [],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: { type: "object", required: ["key"], properties: { key: { type: "string" } } },
            },
          },
        },
        responses: {
          "200": jsonBody(ref("Session"), "Signed in"),
          "400": error("No key in the body (`invalid_request`)"),
          "401": error("Unknown or revoked key (`invalid_api_key`)"),
          ...foreignOrigin,
          "429": error("Too many failed sign-ins from this address (`too_many_auth_failures`)"),
        },
      },
      get: {
        operationId: "getSession",
        summary: "Who the caller is (by cookie, key, or open local mode)",
        responses: { "200": jsonBody(ref("Session"), "The caller"), ...authErrors },
      },
      delete: {
        operationId: "signOut",
        summary: "End the browser session",
        security: [],
        responses: { "204": { description: "Signed out" }, ...foreignOrigin },
      },
    },
    "/v1/jobs/{id}/events": {
      get: {
        operationId: "streamJobEvents",
        summary: "Server-sent events: the job view on each change, then the stream ends",
        description:
          "`event: job` with the job view as data and an opaque `id`; reconnect with `Last-Event-ID` to get the job again only if it changed. Heartbeat comments every 15 s.",
        parameters: [
          idParam,
          { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string" } },
        ],
        responses: {
          "200": {
            description: "text/event-stream",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
          "404": error("No such job, or not yours"),
          ...authErrors,
          ...streamErrors,
        },
      },
    },
    "/v1/jobs/{id}/cancel": {
      post: {
        operationId: "cancelJobPost",
        summary: "Cancel a job (POST form of DELETE /v1/jobs/{id})",
        parameters: [idParam],
        responses: {
          "200": jsonBody(ref("Job"), "The canceled job"),
          "404": error("No such job, or not yours"),
          "409": error("Already succeeded or failed"),
          ...authErrors,
        },
      },
    },
    "/v1/jobs/{id}/images/{index}": {
      get: {
        operationId: "getJobImage",
        summary: "Download an image of a succeeded job",
        description: "With the signed `expires` and `sig` from a job view's image URL, no API key is needed.",
        security: [{ bearer: [] }, {}],
        parameters: [
          idParam,
          { name: "index", in: "path", required: true, schema: { type: "integer", minimum: 0, maximum: 3 } },
          { name: "expires", in: "query", required: false, schema: { type: "integer" } },
          { name: "sig", in: "query", required: false, schema: { type: "string" } },
        ],
        responses: {
          "200": {
            description: "The PNG",
            content: { "image/png": { schema: { type: "string", contentMediaType: "image/png" } } },
          },
          "404": error("No such job or image (`job_not_found`, `image_not_found`)"),
          "403": error("Signed URL altered or expired (`signed_url_invalid`, `signed_url_expired`)"),
          "409": error("The job has not finished (`job_not_finished`)"),
          "410": error("Deleted after RESULT_TTL (`job_gone`)"),
          ...authErrors,
        },
      },
    },
    "/v1/jobs/{id}/deliveries": {
      get: {
        operationId: "listJobDeliveries",
        summary: "The job's webhook delivery attempts",
        parameters: [idParam],
        responses: {
          "200": jsonBody(
            listOf({
              type: "object",
              properties: {
                webhook_id: { type: "string" },
                event: { type: "string" },
                attempt: { type: "integer" },
                at: { type: "string", format: "date-time" },
                url: { type: "string" },
                status_code: { type: ["integer", "null"] },
                error: { type: ["string", "null"] },
                duration_ms: { type: "integer" },
                next_retry_at: { type: ["string", "null"], format: "date-time" },
                redelivery: {
                  type: "integer",
                  minimum: 0,
                  description:
                    "0 for the first send; n for the n-th redelivery, whose attempts count from 1 again",
                },
              },
            }),
            "Attempts, oldest first",
          ),
          "404": error("No such job, or not yours"),
          ...authErrors,
        },
      },
    },
    "/v1/jobs/{id}/deliveries/{event}/redeliver": {
      post: {
        operationId: "redeliverWebhook",
        summary: "Send a finished webhook delivery again, with the same webhook-id (owner or admin)",
        description:
          "The delivery of `event` is queued again as the same delivery: the same `webhook-id` and the same `data` as first sent, signed with the owner's current secrets, its URL checked by the SSRF guard again, with the whole WEBHOOK_RETRY_SCHEDULE. A delivery the receiver accepted may be sent again too; a receiver that de-duplicates on `webhook-id` keeps the first. Its attempts are appended to the job's deliveries with `redelivery` n.",
        parameters: [
          idParam,
          {
            name: "event",
            in: "path",
            required: true,
            description: "As in `webhook.events`; `job.` in front (the payload's `type`) is accepted",
            schema: { type: "string", pattern: "^(job\\.)?(queued|running|succeeded|failed|canceled)$" },
          },
        ],
        responses: {
          "202": jsonBody(
            {
              type: "object",
              required: ["object", "webhook_id", "job_id", "event", "redelivery", "previous_state"],
              properties: {
                object: { const: "webhook.redelivery" },
                webhook_id: { type: "string" },
                job_id: { type: "string" },
                event: { enum: ["queued", "running", "succeeded", "failed", "canceled"] },
                redelivery: { type: "integer", minimum: 1 },
                previous_state: { enum: ["exhausted", "delivered"] },
              },
            },
            "Queued again",
          ),
          "400": error(
            "Not an event (`invalid_request`), or the URL is now refused by the SSRF guard (`webhook_url_forbidden`)",
          ),
          "404": error(
            "No such job, or not yours (`job_not_found`); no delivery of that event, or one older than 7 days (`delivery_not_found`)",
          ),
          "409": error("The delivery is still queued, retrying or being sent (`delivery_pending`)"),
          "410": error("The job was deleted (`job_gone`)"),
          ...authErrors,
        },
      },
    },
    "/v1/admin/deliveries": {
      get: {
        operationId: "listDeadLetters",
        summary: "Webhook deliveries that ended unaccepted, newest first (admin)",
        description:
          "The dead letters: deliveries whose retries ran out, or that a 4xx answer or the SSRF guard ended. Entries leave after RESULT_TTL (at most 10,000 are kept) and when redelivered.",
        parameters: [
          { name: "state", in: "query", schema: { const: "exhausted", default: "exhausted" } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
          {
            name: "cursor",
            in: "query",
            schema: { type: "string" },
            description: "`next_cursor` of the page before",
          },
        ],
        responses: {
          "200": jsonBody(
            {
              type: "object",
              required: ["object", "data", "next_cursor", "has_more"],
              properties: {
                object: { const: "list" },
                data: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      object: { const: "webhook.delivery" },
                      webhook_id: { type: "string" },
                      job_id: { type: "string" },
                      event: { type: "string" },
                      owner: { type: "string", description: "The id of the API key that owns the job" },
                      url: { type: "string" },
                      state: { const: "exhausted" },
                      ended_at: { type: "string", format: "date-time" },
                      attempts: { type: "integer" },
                      redelivery: { type: "integer" },
                      error: { type: ["string", "null"] },
                    },
                  },
                },
                next_cursor: { type: ["string", "null"] },
                has_more: { type: "boolean" },
              },
            },
            "Dead letters, newest first",
          ),
          "400": error("Invalid query"),
          ...adminErrors,
        },
      },
    },
    "/v1/webhook-secret": {
      get: {
        operationId: "getWebhookSecret",
        summary: "Your key's webhook signing secret (Standard Webhooks, whsec_…)",
        description:
          "`previous_secrets` lists secrets a rotation replaced that deliveries are still signed with, each until its `expires_at` (WEBHOOK_SECRET_OVERLAP_SECONDS after the rotation).",
        responses: {
          "200": jsonBody(webhookSecrets, "The secret, and the replaced ones still signing"),
          ...authErrors,
        },
      },
    },
    "/v1/webhook-secret/rotate": {
      post: {
        operationId: "rotateWebhookSecret",
        summary: "Replace your webhook signing secret; the old one keeps signing too until the overlap ends",
        description:
          "Deliveries from now on are signed with the new secret and, for WEBHOOK_SECRET_OVERLAP_SECONDS (24 h by default), with the old one as well: `webhook-signature` carries one `v1,…` signature per secret, space-separated, so a receiver holding either verifies.",
        responses: {
          "200": jsonBody(webhookSecrets, "The new secret, and the replaced ones still signing"),
          ...authErrors,
        },
      },
    },
    "/v1/images/generations": {
      post: {
        operationId: "openaiGenerate",
        tags: ["OpenAI-compatible"],
        summary: "Text-to-image, OpenAI Images API style: queued as a job, answered when it finishes",
        description:
          "The body is OpenAI's (`prompt`, `n`, `size`, `response_format`; `model`, `quality`, `style`, `user` are accepted and ignored) plus Z-Image's `negative_prompt`, `num_inference_steps`, `guidance_scale`, `cfg_normalization`, `seed`. The request waits up to OPENAI_WAIT_SECONDS, then answers 504 `job_wait_timeout` naming the job, which carries on. Errors after the job exists carry `x-should-retry: false` so clients do not queue it twice.",
        parameters: [openaiPrefer, openaiIdempotency],
        requestBody: {
          required: true,
          content: { "application/json": { schema: ref("GenerateRequest") } },
        },
        responses: openaiResponses,
      },
    },
    "/v1/images/edits": {
      post: {
        operationId: "openaiEdit",
        tags: ["OpenAI-compatible"],
        summary: "Image-to-image, OpenAI Images API style (multipart)",
        description:
          "One PNG or JPEG in `image` (or `image[]`); `mask` is refused (400, param `mask`). Without `size` (or with `auto`) the input's size fitted to the bounds is used, as on POST /v1/jobs. Otherwise as /v1/images/generations.",
        parameters: [openaiPrefer, openaiIdempotency],
        requestBody: {
          required: true,
          content: {
            "multipart/form-data": {
              schema: {
                allOf: [
                  ref("EditRequest"),
                  {
                    type: "object",
                    required: ["image"],
                    properties: { image: { type: "string", contentMediaType: "image/png" } },
                  },
                ],
              },
            },
          },
        },
        responses: openaiResponses,
      },
    },
    "/v1/models": {
      get: {
        operationId: "openaiModels",
        tags: ["OpenAI-compatible"],
        summary: "The models the upstreams serve, with the upstreams serving each",
        description:
          "OpenAI's list shape (`models.list()` works); each model also names the upstreams serving it, its capabilities as they list them, and per upstream the operator's defaults and bounds.",
        responses: {
          "200": jsonBody(listOf(ref("Model")), "Models"),
          "401": openaiError("No, unknown or revoked API key"),
          "503": openaiError("Redis is unreachable"),
        },
      },
    },
    "/v1/usage": {
      get: {
        operationId: "getUsage",
        summary: "GPU usage by UTC day and upstream: your key's, or (admin) any key's or all keys'",
        description:
          "Jobs that reached a GPU, the images they delivered and the GPU seconds they used (model load and inference as the dispatcher measured them, failed and canceled attempts included), by UTC day and by upstream. Days without usage are left out. Usage is kept USAGE_RETENTION_DAYS (default 400).",
        parameters: [
          {
            name: "key",
            in: "query",
            description:
              'An API key id or "all" (admin only; with a per-key breakdown). Default: your own key.',
            schema: { type: "string", pattern: "^(all|[a-z0-9]{1,64})$" },
          },
          {
            name: "from",
            in: "query",
            description: "First UTC day (default: 29 days before `to`)",
            schema: { type: "string", format: "date" },
          },
          {
            name: "to",
            in: "query",
            description: "Last UTC day, included (default: today). At most 366 days from `from`.",
            schema: { type: "string", format: "date" },
          },
        ],
        responses: {
          "200": jsonBody(usageReport, "Usage"),
          "400": error("A malformed date, from after to, a range over 366 days, or an unknown parameter"),
          "403": error("Another key's usage, asked by a non-admin (`forbidden`)"),
          ...authErrors,
        },
      },
    },
    "/v1/models/{id}": {
      get: {
        operationId: "openaiModel",
        tags: ["OpenAI-compatible"],
        summary: "One model, as `GET /v1/models` lists it (`models.retrieve(id)`)",
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
        responses: {
          "200": jsonBody(ref("Model"), "The model"),
          "404": openaiError("No upstream serves this model (`model_not_found`, param `model`)"),
          "401": openaiError("No, unknown or revoked API key"),
          "503": openaiError("Redis is unreachable"),
        },
      },
    },
    "/v1/upstreams": {
      get: {
        operationId: "listUpstreams",
        summary: "Each upstream's state (admin)",
        responses: {
          "200": jsonBody(listOf(ref("Upstream")), "Upstreams"),
          ...adminErrors,
        },
      },
    },
    "/v1/admin/queue-history": {
      get: {
        operationId: "queueHistory",
        summary: "Queued and running jobs, one point a minute for up to a day (admin)",
        parameters: [
          {
            name: "minutes",
            in: "query",
            schema: { type: "integer", minimum: 1, maximum: 1440, default: 60 },
          },
        ],
        responses: {
          "200": jsonBody(
            {
              type: "object",
              properties: {
                interval_seconds: { const: 60 },
                points: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      at: { type: "string", format: "date-time" },
                      queued: { type: "integer" },
                      running: { type: "integer" },
                    },
                  },
                },
              },
            },
            "Oldest first; minutes with no sample are absent",
          ),
          "400": error("Invalid query"),
          ...adminErrors,
        },
      },
    },
    "/v1/admin/keys": {
      post: {
        operationId: "createKey",
        summary: "Create an API key (admin); the key is in this answer only",
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: {
                type: "object",
                required: ["name"],
                additionalProperties: false,
                properties: {
                  name: { type: "string", minLength: 1, maxLength: 100 },
                  role: { enum: ["admin", "user"], default: "user" },
                  ...limits,
                },
              },
            },
          },
        },
        responses: {
          "201": jsonBody(
            {
              allOf: [
                ref("ApiKey"),
                { type: "object", required: ["key"], properties: { key: { type: "string" } } },
              ],
            },
            "Created",
          ),
          "400": error("Invalid fields"),
          ...adminErrors,
        },
      },
      get: {
        operationId: "listKeys",
        summary: "List API keys (admin)",
        responses: {
          "200": jsonBody(listOf(ref("ApiKey")), "Keys"),
          ...adminErrors,
        },
      },
    },
    "/v1/admin/keys/{id}": {
      patch: {
        operationId: "setKeyLimits",
        summary: "Change a key's limits (admin)",
        parameters: [keyIdParam],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: { type: "object", additionalProperties: false, properties: limits },
            },
          },
        },
        responses: {
          "200": jsonBody(ref("ApiKey"), "Updated"),
          "400": error("Invalid fields"),
          "404": error("No such key"),
          ...adminErrors,
        },
      },
      delete: {
        operationId: "revokeKey",
        summary: "Revoke a key (admin); it stops working on the next request",
        parameters: [keyIdParam],
        responses: { "200": jsonBody(ref("ApiKey"), "Revoked"), "404": error("No such key"), ...adminErrors },
      },
    },
    "/admin/login": {
      get: {
        operationId: "adminLoginPage",
        summary: "Sign-in page of the queue admin",
        ...open,
        responses: { "200": { description: "HTML form" } },
      },
      post: {
        operationId: "adminLogin",
        summary: "Exchange an admin key for an HttpOnly session cookie",
        ...open,
        requestBody: {
          required: true,
          content: {
            "application/x-www-form-urlencoded": {
              schema: { type: "object", required: ["key"], properties: { key: { type: "string" } } },
            },
          },
        },
        responses: {
          "303": { description: "Signed in; redirected to /admin/queues" },
          "401": { description: "Not an admin key" },
          ...foreignOrigin,
        },
      },
    },
    "/admin/queues": {
      get: {
        operationId: "queueAdmin",
        summary:
          "bull-board queue admin (admins; session cookie or bearer), read-only. Its own UI routes live below this path; any method but GET and HEAD there is `405 method_not_allowed` (change jobs through /v1/jobs).",
        responses: {
          "200": { description: "HTML" },
          "303": { description: "Browser without a session: to /admin/login" },
          "401": error("Not signed in"),
          "403": error("Not an admin"),
        },
      },
    },
    "/admin/logout": {
      post: {
        operationId: "adminLogout",
        summary: "End the admin session",
        ...open,
        responses: { "303": { description: "Signed out" }, ...foreignOrigin },
      },
    },
    "/health": {
      get: {
        operationId: "health",
        summary: "The process is alive",
        ...open,
        responses: { "200": jsonBody({ type: "object" }, "ok") },
      },
    },
    "/ready": {
      get: {
        operationId: "ready",
        summary: "Dependencies reachable",
        ...open,
        responses: {
          "200": jsonBody(ref("Readiness"), "Ready"),
          "503": jsonBody(ref("Readiness"), "Not ready"),
        },
      },
    },
    "/metrics": {
      get: {
        operationId: "metrics",
        summary: "Prometheus metrics (docs/metrics.md)",
        security: [{}, { metricsToken: [] }],
        responses: {
          "200": {
            description: "Prometheus text exposition",
            content: { "text/plain": { schema: { type: "string" } } },
          },
          "401": error("METRICS_TOKEN is set and was not sent"),
        },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "openapi",
        summary: "This document",
        ...open,
        responses: { "200": jsonBody({ type: "object" }, "OpenAPI 3.1") },
      },
    },
    "/docs/docs.js": {
      get: {
        operationId: "docsScript",
        summary: "Script of /docs",
        ...open,
        responses: { "200": { description: "JavaScript" } },
      },
    },
    "/docs/docs.css": {
      get: {
        operationId: "docsStyle",
        summary: "Style of /docs",
        ...open,
        responses: { "200": { description: "CSS" } },
      },
    },
    "/docs": {
      get: {
        operationId: "docs",
        summary: "This document, rendered",
        ...open,
        responses: { "200": { description: "HTML" } },
      },
    },
    "/": {
      get: {
        operationId: "console",
        summary: "The web console (sign in with an API key); its assets are under /assets",
        ...open,
        responses: {
          "200": { description: "HTML" },
          "503": { description: "The console is not built (`pnpm --filter @zimage/console build`)" },
        },
      },
    },
  },
};
