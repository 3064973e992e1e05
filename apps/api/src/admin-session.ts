import { createHash, randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Principal } from "./principal";

/**
 * Browser sessions for the admin pages: an admin key is exchanged once for a random session id in
 * an HttpOnly, SameSite=Strict cookie, so the key never sits in the browser. Redis keeps only the
 * id's hash, with a TTL.
 */
export const SESSION_COOKIE = "zg_admin_session";
export const SESSION_TTL_SECONDS = 12 * 3600;
const key = (prefix: string, id: string) =>
  `${prefix}:admin-session:${createHash("sha256").update(id).digest("hex")}`;

export async function createSession(redis: Redis, prefix: string, principal: Principal): Promise<string> {
  const id = randomBytes(32).toString("base64url");
  await redis.set(key(prefix, id), JSON.stringify(principal), "EX", SESSION_TTL_SECONDS);
  return id;
}

export async function readSession(
  redis: Redis,
  prefix: string,
  id: string | undefined,
): Promise<Principal | null> {
  if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
  const raw = await redis.get(key(prefix, id));
  return raw ? (JSON.parse(raw) as Principal) : null;
}

export async function endSession(redis: Redis, prefix: string, id: string | undefined): Promise<void> {
  if (id) await redis.del(key(prefix, id));
}
