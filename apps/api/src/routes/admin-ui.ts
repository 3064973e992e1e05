import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { GatewayError } from "@zimage/core";
import type { Queue } from "bullmq";
import express, { type Request, type RequestHandler, Router } from "express";
import type { Redis } from "ioredis";
import { clientIp, type KeyResolver, refuseForeignOrigin } from "../auth";
import { endSession, SESSION_COOKIE } from "../browser-session";
import { isAdmin, type Principal } from "../principal";
import type { OriginCheck } from "../same-origin";
import { setSessionCookie } from "./session";

const BASE = "/admin/queues";

/**
 * bull-board's page: its own scripts and styles from this origin, plus the inline styles of its
 * loading screen. `base-uri 'self'` lets its `<base href="/admin/queues/">` work, which resolves its
 * relative asset URLs at `/admin/queues` (no trailing slash) and on deep links alike; the web
 * console's `base-uri 'none'` blocked it, so the page loaded without its scripts (issue #17).
 */
const BOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Any `<link>` to another site in bull-board's page (its Google Fonts stylesheet). */
const EXTERNAL_LINK = /<link\b[^>]*\bhref="https?:\/\/[^"]*"[^>]*>/gi;

type RenderEngine = (file: string, options: object, done: (err: Error | null, html?: string) => void) => void;

/**
 * Drops the Google Fonts stylesheet bull-board's page links: an admin page should not tell a third
 * party who opens it and when, and the CSP would refuse it anyway (with a console error on every
 * load). The page falls back to system fonts. bull-board has no option for this, so its view engine
 * (an Express app setting, not in Express's types) is wrapped.
 */
function withoutExternalLinks(board: express.Application): void {
  const engines = (board as unknown as { engines: Record<string, RenderEngine> }).engines;
  const render = engines[".ejs"];
  if (!render)
    throw new Error("bull-board no longer renders its page with ejs: revisit withoutExternalLinks");
  board.engine("ejs", (file, options, done) =>
    render(file, options, (err, html) => done(err, html?.replace(EXTERNAL_LINK, ""))),
  );
}

/**
 * The queue admin only reads. bull-board's own read-only mode hides its buttons and refuses its
 * write routes, but the board is a dependency whose routes change between versions, so the gateway
 * refuses every method but GET and HEAD under /admin/queues itself: removing, adding, retrying or
 * promoting a job there would bypass the gateway's invariants (files left behind, jobs no one owns,
 * no webhooks). With no unsafe method left, no cookie-authenticated change can come from another site.
 */
const readOnly: RequestHandler = (req, res, next) => {
  if (req.method === "GET" || req.method === "HEAD") return next();
  res.set("Allow", "GET, HEAD");
  next(
    new GatewayError(
      "method_not_allowed",
      "the queue admin is read-only: cancel, retry or delete jobs through /v1/jobs (or the web console)",
    ),
  );
};

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
  origins: OriginCheck;
}): Router {
  const router = Router();
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BASE);
  createBullBoard({ queues: [new BullMQAdapter(deps.queue, { readOnlyMode: true })], serverAdapter });
  const board = serverAdapter.getRouter() as express.Application;
  withoutExternalLinks(board);

  const sessionPrincipal = async (req: Request): Promise<Principal | null> => {
    // A malformed header, or an address blocked for too many bad keys, just means "not signed in by
    // header": the session cookie may still sign the caller in. Anything else (Redis) is a 5xx.
    const fromHeader = await deps.keys.fromHeader(req, clientIp(req)).catch((err: unknown) => {
      if (err instanceof GatewayError) return undefined;
      throw err;
    });
    if (fromHeader) return fromHeader;
    const fromCookie = await deps.keys.fromSession(req.cookies?.[SESSION_COOKIE]);
    if (fromCookie) return fromCookie;
    // Open mode refusing this request (a proxy, a foreign Host) means "not signed in": the login page.
    return deps.keys.openModePrincipal(req).catch((err: unknown) => {
      if (err instanceof GatewayError) return null;
      throw err;
    });
  };

  const requireAdminSession: RequestHandler = async (req, res, next) => {
    const principal = await sessionPrincipal(req);
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
  const sameSite = refuseForeignOrigin(deps.origins);
  router.post(
    "/admin/login",
    page,
    sameSite,
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
      const id = await deps.keys.startSession(principal);
      setSessionCookie(res, id, req.secure);
      res.redirect(303, BASE);
    },
  );
  router.post("/admin/logout", sameSite, async (req, res) => {
    await endSession(deps.redis, deps.prefix, req.cookies?.[SESSION_COOKIE]);
    res.clearCookie(SESSION_COOKIE, { path: "/" });
    res.redirect(303, "/admin/login");
  });
  const boardCsp: RequestHandler = (_req, res, next) => {
    res.set("Content-Security-Policy", BOARD_CSP);
    next();
  };
  router.use(BASE, readOnly, requireAdminSession, boardCsp, board);
  return router;
}
