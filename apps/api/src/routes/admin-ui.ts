import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { GatewayError } from "@zimage/core";
import type { Queue } from "bullmq";
import express, { type RequestHandler, Router } from "express";
import type { Redis } from "ioredis";
import { clientIp, type KeyResolver } from "../auth";
import { createSession, endSession, SESSION_COOKIE } from "../browser-session";
import { isAdmin, type Principal } from "../principal";
import { setSessionCookie } from "./session";

const BASE = "/admin/queues";

const loginPage = (message = "") => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Z-Image Gateway admin sign-in</title>
<style>body{font:16px system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;color:#111}
label{display:block;margin:1rem 0 .3rem}input{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem;font:inherit}p[role=alert]{color:#a00}</style></head>
<body><h1>Queue admin</h1>
${message ? `<p role="alert">${message}</p>` : ""}
<form method="post" action="/admin/login"><label for="key">Admin API key</label>
<input id="key" name="key" type="password" autocomplete="off" required autofocus>
<button type="submit">Sign in</button></form></body></html>`;

/**
 * bull-board at /admin/queues for admins. Browsers sign in once, here at /admin/login or in the web
 * console: the key is exchanged for the HttpOnly, SameSite=Strict session cookie both share;
 * scripts may send `Authorization: Bearer <admin key>` instead.
 */
export function adminUiRouter(deps: {
  queue: Queue;
  redis: Redis;
  prefix: string;
  keys: KeyResolver;
}): Router {
  const router = Router();
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BASE);
  createBullBoard({ queues: [new BullMQAdapter(deps.queue, { readOnlyMode: false })], serverAdapter });

  const sessionPrincipal = async (
    cookie: string | undefined,
    header: string | undefined,
    ip: string,
  ): Promise<Principal | null> => {
    // A malformed header, or an address blocked for too many bad keys, just means "not signed in by
    // header": the session cookie may still sign the caller in. Anything else (Redis) is a 5xx.
    const fromHeader = await deps.keys.fromHeader(header, ip).catch((err: unknown) => {
      if (err instanceof GatewayError) return null;
      throw err;
    });
    if (fromHeader !== undefined) return fromHeader;
    const fromCookie = await deps.keys.fromSession(cookie);
    if (fromCookie) return fromCookie;
    return (await deps.keys.openMode()) ? deps.keys.local : null;
  };

  const requireAdminSession: RequestHandler = async (req, res, next) => {
    const principal = await sessionPrincipal(
      req.cookies?.[SESSION_COOKIE],
      req.get("authorization"),
      clientIp(req),
    );
    if (principal && isAdmin(principal)) return next();
    if (req.accepts(["html", "json"]) === "html") return res.redirect(303, "/admin/login");
    res.status(principal ? 403 : 401).json({
      error: principal
        ? { code: "forbidden", message: "the queue admin needs an admin key" }
        : {
            code: "unauthorized",
            message: "sign in at /admin/login or send `Authorization: Bearer <admin key>`",
          },
    });
  };

  const page: RequestHandler = (_req, res, next) => {
    // No external resources; the login form posts only to this origin.
    res.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
    next();
  };
  router.get("/admin/login", page, (_req, res) => {
    res.type("html").send(loginPage());
  });
  router.post(
    "/admin/login",
    page,
    express.urlencoded({ extended: false, limit: "4kb" }),
    async (req, res) => {
      const key = typeof req.body?.key === "string" ? req.body.key.trim() : "";
      let principal: Principal | null = null;
      try {
        principal = key ? await deps.keys.principalFor(key, clientIp(req)) : null;
      } catch (err) {
        if (!(err instanceof GatewayError) || err.status !== 429) throw err;
        return res.status(429).type("html").send(loginPage(err.message));
      }
      if (!principal || !isAdmin(principal)) {
        return res.status(401).type("html").send(loginPage("That is not a valid admin key."));
      }
      const id = await createSession(deps.redis, deps.prefix, principal);
      setSessionCookie(res, id, req.secure);
      res.redirect(303, BASE);
    },
  );
  router.post("/admin/logout", async (req, res) => {
    await endSession(deps.redis, deps.prefix, req.cookies?.[SESSION_COOKIE]);
    res.clearCookie(SESSION_COOKIE, { path: "/" });
    res.redirect(303, "/admin/login");
  });
  router.use(BASE, requireAdminSession, serverAdapter.getRouter());
  return router;
}
