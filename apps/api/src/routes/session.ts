import { GatewayError, type Logger, reported } from "@zimage/core";
import express, { type RequestHandler, type Response, Router } from "express";
import type { Redis } from "ioredis";
import { z } from "zod";
import { clientIp, type KeyResolver, refuseForeignOrigin } from "../auth";
import { endSession, SESSION_COOKIE, SESSION_TTL_SECONDS } from "../browser-session";
import type { Principal } from "../principal";
import type { OriginCheck } from "../same-origin";

const signIn = z.object({ key: z.string().trim().min(1, "the API key is required").max(512) });

const describe = (p: Principal) => ({
  principal: { id: p.id, name: p.name, role: p.role },
  open_mode: p.id === "local",
});

/** Sets the session cookie the web console and the queue admin share. */
export function setSessionCookie(res: Response, id: string, secure: boolean): void {
  res.cookie(SESSION_COOKIE, id, {
    httpOnly: true,
    sameSite: "strict",
    secure,
    path: "/",
    maxAge: SESSION_TTL_SECONDS * 1000,
  });
}

/**
 * `/v1/session`: the web console's sign-in. `POST` exchanges an API key for an HttpOnly,
 * SameSite=Strict session cookie (the key itself never stays in the browser), `GET` says who the
 * caller is, `DELETE` signs out. Signing in or out from another site's page is refused (login CSRF).
 */
export function sessionRouter(deps: {
  redis: Redis;
  prefix: string;
  keys: KeyResolver;
  /** 503 while Redis is down. */
  storeAvailable: RequestHandler;
  authenticate: RequestHandler;
  origins: OriginCheck;
  logger: Logger;
}): Router {
  const router = Router();
  const sameSite = refuseForeignOrigin(deps.origins);
  router.post(
    "/v1/session",
    sameSite,
    deps.storeAvailable,
    express.json({ limit: "4kb", strict: true }),
    async (req, res) => {
      const parsed = signIn.safeParse(req.body ?? {});
      if (!parsed.success)
        throw new GatewayError("invalid_request", 'send the API key as {"key": "..."}', [
          { path: "key", message: parsed.error.issues[0]?.message ?? "invalid" },
        ]);
      const principal = await deps.keys.principalFor(parsed.data.key, clientIp(req));
      if (!principal)
        throw new GatewayError("invalid_api_key", "the API key is not valid or has been revoked");
      const id = await deps.keys.startSession(principal);
      setSessionCookie(res, id, req.secure);
      res.json(describe(principal));
    },
  );
  router.get("/v1/session", deps.storeAvailable, deps.authenticate, (_req, res) => {
    res.json(describe(res.locals.principal as Principal));
  });
  router.delete("/v1/session", sameSite, async (req, res) => {
    // Signing out still clears the cookie; but a session left in Redis stays valid for whoever holds
    // its id until it expires, so the failure is counted rather than dropped.
    await endSession(deps.redis, deps.prefix, req.cookies?.[SESSION_COOKIE]).catch(
      reported(deps.logger, "session_end"),
    );
    res.clearCookie(SESSION_COOKIE, { path: "/" });
    res.status(204).end();
  });
  return router;
}
