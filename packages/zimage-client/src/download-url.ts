/**
 * Where to fetch an image the upstream returned as a URL. Relative URLs resolve against the base
 * URL. An absolute URL on any other origin is rebased onto the base URL's origin and path prefix,
 * keeping its own path and query, for two reasons:
 * - the server builds result URLs from a host name it guesses for itself (the reference server's
 *   `PUBLIC_HOST`, or its bind address `0.0.0.0`), which need not resolve from the gateway;
 * - the gateway must never fetch from a host the upstream names (SSRF): only the configured
 *   upstream is ever contacted.
 */
export function downloadUrl(url: string, baseUrl: URL): URL {
  const resolved = new URL(url, baseUrl);
  if (resolved.protocol !== "http:" && resolved.protocol !== "https:") {
    throw new TypeError(`cannot download a ${resolved.protocol} URL`);
  }
  if (resolved.origin === baseUrl.origin) return resolved;
  // Behind a proxy (`http://proxy/zimage/`) the server's `/outputs/x.png` is `/zimage/outputs/x.png`;
  // a server that already knows its public prefix is not given it twice.
  const prefix = baseUrl.pathname.replace(/\/+$/, "");
  const path =
    prefix !== "" && (resolved.pathname === prefix || resolved.pathname.startsWith(`${prefix}/`))
      ? resolved.pathname
      : `${prefix}${resolved.pathname}`;
  const rebased = new URL(baseUrl.origin);
  rebased.username = baseUrl.username;
  rebased.password = baseUrl.password;
  rebased.pathname = path;
  rebased.search = resolved.search;
  return rebased;
}
