import { displayUrl, readUpstreamStates } from "@zimage/core";
import { Router } from "express";
import type { Redis } from "ioredis";

/**
 * Each upstream's state as its dispatcher last recorded it: up/down, model loaded, busy, current job,
 * last unload, jobs done, and (issue #15) its discovered or pinned capabilities, loaded pipeline,
 * circuit breaker and parameter rules. An admin view, behind the admin role (issue #5); the URL is
 * shown without the credentials it may carry.
 */
export function upstreamsRouter(deps: { redis: Redis; prefix: string }): Router {
  const router = Router();
  router.get("/v1/upstreams", async (_req, res) => {
    const data = (await readUpstreamStates(deps.redis, deps.prefix)).map((u) => ({
      ...u,
      url: u.url === null ? null : displayUrl(u.url),
    }));
    res.json({ object: "list", data });
  });
  return router;
}
