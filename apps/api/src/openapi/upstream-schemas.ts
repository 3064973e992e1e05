/**
 * OpenAPI schemas of `GET /v1/upstreams` and `GET /v1/models` (issue #15 fields included). The
 * upstream state is a TypeScript interface in core (store/upstream-state.ts), not a zod schema, so
 * these are written out; test/upstream-views.test.ts checks every field the routes answer is here.
 */
const nullable = (schema: Record<string, unknown>) => ({ oneOf: [schema, { type: "null" }] });
const range = { type: "array", items: { type: "number" }, minItems: 2, maxItems: 2 };

export const paramRulesSchema = {
  type: "object",
  description:
    "Set per upstream in ZIMAGE_UPSTREAMS (`;steps=8;steps_range=8-9;guidance=0;guidance_range=0-0`). A job that leaves a field out gets the upstream's default; a value outside an upstream's bounds is clamped on that upstream, and refused at submit (422 `param_out_of_range`) when it is outside the bounds of every upstream able to run the job.",
  required: ["defaults", "bounds"],
  properties: {
    defaults: {
      type: "object",
      properties: { num_inference_steps: { type: "integer" }, guidance_scale: { type: "number" } },
    },
    bounds: {
      type: "object",
      properties: {
        num_inference_steps: { ...range, description: "[min, max]" },
        guidance_scale: { ...range, description: "[min, max]" },
      },
    },
  },
};

const capabilitiesSchema = {
  type: "object",
  description:
    "How the upstream runs each job kind, learned when it comes up (its `/openapi.json`, else probing routes without GPU work, plus `/v1/models` capabilities and the shape of `/health`) or pinned by the operator (ZIMAGE_UPSTREAMS `;generate=`, `;edit=`).",
  required: [
    "generate",
    "edit",
    "source",
    "routes_from",
    "routes",
    "models",
    "health_shape",
    "discovered_at",
  ],
  properties: {
    generate: { enum: ["sync", null], description: "`sync`: POST /v1/images/generations; null: cannot" },
    edit: {
      enum: ["sync", "async", null],
      description:
        "`sync`: POST /v1/images/edits; `async`: POST /v1/images/async_edit + GET /v1/images/tasks/{id} (the reference server); null: cannot",
    },
    source: {
      type: "object",
      properties: {
        generate: { enum: ["discovered", "pinned"] },
        edit: { enum: ["discovered", "pinned"] },
      },
    },
    routes_from: { enum: ["openapi", "probe"] },
    routes: {
      type: "array",
      items: { type: "string" },
      description: "`METHOD /path` of the image routes found",
    },
    models: {
      type: "array",
      items: {
        type: "object",
        properties: {
          id: { type: "string" },
          capabilities: { type: ["array", "null"], items: { type: "string" } },
        },
      },
    },
    health_shape: {
      enum: ["single", "pipelines", "unknown"],
      description:
        "`/health` reports one model (`model_loaded`) or one flag per pipeline (`t2i_loaded`, `edit_loaded`)",
    },
    discovered_at: { type: "string", format: "date-time" },
  },
};

export const upstreamSchema = {
  type: "object",
  properties: {
    name: { type: "string" },
    url: { type: ["string", "null"], description: "without any credentials the configured URL carries" },
    up: { type: ["boolean", "null"] },
    model_loaded: { type: ["boolean", "null"], description: "any pipeline loaded" },
    busy: { type: "boolean" },
    current_job: { type: ["string", "null"] },
    owner: { type: ["string", "null"], description: "the worker process holding the upstream's lease" },
    lease_term: {
      type: ["integer", "null"],
      description: "the lease's fencing term: it goes up by one every time a dispatcher takes the lease",
    },
    jobs_done: { type: "integer" },
    last_job_at: { type: ["string", "null"] },
    last_unload_at: { type: ["string", "null"] },
    unloads: { type: "integer" },
    last_error: { type: ["string", "null"] },
    checked_at: { type: ["string", "null"] },
    models: {
      type: ["array", "null"],
      items: { type: "string" },
      description: "ids from its GET /v1/models",
    },
    capabilities: nullable({
      ...capabilitiesSchema,
      description: `${capabilitiesSchema.description} Null until discovered.`,
    }),
    loaded_pipeline: {
      enum: ["generate", "edit", "all", "none", null],
      description:
        "Which pipeline is in VRAM: `all` on a single-model server, `none` when unloaded, null when the server does not say. Loading one pipeline of the reference server evicts the other.",
    },
    breaker: nullable({
      type: "object",
      description:
        "Circuit breaker: `open` after BREAKER_FAILURES consecutive failed attempts (no jobs go to it); after BREAKER_COOLDOWN_SECONDS one probe job (`half_open`) closes or reopens it.",
      properties: {
        state: { enum: ["closed", "open", "half_open"] },
        consecutive_failures: { type: "integer" },
        opened_at: { type: ["string", "null"], format: "date-time" },
        retry_at: { type: ["string", "null"], format: "date-time" },
      },
    }),
    params: nullable(paramRulesSchema),
  },
};

export const modelSchema = {
  type: "object",
  required: ["id", "object", "created", "owned_by"],
  properties: {
    id: { type: "string" },
    object: { const: "model" },
    created: { type: "integer" },
    owned_by: { type: "string" },
    upstreams: { type: "array", items: { type: "string" }, description: "the upstreams serving it" },
    capabilities: {
      type: ["array", "null"],
      items: { type: "string" },
      description: "as the upstreams list them (`text-to-image`, `image-to-image`); null when none says",
    },
    params: {
      type: "array",
      description: "per upstream serving it: its defaults and bounds",
      items: {
        allOf: [
          paramRulesSchema,
          { type: "object", required: ["upstream"], properties: { upstream: { type: "string" } } },
        ],
      },
    },
  },
};
