import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { GatewayError } from "@zimage/core";
import type { Queue } from "bullmq";
import express, { type Request, type RequestHandler, type Response, Router } from "express";
import type { Redis } from "ioredis";
import { clientIp, type KeyResolver, refuseForeignOrigin } from "../auth";
import { endSession, SESSION_COOKIE } from "../browser-session";
import { isAdmin, type Principal } from "../principal";
import type { OriginCheck } from "../same-origin";
import { consoleStylesheet } from "./console";
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

/**
 * The console's look without its stylesheet (the console not built): its colours, card, fields and
 * button, inline. With the console built, the page links the console's own stylesheet instead.
 */
const FALLBACK_STYLE = `:root{--bg:#f6f7fb;--line:#d6d8e1;--accent:#3b3fb6;--muted:#4a4f63;--bad:#b3261e;
font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1e2b;background:var(--bg)}
*{box-sizing:border-box}body{margin:0}.page{max-width:30rem;margin:0 auto;padding:4rem 1.25rem 1.25rem}
.brand{display:flex;align-items:center;gap:.5rem;font-weight:700}.logo{display:inline-grid;place-items:center;
width:1.8rem;height:1.8rem;border-radius:7px;background:var(--accent);color:#fff;font-weight:800}
h1{font-size:1.6rem;margin:0 0 .5rem}.card{display:grid;gap:.25rem;background:#fff;border:1px solid var(--line);
border-radius:10px;padding:1.25rem}label{font-weight:600}input{width:100%;font:inherit;border:1px solid #8a8fa3;
border-radius:8px;padding:.5rem .6rem}.hint{color:var(--muted);font-size:.9rem;margin:.3rem 0 .5rem}
button{justify-self:start;margin-top:.75rem;font:inherit;font-weight:600;padding:.5rem 1rem;border-radius:8px;
border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
[role=alert]{color:var(--bad);font-weight:600}`;

/** The sign-in page, in the console's markup (its classes), with its stylesheet when built. */
const loginPage = (stylesheet: string | null, message = "") => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Z-Image Gateway admin sign-in</title>
${stylesheet ? `<link rel="stylesheet" href="${stylesheet}">` : `<style>${FALLBACK_STYLE}</style>`}</head>
<body><main class="page narrow signin">
<p class="brand"><span class="logo" aria-hidden="true">Z</span>Z-Image Gateway</p>
<h1>Queue admin</h1>
<form method="post" action="/admin/login" class="card"><label for="key">Admin API key</label>
<input id="key" name="key" type="password" autocomplete="off" required autofocus aria-describedby="key-hint">
<p id="key-hint" class="hint">An admin key (<code>zk_…</code>). It is exchanged for a session cookie, shared with
the web console, and not kept in this browser.</p>
${message ? `<p role="alert">${message}</p>` : ""}
<button type="submit">Sign in</button></form></main></body></html>`;

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
  /** The built web console, whose stylesheet the sign-in page uses (default: apps/console/dist). */
  consoleDir?: string | undefined;
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

  /**
   * Sends the sign-in page. No external resources and no script: the console's stylesheet from this
   * origin (or, unbuilt, the inline fallback), and a form that posts only to this origin.
   */
  const sendLogin = async (res: Response, status: number, message?: string) => {
    const stylesheet = await consoleStylesheet(deps.consoleDir);
    res.set(
      "Content-Security-Policy",
      `default-src 'none'; style-src ${stylesheet ? "'self'" : "'unsafe-inline'"}; form-action 'self'`,
    );
    res.status(status).type("html").send(loginPage(stylesheet, message));
  };
  router.get("/admin/login", async (_req, res) => {
    await sendLogin(res, 200);
  });
  const sameSite = refuseForeignOrigin(deps.origins);
  router.post(
    "/admin/login",
    sameSite,
    express.urlencoded({ extended: false, limit: "4kb" }),
    async (req, res) => {
      const key = typeof req.body?.key === "string" ? req.body.key.trim() : "";
      let principal: Principal | null = null;
      try {
        principal = key ? await deps.keys.principalFor(key, clientIp(req)) : null;
      } catch (err) {
        if (!(err instanceof GatewayError) || err.status !== 429) throw err;
        return sendLogin(res, 429, err.message);
      }
      if (!principal || !isAdmin(principal)) {
        return sendLogin(res, 401, "That is not a valid admin key.");
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
