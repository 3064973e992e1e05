import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";
import { GatewayError } from "./errors";

export interface WebhookUrlPolicy {
  /** WEBHOOK_ALLOW_PRIVATE: let webhooks reach loopback and private networks (tests, closed LANs). */
  allowPrivate: boolean;
  /** Host names (exact, case-insensitive) an operator allows even when they resolve privately. */
  allowlist: string[];
}

const forbidden = (why: string) => new GatewayError("webhook_url_forbidden", `webhook URL refused: ${why}`);

/**
 * SSRF guard: a webhook may only go to http(s) on a host whose every address is public unicast. Checked
 * at submit and again before each delivery, since DNS can change in between. Loopback, private,
 * link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast and reserved ranges
 * are refused unless the operator allows them.
 */
export async function checkWebhookUrl(raw: string, policy: WebhookUrlPolicy): Promise<URL> {
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
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (policy.allowPrivate || policy.allowlist.includes(host)) return url;
  let addresses: string[];
  if (ipaddr.isValid(host)) {
    addresses = [host];
  } else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      throw forbidden(`cannot resolve ${host}`);
    }
  }
  for (const address of addresses) {
    let parsed = ipaddr.parse(address);
    if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
      parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    }
    const range = parsed.range();
    if (range !== "unicast") throw forbidden(`${host} resolves to ${address} (${range})`);
  }
  return url;
}
