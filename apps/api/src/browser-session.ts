import { createHash, randomBytes } from "node:crypto";
import { getApiKey } from "@zimage/core";
import type { Redis } from "ioredis";
import { type Principal, principalOfKey } from "./principal";

/**
 * Browser sessions for the web console and the queue admin: an API key is exchanged once for a
 * random session id in an HttpOnly, SameSite=Strict cookie, so the key never sits in the browser.
 * Redis keeps only the id's hash, with a TTL.
 */
export const SESSION_COOKIE = "zg_session";
export const SESSION_TTL_SECONDS = 12 * 3600;
const key = (prefix: string, id: string) =>
  `${prefix}:session:${createHash("sha256").update(id).digest("hex")}`;

/** Principals that are not API keys in Redis (ADMIN_API_KEY, open local mode). */
const BUILT_IN = new Set(["admin", "local"]);

export async function createSession(redis: Redis, prefix: string, principal: Principal): Promise<string> {
  const id = randomBytes(32).toString("base64url");
  await redis.set(key(prefix, id), JSON.stringify(principal), "EX", SESSION_TTL_SECONDS);
  return id;
}

/**
 * The session's principal, or null. A session of a stored key is re-read from the key's record each
 * time, so revoking the key ends its sessions at once and new limits or roles apply at once.
 */
export async function readSession(
  redis: Redis,
  prefix: string,
  id: string | undefined,
): Promise<Principal | null> {
  if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
  const raw = await redis.get(key(prefix, id));
  if (!raw) return null;
  const principal = JSON.parse(raw) as Principal;
  if (BUILT_IN.has(principal.id)) return principal;
  const record = await getApiKey(redis, prefix, principal.id);
  if (!record || record.revoked_at) return null;
  return principalOfKey(record);
}

export async function endSession(redis: Redis, prefix: string, id: string | undefined): Promise<void> {
  if (id) await redis.del(key(prefix, id));
}
