import { describeIssues, GatewayError, QUEUE_HISTORY_KEEP_MINUTES, readQueueHistory } from "@zimage/core";
import { Router } from "express";
import type { Redis } from "ioredis";
import { z } from "zod";

const query = z.object({
  minutes: z.coerce.number().int().min(1).max(QUEUE_HISTORY_KEEP_MINUTES).default(60),
});

/** `GET /v1/admin/queue-history?minutes=60`: queued and running jobs, one point a minute (admins). */
export function adminQueueHistoryRouter(deps: { redis: Redis; prefix: string }): Router {
  const router = Router();
  router.get("/v1/admin/queue-history", async (req, res) => {
    const parsed = query.safeParse(req.query);
    if (!parsed.success)
      throw new GatewayError("invalid_request", "invalid query", describeIssues(parsed.error));
    const points = await readQueueHistory(deps.redis, deps.prefix, parsed.data.minutes);
    res.json({ interval_seconds: 60, points });
  });
  return router;
}
