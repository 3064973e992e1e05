import { findApiKey, GatewayError, type KeyLimits, type Logger, tokensEqual } from "@zimage/core";
import type { Request, RequestHandler } from "express";
import type { Redis } from "ioredis";
import type { AuthFailureLimiter } from "./auth-failure-limiter";
import { createSession, readSession, SESSION_COOKIE } from "./browser-session";
import { isLoopback, proxyHeaderIn } from "./open-mode";
import { isAdmin, type Principal, principalOfKey } from "./principal";
import type { OriginCheck } from "./same-origin";

export interface AuthOptions {
  redis: Redis;
  prefix: string;
  /** Bootstrap admin key from ADMIN_API_KEY; compared in constant time, never stored. */
  adminKey?: string | undefined;
  defaults: KeyLimits;
  /** True when no key was ever created and the api is bound to loopback: direct callers are the local admin. */
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

  /**
   * The local admin when open local mode serves this request, else null. A request that came through
   * a reverse proxy is refused outright (401, saying why): on the same host every proxied request
   * comes from loopback, so open mode would serve the whole network (issue #17).
   */
  async openModePrincipal(req: Request): Promise<Principal | null> {
    if (!(await this.opts.openMode())) return null;
    // A page on another site whose name its owner re-points at 127.0.0.1 (DNS rebinding) reaches us
    // from the browser as a same-origin page of its own: only a loopback Host is this machine's.
    const host = hostnameOf(req.headers.host);
    if (host === null || !isLoopback(host))
      throw new GatewayError(
        "unauthorized",
        `open local mode serves only requests addressed to this machine by a loopback name, and this one names ${JSON.stringify(host ?? "")}: ` +
          "create an API key (npx -y pnpm@10 keys create me --role admin) and send it as `Authorization: Bearer <key>`",
      );
    const header = proxyHeaderIn(req.headers);
    if (header)
      throw new GatewayError(
        "unauthorized",
        `open local mode serves only direct requests on this machine, and this one came through a proxy ` +
          `(it carries ${header}): create an API key (npx -y pnpm@10 keys create me --role admin) and send it ` +
          "as `Authorization: Bearer <key>`",
      );
    return this.local;
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
    return readSession(this.opts.redis, this.opts.prefix, id, this.opts.adminKey);
  }

  /** A new browser session for the principal; the bootstrap admin's is bound to ADMIN_API_KEY. */
  startSession(principal: Principal): Promise<string> {
    return createSession(this.opts.redis, this.opts.prefix, principal, this.opts.adminKey);
  }

  /**
   * The principal of a request's Authorization header; undefined when there is no header. In open local
   * mode any bearer key is the local admin (same loopback-only rules as no key): the official OpenAI
   * SDK, and our own SDK with a stale $ZIMAGE_API_KEY, always send one (issue #19). No key exists then,
   * so none is looked up and nothing counts toward the per-IP auth-failure block; once a key exists,
   * open mode is over and every key is checked.
   */
  async fromHeader(req: Request, ip: string): Promise<Principal | null | undefined> {
    const header = req.get("authorization");
    if (!header) return undefined;
    const token = BEARER.exec(header)?.[1];
    if (!token) throw new GatewayError("unauthorized", "the Authorization header must be `Bearer <key>`");
    const local = await this.openModePrincipal(req);
    if (local) return local;
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
 * changes something must also come from this origin (scheme, host and port: see same-origin.ts):
 * SameSite=Strict already keeps other sites' requests cookie-less, and the Origin check covers older
 * browsers and same-site subdomains.
 */
export function authenticate(keys: KeyResolver, origins: OriginCheck): RequestHandler {
  return async (req, res, next) => {
    // Open mode answers a bearer key too: the same refusal of a foreign page's request as without one.
    if (req.get("authorization") && !SAFE_METHODS.has(req.method) && origins.of(req) === "foreign")
      return next(foreignOrigin(req, origins));
    const principal = await keys.fromHeader(req, clientIp(req));
    if (principal === undefined) {
      const fromCookie = await keys.fromSession(req.cookies?.[SESSION_COOKIE]);
      if (fromCookie) {
        if (!SAFE_METHODS.has(req.method) && origins.of(req) !== "same")
          return next(foreignOrigin(req, origins));
        res.locals.principal = fromCookie;
        return next();
      }
      // Open mode has no cookie to be SameSite: a page of another site could still send a form or a
      // no-cors fetch from the browser. Its Origin gives it away.
      if (!SAFE_METHODS.has(req.method) && origins.of(req) === "foreign")
        return next(foreignOrigin(req, origins));
      const local = await keys.openModePrincipal(req);
      if (local) {
        res.locals.principal = local;
        return next();
      }
      return next(new GatewayError("unauthorized", "send your API key as `Authorization: Bearer <key>`"));
    }
    if (!principal) return next(new GatewayError("invalid_api_key", INVALID_KEY_MESSAGE));
    res.locals.principal = principal;
    next();
  };
}

export const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Also what a newcomer sees who used to send any key in open local mode (issue #19): that ended when
 * the first key was created (or ADMIN_API_KEY was set), so the message says where a key comes from.
 */
const INVALID_KEY_MESSAGE =
  "the API key is not valid or has been revoked. This gateway has API keys, so every request needs a valid one " +
  "(open local mode, which accepted any key on a fresh install, ended with the first key): ask an admin for a key, " +
  "or, as an admin, create one with `zimage keys create NAME`, POST /v1/admin/keys or the console's admin screen";

/** 403 for a browser request from another origin, naming ours (a TLS proxy without PUBLIC_URL shows here). */
function foreignOrigin(req: Request, origins: OriginCheck): GatewayError {
  return new GatewayError(
    "forbidden",
    `a signed-in browser may only change things from this site (${origins.ownOrigin(req) ?? "this origin"}); ` +
      "behind a TLS proxy, set PUBLIC_URL to the address browsers use",
  );
}

/**
 * Sign-in and sign-out refuse a request from another site: a foreign page must not sign the
 * browser in to the attacker's account (login CSRF), nor out. Such a request has no session to
 * check yet, so a request without Origin or Referer (curl, the SDK: no browser, no ambient cookie
 * to abuse) passes; browsers send Origin with every cross-origin POST.
 */
export function refuseForeignOrigin(origins: OriginCheck): RequestHandler {
  return (req, _res, next) => {
    next(origins.of(req) === "foreign" ? foreignOrigin(req, origins) : undefined);
  };
}

export const requireAdmin: RequestHandler = (_req, res, next) => {
  const p = res.locals.principal as Principal | undefined;
  if (!p || !isAdmin(p)) return next(new GatewayError("forbidden", "this endpoint needs an admin key"));
  next();
};

/** The caller's address: the socket's, or the proxy's view of it when TRUST_PROXY says to believe it. */
export const clientIp = (req: Request) => req.ip ?? req.socket.remoteAddress ?? "unknown";

/** The host name of a Host header (brackets kept for IPv6, port dropped); null when unparsable. */
function hostnameOf(header: string | undefined): string | null {
  if (!header) return null;
  try {
    return new URL(`http://${header}`).hostname;
  } catch {
    // An unparsable Host names no machine of ours: open mode refuses it (the caller's 401).
    return null;
  }
}
