import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";
import { GatewayError } from "./errors";
import { forbiddenAddressRange } from "./webhook-address";

export interface WebhookUrlPolicy {
  /** WEBHOOK_ALLOW_PRIVATE: let webhooks reach loopback and private networks (tests, closed LANs). */
  allowPrivate: boolean;
  /** Host names (exact, case-insensitive) an operator allows even when they resolve privately. */
  allowlist: string[];
}

/** Every address a host name resolves to, as the system resolver answers (injectable for tests). */
export type HostResolver = (host: string) => Promise<{ address: string; family: number }[]>;
export const systemResolver: HostResolver = (host) => lookup(host, { all: true, verbatim: true });

const forbidden = (why: string) => new GatewayError("webhook_url_forbidden", `webhook URL refused: ${why}`);

/** The host of a URL as the guard and the resolver see it: IPv6 without brackets, lower case. */
export const webhookHost = (url: URL) => url.hostname.replace(/^\[|\]$/g, "").toLowerCase();

/** True when the policy lets this host through without looking at its addresses. */
export const policyTrusts = (policy: WebhookUrlPolicy, host: string) =>
  policy.allowPrivate || policy.allowlist.includes(host);

/**
 * SSRF guard: a webhook may only go to http(s) on a host whose every address is public unicast (the
 * rule is `forbiddenAddressRange`). Checked at submit and again before each delivery; the connection
 * itself then resolves through `guardedLookup`, so a name that answers differently the second time
 * (DNS rebinding) cannot reach what this check refused.
 *
 * A name's refusal does not say which address it resolved to: the message goes back to the client, and
 * it must not turn the guard into a way to read the gateway's internal DNS.
 */
export async function checkWebhookUrl(
  raw: string,
  policy: WebhookUrlPolicy,
  resolve: HostResolver = systemResolver,
): Promise<URL> {
  if (raw.length > 2048) throw forbidden("longer than 2048 characters");
  // Control characters (header injection: "\r\nX-Injected: …") and spaces have no place in a URL.
  if ([...raw].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f)) {
    throw forbidden("contains control characters or spaces");
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw forbidden("not a valid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw forbidden("only http and https are allowed");
  if (url.username || url.password) throw forbidden("credentials in the URL are not allowed");
  const host = webhookHost(url);
  if (policyTrusts(policy, host)) return url;
  if (ipaddr.isValid(host)) {
    const range = forbiddenAddressRange(host);
    if (range !== null) throw forbidden(`${host} is not a public address (${range})`);
    return url;
  }
  let addresses: string[];
  try {
    addresses = (await resolve(host)).map((a) => a.address);
  } catch {
    throw forbidden(`cannot resolve ${host}`);
  }
  if (addresses.length === 0) throw forbidden(`cannot resolve ${host}`);
  if (addresses.some((a) => forbiddenAddressRange(a) !== null)) {
    throw forbidden(`${host} resolves to an address that is not public`);
  }
  return url;
}
