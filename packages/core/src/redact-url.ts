/**
 * Query parameters whose value is a credential: the signed image URL's `sig`, and any token, key,
 * secret, password or signature a client puts in a query string. Matched by name so a new one is
 * covered without being listed.
 */
const SECRET_PARAM = /sig|token|key|secret|passw|auth|credential|session/i;
const REDACTED = "[redacted]";

/**
 * A request target (`/path?query`) fit for a log line: the value of every secret-looking query
 * parameter replaced, everything else byte for byte as it came. Hand-written rather than URLSearchParams,
 * which would re-encode the rest of the query and so log something other than what was sent.
 */
export function redactRequestTarget(target: string): string {
  const q = target.indexOf("?");
  if (q === -1) return target;
  const query = target
    .slice(q + 1)
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      return SECRET_PARAM.test(safeDecode(rawName)) && eq !== -1 ? `${rawName}=${REDACTED}` : pair;
    })
    .join("&");
  return `${target.slice(0, q)}?${query}`;
}

/** A URL (e.g. REDIS_URL) fit for a log line: its password and secret query values replaced. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL we can take apart, so nothing in it can be shown safely.
    return REDACTED;
  }
  if (parsed.password) parsed.password = "redacted";
  return redactRequestTarget(parsed.toString());
}

/** A parameter name with a malformed percent-encoding is judged as sent. */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}
