import { Router } from "express";

export interface Readiness {
  /** Each dependency's check; all must pass for /ready to answer 200. */
  checks: Record<string, () => Promise<boolean>>;
}

export function healthRouter(readiness: Readiness): Router {
  const router = Router();
  // Process is alive and serving HTTP; says nothing about dependencies (that is /ready).
  router.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/ready", async (_req, res) => {
    const entries = await Promise.all(
      Object.entries(readiness.checks).map(async ([name, check]) => {
        // A probe whose failure is the answer: the dependency is reported unavailable (and /ready 503).
        const ok = await check().catch(() => false);
        return [name, ok ? "ok" : "unavailable"] as const;
      }),
    );
    const ready = entries.every(([, s]) => s === "ok");
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? "ready" : "not_ready", checks: Object.fromEntries(entries) });
  });
  return router;
}
