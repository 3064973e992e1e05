import { findApiKey, GatewayError, type KeyLimits, type Logger, tokensEqual } from "@zimage/core";
import type { Request, RequestHandler } from "express";
import type { Redis } from "ioredis";
import type { AuthFailureLimiter } from "./auth-failure-limiter";
import { readSession, SESSION_COOKIE } from "./browser-session";
import { isAdmin, type Principal, principalOfKey } from "./principal";

export interface AuthOptions {
  redis: Redis;
  prefix: string;
  /** Bootstrap admin key from ADMIN_API_KEY; compared in constant time, never stored. */
  adminKey?: string | undefined;
  defaults: KeyLimits;
  /** True when no key exists at all and the api is bound to loopback: every caller is the local admin. */
  openMode: () => Promise<boolean>;
  logger: Logger;
  /** Per-IP limit on failed key checks; none in tests that do not exercise it. */
  failures?: AuthFailureLimiter | undefined;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Turns API keys into principals; shared by bearer auth and the admin pages' login. */
export class KeyResolver {
  readonly local: Principal;
  private readonly bootstrap: Principal;

  constructor(private readonly opts: AuthOptions) {
    this.bootstrap = { id: "admin", name: "bootstrap admin", role: "admin", limits: opts.defaults };
    this.local = { id: "local", name: "local (open mode)", role: "admin", limits: opts.defaults };
  }

  openMode(): Promise<boolean> {
    return this.opts.openMode();
  }

  /** The key's principal, or null for an unknown or revoked key (counted against `ip`). */
  async principalFor(token: string, ip: string): Promise<Principal | null> {
    this.opts.failures?.assertNotBlocked(ip);
    if (this.opts.adminKey && tokensEqual(token, this.opts.adminKey)) return this.bootstrap;
    const record = await findApiKey(this.opts.redis, this.opts.prefix, token);
    if (!record) {
      this.opts.logger.info({ ip }, "invalid API key");
      await this.opts.failures?.recordFailure(ip);
      return null;
    }
    return principalOfKey(record);
  }

  /** The principal of a browser session cookie, or null. */
  fromSession(id: string | undefined): Promise<Principal | null> {
    return readSession(this.opts.redis, this.opts.prefix, id);
  }

  /** The principal of a request's Authorization header; undefined when there is no header. */
  async fromHeader(header: string | undefined, ip: string): Promise<Principal | null | undefined> {
    if (!header) return undefined;
    const token = BEARER.exec(header)?.[1];
    if (!token) throw new GatewayError("unauthorized", "the Authorization header must be `Bearer <key>`");
    return this.principalFor(token, ip);
  }
}

/**
 * The caller: `Authorization: Bearer <key>` → `res.locals.principal`, else the web console's session
 * cookie, else the local admin in open local mode. A missing or malformed header is 401
 * `unauthorized`; an unknown or revoked key is 401 `invalid_api_key` (the same answer either way, so
 * a caller cannot tell a revoked key from a typo).
 *
 * A cookie rides along with any request the browser makes, so a cookie-authenticated request that
 * changes something must also come from this origin: SameSite=Strict already keeps other sites'
 * requests cookie-less, and the Origin check covers older browsers and same-site subdomains.
 */
export function authenticate(keys: KeyResolver): RequestHandler {
  return async (req, res, next) => {
    const principal = await keys.fromHeader(req.get("authorization"), clientIp(req));
    if (principal === undefined) {
      const fromCookie = await keys.fromSession(req.cookies?.[SESSION_COOKIE]);
      if (fromCookie) {
        if (!SAFE_METHODS.has(req.method) && !sameOrigin(req))
          return next(
            new GatewayError("forbidden", "a signed-in browser may only change things from this site"),
          );
        res.locals.principal = fromCookie;
        return next();
      }
      if (await keys.openMode()) {
        res.locals.principal = keys.local;
        return next();
      }
      return next(new GatewayError("unauthorized", "send your API key as `Authorization: Bearer <key>`"));
    }
    if (!principal)
      return next(new GatewayError("invalid_api_key", "the API key is not valid or has been revoked"));
    res.locals.principal = principal;
    next();
  };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The browser's Origin (or, without one, Referer) names this host. */
function sameOrigin(req: Request): boolean {
  const origin = req.get("origin") ?? req.get("referer");
  if (!origin) return false;
  try {
    return new URL(origin).host === req.get("host");
  } catch {
    // A probe whose failure is the answer: an Origin that is not a URL names no host of ours.
    return false;
  }
}

export const requireAdmin: RequestHandler = (_req, res, next) => {
  const p = res.locals.principal as Principal | undefined;
  if (!p || !isAdmin(p)) return next(new GatewayError("forbidden", "this endpoint needs an admin key"));
  next();
};

/** The caller's address: the socket's, or the proxy's view of it when TRUST_PROXY says to believe it. */
export const clientIp = (req: Request) => req.ip ?? req.socket.remoteAddress ?? "unknown";
