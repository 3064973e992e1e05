import { listDeliveryAttempts, rotateWebhookSecret, webhookSecret } from "@zimage/core";
import { type Response, Router } from "express";
import type { JobDeps } from "../job-access";
import { loadJob } from "../job-access";
import type { Principal } from "../principal";

const principalOf = (res: Response) => res.locals.principal as Principal;

/**
 * The caller's webhook signing secret (Standard Webhooks `whsec_…`), its rotation, and the delivery
 * attempts of a job.
 */
export function webhooksRouter(deps: JobDeps): Router {
  const router = Router();
  router.get("/v1/webhook-secret", async (_req, res) => {
    res.json({ secret: await webhookSecret(deps.redis, deps.prefix, principalOf(res).id) });
  });
  router.post("/v1/webhook-secret/rotate", async (_req, res) => {
    res.json({ secret: await rotateWebhookSecret(deps.redis, deps.prefix, principalOf(res).id) });
  });
  router.get("/v1/jobs/:id/deliveries", async (req, res) => {
    const job = await loadJob(deps, principalOf(res), req.params.id);
    res.json({ object: "list", data: await listDeliveryAttempts(deps.redis, deps.prefix, job.id) });
  });
  return router;
}
