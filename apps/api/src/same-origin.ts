import type { Request } from "express";

/** Where a browser request comes from, as far as this site is concerned. */
export type OriginVerdict = "same" | "foreign" | "absent";

/**
 * Judges a browser request's Origin (or, without one, its Referer) against this site's own origin:
 * scheme, host and port, all three. The host is the request's `Host`; the scheme is `PUBLIC_URL`'s
 * when it is set, else the request's own (TLS on the socket, or `X-Forwarded-Proto` from a proxy
 * that `TRUST_PROXY` trusts). Behind a TLS proxy the api itself speaks plain HTTP, so without one of
 * those it would take `https://…` pages for foreign ones and refuse them: set `PUBLIC_URL`.
 *
 * The scheme matters because `http://gateway.example` is not `https://gateway.example`: a page on
 * the plain-HTTP side (which anyone on the network path can write) must not act for the TLS side.
 */
export class OriginCheck {
  private readonly scheme: string | undefined;

  constructor(publicUrl?: string | undefined) {
    this.scheme = publicUrl ? new URL(publicUrl).protocol.replace(/:$/, "") : undefined;
  }

  /** This site's origin as the request names it (`https://gateway.example`). */
  ownOrigin(req: Request): string | null {
    return canonicalOrigin(`${this.scheme ?? req.protocol}://${req.get("host") ?? ""}`);
  }

  of(req: Request): OriginVerdict {
    const claimed = req.get("origin") ?? req.get("referer");
    if (claimed === undefined) return "absent";
    // `Origin: null` (a sandboxed frame, a cross-site redirect) parses to no origin: foreign.
    const origin = canonicalOrigin(claimed);
    return origin !== null && origin === this.ownOrigin(req) ? "same" : "foreign";
  }
}

/** The URL's origin with default ports dropped (`https://a:443/x` → `https://a`), or null. */
function canonicalOrigin(url: string): string | null {
  try {
    const origin = new URL(url).origin;
    return origin === "null" ? null : origin;
  } catch {
    // A probe whose failure is the answer: what is not a URL names no origin.
    return null;
  }
}
