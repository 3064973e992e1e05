import { listDeliveryAttempts, rotateWebhookSecret, type WebhookSecrets, webhookSecrets } from "@zimage/core";
import { type Response, Router } from "express";
import type { JobDeps } from "../job-access";
import { loadJob } from "../job-access";
import type { Principal } from "../principal";
import { listDeadLetterDeliveries, redeliver } from "../webhook-redelivery";

const principalOf = (res: Response) => res.locals.principal as Principal;

export interface WebhooksRouterDeps extends JobDeps {
  /** WEBHOOK_SECRET_OVERLAP_SECONDS: how long a replaced secret keeps signing; unset: 0 (tests). */
  webhookSecretOverlapSeconds?: number | undefined;
  /** Counts accepted redeliveries (`webhook_redeliveries_total`). */
  onRedelivery?: () => void;
}

/** The API's view of the secrets: the current one, and each replaced one until its overlap ends. */
const secretsView = (s: WebhookSecrets) => ({
  secret: s.secret,
  previous_secrets: s.previous.map((p) => ({ secret: p.secret, expires_at: p.expiresAt.toISOString() })),
});

/**
 * The caller's webhook signing secret (Standard Webhooks `whsec_…`), its rotation, the delivery
 * attempts of a job and their redelivery, and the admins' dead-letter view (`/v1/admin` is admin-only).
 */
export function webhooksRouter(deps: WebhooksRouterDeps): Router {
  const router = Router();
  router.get("/v1/webhook-secret", async (_req, res) => {
    res.json(secretsView(await webhookSecrets(deps.redis, deps.prefix, principalOf(res).id)));
  });
  router.post("/v1/webhook-secret/rotate", async (_req, res) => {
    const overlap = deps.webhookSecretOverlapSeconds ?? 0;
    res.json(secretsView(await rotateWebhookSecret(deps.redis, deps.prefix, principalOf(res).id, overlap)));
  });
  router.get("/v1/jobs/:id/deliveries", async (req, res) => {
    const job = await loadJob(deps, principalOf(res), req.params.id);
    res.json({ object: "list", data: await listDeliveryAttempts(deps.redis, deps.prefix, job.id) });
  });
  router.post("/v1/jobs/:id/deliveries/:event/redeliver", async (req, res) => {
    const r = await redeliver(deps, principalOf(res), req.params.id, req.params.event);
    deps.onRedelivery?.();
    res.status(202).json({
      object: "webhook.redelivery",
      webhook_id: r.webhookId,
      job_id: req.params.id,
      event: r.event,
      redelivery: r.redelivery,
      previous_state: r.previous === "completed" ? "delivered" : "exhausted",
    });
  });
  router.get("/v1/admin/deliveries", async (req, res) => {
    res.json(await listDeadLetterDeliveries(deps, req.query));
  });
  return router;
}
