import { Router } from "express";
import type { Redis } from "ioredis";
import type { Principal } from "../principal";
import { usageReport } from "../usage-report";

/** `GET /v1/usage`: the caller's GPU usage (an admin's: any key's, or all), see usage-report.ts. */
export function usageRouter(deps: { redis: Redis; prefix: string }): Router {
  const router = Router();
  router.get("/v1/usage", async (req, res) => {
    const principal = res.locals.principal as Principal;
    res.json(await usageReport(deps.redis, deps.prefix, principal, req.query));
  });
  return router;
}
