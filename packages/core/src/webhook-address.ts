import ipaddr from "ipaddr.js";

/**
 * The SSRF guard's one rule for a single address: a webhook may only go to public unicast. ipaddr.js
 * names the special ranges (loopback, private, link-local with cloud metadata at 169.254.169.254,
 * carrier-grade NAT, multicast, reserved, ...); everything it calls "unicast" is public.
 *
 * An IPv6 address that carries an IPv4 address inside is judged as that IPv4 (issue #17): a stack or a
 * translator on the way may deliver `[::7f00:1]` to 127.0.0.1, so the IPv4 must pass the same rule.
 * Forms covered, each with where its IPv4 sits:
 * - IPv4-compatible ::/96 and IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96: last 32 bits
 * - NAT64 well-known 64:ff9b::/96: last 32 bits; local-use 64:ff9b:1::/48 (RFC 8215): the operator picks
 *   the RFC 6052 prefix length, so the IPv4 at every position a /48 allows (48, 56, 64, 96) must pass
 * - 6to4 2002::/16: bits 16–47
 * - Teredo 2001::/32: the server (bits 32–63) and the client (last 32 bits, inverted) must both pass
 */
export function forbiddenAddressRange(address: string): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return "not an IP address";
  }
  if (parsed.kind() === "ipv4") return ipv4Range(parsed as ipaddr.IPv4);
  const v6 = parsed as ipaddr.IPv6;
  const embedded = embeddedIPv4s(v6);
  if (embedded === null) {
    const range = v6.range();
    return range === "unicast" ? null : range;
  }
  for (const v4 of embedded) {
    const range = ipv4Range(v4);
    if (range !== null) return `${range} inside ${v6.toString()}`;
  }
  return null;
}

/** True when a webhook may be delivered to `address`. */
export const isPublicAddress = (address: string): boolean => forbiddenAddressRange(address) === null;

function ipv4Range(v4: ipaddr.IPv4): string | null {
  const range = v4.range();
  return range === "unicast" ? null : range;
}

const v4At = (bytes: number[], ...at: number[]) => new ipaddr.IPv4(at.map((i) => bytes[i]!));

/** The IPv4 addresses an IPv6 address embeds, or null when it is none of the embedding forms. */
function embeddedIPv4s(v6: ipaddr.IPv6): ipaddr.IPv4[] | null {
  const b = v6.toByteArray();
  const range = v6.range();
  // ipaddr.js has no range for IPv4-compatible ::/96 (it calls it "unicast"); :: and ::1 are named.
  const compatible = b.slice(0, 12).every((x) => x === 0) && range === "unicast";
  if (compatible || range === "ipv4Mapped" || range === "rfc6145") return [v4At(b, 12, 13, 14, 15)];
  if (range === "rfc6052") {
    const localUse = b[4] === 0 && b[5] === 1; // 64:ff9b:1::/48 (the well-known /96 has 0 there)
    if (!localUse) return [v4At(b, 12, 13, 14, 15)];
    // RFC 6052 §2.2: the IPv4 follows the prefix, skipping bits 64–71 (the "u" octet).
    return [v4At(b, 6, 7, 9, 10), v4At(b, 7, 9, 10, 11), v4At(b, 9, 10, 11, 12), v4At(b, 12, 13, 14, 15)];
  }
  if (range === "6to4") return [v4At(b, 2, 3, 4, 5)];
  if (range === "teredo") {
    const client = new ipaddr.IPv4([12, 13, 14, 15].map((i) => b[i]! ^ 0xff));
    return [v4At(b, 4, 5, 6, 7), client];
  }
  return null;
}
