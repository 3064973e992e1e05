import type { IncomingHttpHeaders } from "node:http";
import { countApiKeys } from "@zimage/core";
import type { Redis } from "ioredis";

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Open local mode: on a fresh install (no API key ever created, no ADMIN_API_KEY), a gateway bound
 * to loopback serves every caller as the local admin, so `pnpm start` works out of the box. Anywhere
 * else the api refuses to start without keys. Checked per request: creating the first key ends it,
 * for good — revoking every key afterwards does not reopen the API (issue #17: behind a reverse
 * proxy on the same host, every request comes from loopback, so "no key" would mean "everyone").
 */
export function openModeCheck(opts: {
  redis: Redis;
  prefix: string;
  host: string;
  adminKey?: string | undefined;
}) {
  // Once a key exists open mode never comes back, so the answer is remembered: every request that
  // carries a key asks (auth.ts), and after the first key none needs a Redis call for it.
  let ended = false;
  return async (): Promise<boolean> => {
    if (ended || opts.adminKey || !isLoopback(opts.host)) return false;
    ended = (await countApiKeys(opts.redis, opts.prefix)) > 0;
    return !ended;
  };
}

/**
 * Headers a reverse proxy or CDN adds to say whom it forwards. Open mode trusts "this came from
 * loopback", which a proxy on the same host makes true of every request, so a request carrying one
 * of these is not served in open mode. A proxy that adds none (nginx without `proxy_set_header`, a
 * TCP forwarder) cannot be told apart: the README says to create a key before putting one in front.
 */
const PROXY_HEADERS = [
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
  "via",
  "x-client-ip",
  "true-client-ip",
  "cf-connecting-ip",
  "fastly-client-ip",
  "x-cluster-client-ip",
] as const;

/** The first proxy header the request carries, or undefined for a direct request. */
export function proxyHeaderIn(headers: IncomingHttpHeaders): string | undefined {
  return PROXY_HEADERS.find((name) => headers[name] !== undefined);
}
