import {
  createApiKey,
  describeIssues,
  GatewayError,
  isWellFormedText,
  type KeyLimits,
  listApiKeys,
  PRIORITY_CLASSES,
  revokeApiKey,
  setApiKeyLimits,
  WELL_FORMED_MESSAGE,
} from "@zimage/core";
import express, { Router } from "express";
import type { Redis } from "ioredis";
import { z } from "zod";

const limitsSchema = {
  rate_per_minute: z.number().int().min(1).max(10_000_000),
  max_pending: z.number().int().min(1).max(1_000_000),
  // Fair-share weight: 2 gets two queue turns per turn of a weight-1 key; 0.25 one per four turns.
  priority_weight: z.number().min(0.01).max(100),
  // The priority classes the key may submit (issue #19): ["batch"] keeps a key off the interactive class.
  priority_classes: z.array(z.enum(PRIORITY_CLASSES)).min(1).max(PRIORITY_CLASSES.length),
  // GPU-seconds budgets per UTC day and month (issue #19); null: unlimited.
  gpu_seconds_per_day: z
    .number()
    .positive()
    .max(366 * 86_400)
    .nullable(),
  gpu_seconds_per_month: z
    .number()
    .positive()
    .max(366 * 86_400)
    .nullable(),
};
const createSchema = z.strictObject({
  // Listed to every admin client: one malformed name must not break a strict JSON parser.
  name: z.string().trim().min(1).max(100).refine(isWellFormedText, WELL_FORMED_MESSAGE),
  role: z.enum(["admin", "user"]).default("user"),
  rate_per_minute: limitsSchema.rate_per_minute.optional(),
  max_pending: limitsSchema.max_pending.optional(),
  priority_weight: limitsSchema.priority_weight.optional(),
  priority_classes: limitsSchema.priority_classes.optional(),
  gpu_seconds_per_day: limitsSchema.gpu_seconds_per_day.optional(),
  gpu_seconds_per_month: limitsSchema.gpu_seconds_per_month.optional(),
});
const limitsPatchSchema = z.strictObject({
  rate_per_minute: limitsSchema.rate_per_minute.optional(),
  max_pending: limitsSchema.max_pending.optional(),
  priority_weight: limitsSchema.priority_weight.optional(),
  priority_classes: limitsSchema.priority_classes.optional(),
  gpu_seconds_per_day: limitsSchema.gpu_seconds_per_day.optional(),
  gpu_seconds_per_month: limitsSchema.gpu_seconds_per_month.optional(),
});

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success)
    throw new GatewayError("invalid_request", "the request body is invalid", describeIssues(r.error));
  return r.data;
}

const keyNotFound = (id: string) => new GatewayError("not_found", `no API key with id "${id}"`);

/** `/v1/admin/keys`: create (the key is in the answer once, never again), list, revoke, set limits. */
export function adminKeysRouter(deps: {
  redis: Redis;
  prefix: string;
  defaults: KeyLimits;
  maxJsonBytes: number;
}): Router {
  const router = Router();
  const json = express.json({ limit: deps.maxJsonBytes });

  router.post("/v1/admin/keys", json, async (req, res) => {
    const input = parse(createSchema, req.body);
    const { key, record } = await createApiKey(deps.redis, deps.prefix, { ...deps.defaults, ...input });
    res.status(201).json({ ...record, key });
  });

  router.get("/v1/admin/keys", async (_req, res) => {
    res.json({ object: "list", data: await listApiKeys(deps.redis, deps.prefix) });
  });

  router.delete("/v1/admin/keys/:id", async (req, res) => {
    const record = await revokeApiKey(deps.redis, deps.prefix, req.params.id);
    if (!record) throw keyNotFound(req.params.id);
    res.json(record);
  });

  router.patch("/v1/admin/keys/:id", json, async (req, res) => {
    const record = await setApiKeyLimits(
      deps.redis,
      deps.prefix,
      req.params.id,
      parse(limitsPatchSchema, req.body),
    );
    if (!record) throw keyNotFound(req.params.id);
    res.json(record);
  });

  return router;
}
