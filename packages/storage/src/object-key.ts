import { InvalidKeyError } from "./errors";

const SEGMENT = /^[A-Za-z0-9._-]+$/;
/** Names the filesystem store uses for in-flight writes; no key may collide with them. */
export const TEMP_FILE_PREFIX = ".tmp-";
const MAX_KEY_LENGTH = 1024;
// Common filesystem limit on one path component.
const MAX_SEGMENT_LENGTH = 255;

/**
 * Splits a key into path segments, refusing anything that is not a plain relative path of safe
 * names: the whitelist alone rules out `/`-absolute keys, backslashes, NUL and other specials;
 * "." and ".." are refused on top since the character set allows them.
 */
export function keySegments(key: string): string[] {
  if (typeof key !== "string" || key.length === 0) throw new InvalidKeyError(String(key), "empty");
  if (key.length > MAX_KEY_LENGTH) throw new InvalidKeyError(key, `longer than ${MAX_KEY_LENGTH} characters`);
  const segments = key.split("/");
  for (const segment of segments) checkSegment(key, segment);
  return segments;
}

/**
 * A prefix for deletePrefix: complete segments, then an optional partial last one (empty when the
 * prefix ends in "/"). An empty prefix is refused: "delete everything" is never what a caller means.
 */
export function prefixSegments(prefix: string): { dirs: string[]; partial: string } {
  if (typeof prefix !== "string" || prefix.length === 0)
    throw new InvalidKeyError(String(prefix), "empty prefix");
  if (prefix.length > MAX_KEY_LENGTH)
    throw new InvalidKeyError(prefix, `longer than ${MAX_KEY_LENGTH} characters`);
  const segments = prefix.split("/");
  const partial = segments.pop()!;
  for (const segment of segments) checkSegment(prefix, segment);
  if (partial !== "") checkSegment(prefix, partial);
  return { dirs: segments, partial };
}

function checkSegment(key: string, segment: string): void {
  if (segment === "") throw new InvalidKeyError(key, "empty segment (leading, trailing or double slash)");
  if (segment === "." || segment === "..") throw new InvalidKeyError(key, `"${segment}" segment`);
  if (segment.length > MAX_SEGMENT_LENGTH) throw new InvalidKeyError(key, "segment too long");
  if (!SEGMENT.test(segment)) throw new InvalidKeyError(key, "only A-Z a-z 0-9 . _ - and / are allowed");
  if (segment.startsWith(TEMP_FILE_PREFIX))
    throw new InvalidKeyError(key, `"${TEMP_FILE_PREFIX}" names are reserved`);
}
