const LOCAL_HOSTS = new Set(["0.0.0.0", "localhost", "127.0.0.1", "[::]", "[::1]"]);

/**
 * Where to fetch an image the upstream returned as a URL. Relative URLs resolve against the base
 * URL. Servers that build URLs from their bind address hand out `http://0.0.0.0:8003/...` or
 * `localhost`, which mean "me" only on the GPU box; those are redirected to the origin we reached
 * the server at.
 */
export function downloadUrl(url: string, baseUrl: URL): URL {
  const resolved = new URL(url, baseUrl);
  if (resolved.protocol !== "http:" && resolved.protocol !== "https:") {
    throw new TypeError(`cannot download a ${resolved.protocol} URL`);
  }
  if (LOCAL_HOSTS.has(resolved.hostname) && resolved.host !== baseUrl.host) {
    resolved.protocol = baseUrl.protocol;
    resolved.host = baseUrl.host;
  }
  return resolved;
}
