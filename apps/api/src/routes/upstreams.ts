import { readUpstreamStates } from "@zimage/core";
import { Router } from "express";
import type { Redis } from "ioredis";

/**
 * Each upstream's state as its dispatcher last recorded it: up/down, model loaded, busy, current job,
 * last unload, jobs done. An admin view; it is put behind the admin role with API keys (issue #5).
 */
export function upstreamsRouter(deps: { redis: Redis; prefix: string }): Router {
  const router = Router();
  router.get("/v1/upstreams", async (_req, res) => {
    const data = await readUpstreamStates(deps.redis, deps.prefix);
    res.json({ object: "list", data });
  });
  return router;
}
